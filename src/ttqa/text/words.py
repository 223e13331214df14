"""Vietnamese word lists, as public constants: letters, organisation and post
titles, kinds of Party and state documents. Regex alternations are ``|``-joined and meant to be
used inside a group."""

UPPER_LETTERS = "A-ZÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
"""The upper-case letters of Vietnamese (and A-Z), as the body of a regex character class."""
LOWER_LETTERS = "a-zàáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
"""The lower-case letters of Vietnamese (and a-z), as the body of a regex character class."""

ORG_HEADS = (
    "Ban|Sở|Bộ|Ủy ban|Uỷ ban|UBND|HĐND|Huyện ủy|Huyện uỷ|Tỉnh ủy|Tỉnh uỷ|Thành ủy|Thành uỷ|Đảng ủy|Đảng uỷ|"
    "Hội đồng|Cục|Viện|Trường|Công ty|Tập đoàn|Ngân hàng|Văn phòng|Mặt trận|Hội|Tổng cục|Ủy ban Kiểm tra|"
    "Đoàn|Liên đoàn|Tòa án|Viện kiểm sát|Quận ủy|Quận uỷ|Công an|Bộ Chỉ huy|Quốc hội|Chính phủ"
)
"""Words an organisation's name starts with ("Ban Tổ chức Tỉnh ủy", "Sở Nội vụ")."""

DOCUMENT_KINDS = (
    "Nghị quyết|Chỉ thị|Quyết định|Kết luận|Quy định|Nghị định|Thông tư|Hướng dẫn|Đề án|Kế hoạch|Công văn"
)
"""Kinds of Party and state documents ("Nghị quyết 18", "Kết luận 121")."""

POST_TITLES = (
    "Bí thư|Phó Bí thư|Chủ tịch|Phó Chủ tịch|Trưởng ban|Phó Trưởng ban|Giám đốc|Phó Giám đốc|Bộ trưởng|"
    "Thứ trưởng|Ủy viên|Uỷ viên|Tổng Bí thư|Thủ tướng|Phó Thủ tướng|Chánh|Phó Chánh|Trưởng|Phó trưởng|"
    "Tổng Giám đốc|"
    "Cục trưởng|Vụ trưởng|Viện trưởng|Hiệu trưởng|Tư lệnh|Chính ủy|Đại biểu"
)
"""Posts a person holds ("Phó Bí thư Thường trực", "Trưởng ban Tổ chức")."""
