"""clean_article on the five real seed pages and on one snippet per boilerplate rule."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from ttqa.ingest.cleaning import (
    CleanedArticle,
    byline_photo_credit,
    clean_article,
    meta_date_value,
    normalize_text,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PARTY_ORG = Path(__file__).resolve().parents[3] / "shared" / "data" / "news_vi" / "party_org_606.jsonl"


def _seed(prefix: str) -> str:
    (path,) = CORPUS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def _clean(prefix: str) -> CleanedArticle:
    return clean_article(_seed(prefix))


# A real paragraph (seed 002) used as the article body of the synthetic snippets.
BODY = (
    "Năm 2024, ngành Tổ chức xây dựng Đảng đã kịp thời tham mưu các cấp ủy đảng hoàn thành "
    "một khối lượng lớn công việc về công tác cán bộ, kịp thời tham mưu sắp xếp tổ chức bộ máy."
)
BODY2 = (
    "Ban Tổ chức Tỉnh ủy đã tham mưu thực hiện cơ bản hoàn thành 12 nhiệm vụ trọng tâm thực hiện "
    "Nghị quyết Đại hội Đảng bộ tỉnh lần thứ XVII."
)

# Boilerplate strings of the seed pages that must not survive cleaning (bylines, signatures and
# publication lines are part of the article and stay: see test_attribution_lines_stay_in_the_text).
BOILERPLATE = [
    "Xây dựng Đảng\n",
    "Tiêu đề *",
    "Người gửi *",
    "Email*",
    "Nội dung bình luận*",
    "Các tin cùng chuyên mục",
    "Gửi bình luận của bạn",
    ".THNA",
    "Leave a Reply",
    "Your email address will not be published",
    "Required fields are marked",
    "Truy cập hiện tại",
    "Đang có 24",
    "thành viên đang online",
    "Công tác tổ chức\n",
    "Tiến tới đại hội đảng",
    "Giải phóng miền Nam",
    "Số lần xem các bài viết",
    "18089667",
    "\xa0",
    "\n\n\n",
]


# --------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class Seed:
    title: str | None
    date: str | None
    source: str | None
    author: str | None
    first: str
    last: str
    sentences: list[str]


SEEDS = {
    "000": Seed(
        title=(
            "Hội thảo góp ý vào đề án tổ chức bộ máy, công tác cán bộ của huyện Vĩnh Tường "
            "giai đoạn 2020 – 2025"
        ),
        date="2020-11-19",
        source=None,
        author="Kiều Trang",
        first=(
            "Sáng ngày 19/11/2020, Huyện ủy Vĩnh Tường tổ chức hội thảo góp ý vào đề án tổ chức bộ máy, "
            "công tác cán bộ của huyện Vĩnh Tường giai đoạn 2020 – 2025."
        ),
        last=(
            "xây dựng kế hoạch sơ kết, tổng kết để đánh giá, xác định nhiệm vụ thời gian tiếp theo,…"
            "\n\nTin: Kiều Trang. Ảnh: Trung Hiếu\n\nNgày đăng: 19/11/2020"
        ),
        sentences=[
            "Đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy chủ trì hội thảo.",
            # photo caption
            "\nĐồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy chủ trì hội thảo\n",
            "Công tác cán bộ là khâu then chốt của công tác xây dựng Đảng và hệ thống chính trị;",
            "Kết luận hội thảo, đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy đánh giá cao ý kiến "
            "tham gia của các đại biểu.",
        ],
    ),
    "001": Seed(
        title=(
            "Tập trung tham mưu, tổ chức Đại hội cấp trên cơ sở và Đại hội đại biểu Đảng bộ tỉnh lần thứ XI, "
            "nhiệm kỳ 2020 - 2025 theo đúng kế hoạch đề ra"
        ),
        date="2020-07-25T13:05:15",
        source="ĐTO",
        author="P.L",
        first=(
            "Cập nhật ngày: 25/07/2020 13:05:15\n\n"
            "ĐTO - Sáng ngày 25/7, Ban Tổ chức (BTC) Tỉnh ủy tổ chức hội nghị sơ kết công tác Tổ chức "
            "xây dựng Đảng 6 tháng đầu năm 2020."
        ),
        last=(
            "bầu cử Đại biểu Quốc hội khóa XV và Đại biểu Hội đồng Nhân dân các cấp nhiệm kỳ 2021-2026...\n\nP.L"
        ),
        sentences=[
            "\nQuang cảnh hội nghị\n",
            "\nĐại biểu nêu ý kiến tại hội nghị\n",
            "\nĐồng chí Phan Văn Thắng phát biểu kết luận hội nghị\n",
            "Tính đến ngày 25/6/2020, toàn tỉnh có 497/567 tổ chức cơ sở đảng đã tổ chức đại hội "
            "(đạt 87,65%).",
        ],
    ),
    "002": Seed(
        title=None,
        date="--01-03",
        source=None,
        author="Văn Hải",
        first=(
            "Sáng 3/1, Ban Tổ chức Tỉnh ủy tổ chức Hội nghị tổng kết công tác tổ chức xây dựng Đảng "
            "năm 2024, triển khai nhiệm vụ năm 2025."
        ),
        last=(
            "Tiếp tục tham mưu thực hiện hiệu quả công tác xây dựng, củng cố tổ chức đảng, phát triển "
            "đội ngũ đảng viên; bảo vệ chính trị nội bộ; công tác chính sách cán bộ.\nVăn Hải"
        ),
        sentences=[
            "\nQuang cảnh Hội nghị\n",
            "Dự Hội nghị có các đồng chí Ủy viên Ban Thường vụ Tỉnh ủy: Chủ nhiệm Ủy ban Kiểm tra Tỉnh ủy "
            "Lương Đức Minh;",
            "Ban Tổ chức Tỉnh ủy đã tham mưu thực hiện cơ bản hoàn thành 12 nhiệm vụ trọng tâm thực hiện "
            "Nghị quyết Đại hội Đảng bộ tỉnh lần thứ XVII, Chương trình hành động",
        ],
    ),
    "003": Seed(
        title="Trao đổi học tập kinh nghiệm trong công tác tổ chức xây dựng Đảng",
        date=None,  # the page gives no date at all ("từ 2015 – 2018" is a period, not a date)
        source=None,
        author="Mai Hương – Cảnh Toàn",
        first=(
            "Chủ trì hội nghị có các đồng chí: Vũ Ngọc Dũng – Vụ trưởng Vụ địa phương I, "
            "Ban Tổ chức Trung ương;"
        ),
        last=(
            "Những vấn đề thực tiễn đặt ra cần phải tháo gỡ trong việc thực hiện Quy chế công tác đối với "
            "cán bộ theo dõi địa bàn./.\n\nMai Hương – Cảnh Toàn"
        ),
        sentences=[
            "\nToàn cảnh hội nghị\n",
            # the NBSP of the page ("đến từ\xa010 tỉnh") became a plain space
            "Đông đảo các đại biểu đến từ 10 tỉnh khu vực Tây Bắc, Duyên hải và Bắc Trung bộ tham gia "
            "sinh hoạt chuyên đề.",
            "Phó Bí thư Thường trực Tỉnh uỷ Nghệ An Nguyễn Xuân Sơn phát biểu tại hội nghị.",
            "Theo đó, từ 2015 – 2018, toàn tỉnh đã giảm được 6.666 biên chế, đạt gần 8,1%;",
        ],
    ),
    "004": Seed(
        title=(
            "Thực hiện có hiệu quả các nghị quyết về công tác tổ chức gắn với chuẩn bị Đại hội Đảng các cấp"
        ),
        date="--12-25",
        source="TGAG",
        author="Song Thư",
        first=(
            "(TGAG)- Sáng ngày 25-12, Ban Tổ chức Trung ương tổ chức hội nghị trực tuyến toàn quốc về "
            "công tác tổ chức xây dựng Đảng năm 2019, định hướng 2020."
        ),
        last="“lấy tích cực đẩy lùi tiêu cực”, “lấy cái đẹp dẹp cái xấu”...\n\nSong Thư",
        sentences=[
            "Công tác tinh gọn bộ máy đã giảm 4 đầu mối trực thuộc Trung ương, 7 tổng cục và tương đương;",
            "nâng tổng số đảng viên toàn quốc lên 5,2 triệu đồng chí.",
        ],
    ),
}


@pytest.mark.parametrize("prefix", sorted(SEEDS))
def test_seed_metadata(prefix: str) -> None:
    expected = SEEDS[prefix]
    cleaned = _clean(prefix)
    assert cleaned.title == expected.title
    assert cleaned.date == expected.date
    assert cleaned.source == expected.source
    assert cleaned.author == expected.author


@pytest.mark.parametrize("prefix", sorted(SEEDS))
def test_seed_sentences_are_kept_verbatim(prefix: str) -> None:
    expected = SEEDS[prefix]
    text = _clean(prefix).text
    assert text.startswith(expected.first)
    assert text.endswith(expected.last)
    for sentence in expected.sentences:
        assert sentence in text
    if expected.source:
        lead = next(line for line in text.split("\n") if len(line.split()) >= 8)
        assert lead.startswith(("ĐTO - ", "(TGAG)- "))  # the outlet tag stays in the sentence


@pytest.mark.parametrize("prefix", sorted(SEEDS))
def test_seed_boilerplate_is_gone(prefix: str) -> None:
    cleaned = _clean(prefix)
    for junk in BOILERPLATE:
        assert junk not in cleaned.text, junk
    assert "\na\n" not in cleaned.text
    assert cleaned.text == cleaned.text.strip()
    if cleaned.title:
        assert cleaned.title not in cleaned.text.split("\n")


@pytest.mark.parametrize("prefix", sorted(SEEDS))
def test_seed_only_listed_lines_are_dropped(prefix: str) -> None:
    """Every line of the page is in the text, in ``removed``, or is the title: nothing is lost silently."""
    raw = _seed(prefix)
    cleaned = clean_article(raw)
    page = Counter(line for line in normalize_text(raw).split("\n") if line)
    accounted = Counter(line for line in cleaned.text.split("\n") if line)
    accounted.update(cleaned.removed)
    if cleaned.title:
        accounted[cleaned.title] += 1
    assert accounted == page


def test_seed_removed_lines() -> None:
    assert _clean("000").removed == [
        "Xây dựng Đảng",
        "• Tiêu đề *",
        "• Người gửi *",
        "• Email*",
        "• Nội dung bình luận*",
        "Các tin cùng chuyên mục",
    ]
    assert _clean("001").removed == ["Gửi bình luận của bạn"]
    assert _clean("002").removed == []
    assert _clean("003").removed == [
        "a",
        "a",
        "a",
        ".THNA",
        "Leave a Reply",
        "Your email address will not be published. Required fields are marked *",
    ]
    assert _clean("004").removed == [
        "Truy cập hiện tại",
        "Đang có 24 khách và không thành viên đang online",
        "Công tác tổ chức",
        "Tiến tới đại hội đảng",
        "Giải phóng miền Nam",
        "Số lần xem các bài viết",
        "18089667",
    ]


def test_seed_paragraphs_are_separated_by_one_blank_line() -> None:
    text = _clean("001").text
    assert "\n\n\n" not in text
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "Cập nhật ngày: 25/07/2020 13:05:15"
    assert paragraphs[2] == "Quang cảnh hội nghị"
    assert paragraphs[-1] == "P.L"
    assert len(paragraphs) == 9
    # 002 has single newlines between its paragraphs: kept as they are.
    assert _clean("002").text.count("\n\n") == 0
    assert _clean("002").text.count("\n") == 8  # the signature "Văn Hải" on its own line


@pytest.mark.parametrize("prefix", sorted(SEEDS))
def test_nfd_input_gives_the_same_nfc_output(prefix: str) -> None:
    raw = _seed(prefix)
    nfd = unicodedata.normalize("NFD", raw)
    assert nfd != raw
    from_nfd = clean_article(nfd)
    assert from_nfd == clean_article(raw)
    assert unicodedata.is_normalized("NFC", from_nfd.text)
    assert from_nfd.title is None or unicodedata.is_normalized("NFC", from_nfd.title)


def test_given_title_wins_and_its_line_is_removed() -> None:
    raw = _seed("003")
    title = "Trao đổi học tập kinh nghiệm trong công tác tổ chức xây dựng Đảng"
    cleaned = clean_article(unicodedata.normalize("NFD", raw), title=unicodedata.normalize("NFD", title))
    assert cleaned.title == title
    assert not cleaned.text.startswith("Trao đổi")
    # A given title that differs from the first line: that line is not touched.
    other = clean_article(raw, title="Tiêu đề khác")
    assert other.title == "Tiêu đề khác"
    assert other.text.startswith("Trao đổi học tập kinh nghiệm")


# --------------------------------------------------------------------------- normalisation


def test_normalisation_of_newlines_and_spaces() -> None:
    raw = f"  {BODY}\xa0 \r\n\r\n\r\n\r\n\u00a0\r\n\u200b{BODY2}\t\r\n"
    cleaned = clean_article(raw)
    assert cleaned.text == f"{BODY}\n\n{BODY2}"
    assert clean_article(f"{BODY}\rAnh\u2009em  cùng\u3000làm.").text == f"{BODY}\nAnh em cùng làm."


def test_text_without_metadata_invents_nothing() -> None:
    cleaned = clean_article(f"{BODY}\n\n{BODY2}")
    assert cleaned == CleanedArticle(text=f"{BODY}\n\n{BODY2}")
    assert clean_article("").text == ""
    assert clean_article(" \xa0 \n\n").text == ""


# --------------------------------------------------------------------------- boilerplate rules


def test_comment_form_cuts_the_page_tail() -> None:
    for header in ["Gửi bình luận của bạn", "Leave a Reply", "Ý kiến bạn đọc", "Bình luận (3)"]:
        cleaned = clean_article(
            f"{BODY}\n\n{header}\n\nHọ tên\n\nBài viết hay quá, cảm ơn tác giả rất nhiều."
        )
        assert cleaned.text == BODY, header
        assert cleaned.removed[0] == header


def test_comment_form_fields_are_removed() -> None:
    raw = (
        f"{BODY}\n  • Tiêu đề *\n  • Người gửi *\n  • Email*\n  • Nội dung bình luận*\n"
        "Your email address will not be published. Required fields are marked *\n"
        f"{BODY2}"
    )
    cleaned = clean_article(raw)
    assert cleaned.text == f"{BODY}\n{BODY2}"
    assert len(cleaned.removed) == 5


def test_visitor_counters_are_removed() -> None:
    raw = (
        "Truy cập hiện tại\n\nĐang có 3\xa0khách và 1 thành viên đang online\n\n"
        f"{BODY}\n\nSố lần xem các bài viết\n18089667\n\n{BODY2}\n\nLượt truy cập: 12.345"
    )
    cleaned = clean_article(raw)
    assert cleaned.text == f"{BODY}\n\n{BODY2}"
    # A number line that does not follow a counter is content and stays.
    assert "\n2024\n" in clean_article(f"{BODY}\n2024\n{BODY2}").text


def test_related_news_header_cuts_everything_after_it() -> None:
    for header in ["Các tin cùng chuyên mục", "Tin liên quan", "Tin khác", "Bài viết liên quan:"]:
        raw = (
            f"{BODY}\n\n{header}\n\nHội nghị tổng kết công tác tổ chức xây dựng Đảng năm 2024 (03/01/2025)\n"
            "Trao đổi học tập kinh nghiệm trong công tác tổ chức xây dựng Đảng"
        )
        cleaned = clean_article(raw)
        assert cleaned.text == BODY, header
        assert cleaned.date is None  # the dates of the related items are not the article's


def test_related_news_box_inside_the_article_only_loses_its_header() -> None:
    long_paragraph = " ".join([BODY, BODY2, BODY])
    raw = f"{BODY}\n\nTin liên quan\n\nTrao đổi học tập kinh nghiệm\n\n{long_paragraph}"
    cleaned = clean_article(raw)
    assert "Tin liên quan" not in cleaned.text
    assert cleaned.text.endswith(long_paragraph)
    assert "Trao đổi học tập kinh nghiệm" in cleaned.text


def test_a_header_before_any_article_text_cuts_nothing() -> None:
    cleaned = clean_article(f"Tin khác\n\n{BODY}\n\n{BODY2}")
    assert cleaned.text == f"{BODY}\n\n{BODY2}"  # a menu line at the top, not the end of the article
    assert cleaned.removed == ["Tin khác"]


def test_menu_lines_before_the_title_are_removed() -> None:
    raw = f"Xây dựng Đảng\n\nCông tác tổ chức\n\nHội nghị tổng kết công tác tổ chức năm 2024\n\n{BODY}"
    cleaned = clean_article(raw)
    assert cleaned.title == "Hội nghị tổng kết công tác tổ chức năm 2024"
    assert cleaned.text == BODY
    assert cleaned.removed == ["Xây dựng Đảng", "Công tác tổ chức"]


def test_short_line_above_a_headline_is_a_category() -> None:
    raw = f"Tin hoạt động ngành\n\nHội nghị tổng kết công tác tổ chức năm 2024\n\n{BODY}"
    cleaned = clean_article(raw)
    assert cleaned.title == "Hội nghị tổng kết công tác tổ chức năm 2024"
    assert cleaned.removed == ["Tin hoạt động ngành"]


def test_lead_sentence_is_never_taken_as_title() -> None:
    for first in [
        "Sáng 3/1, Ban Tổ chức Tỉnh ủy tổ chức Hội nghị tổng kết năm 2024",  # no full stop, date lead
        "ĐTO - Ban Tổ chức Tỉnh ủy tổ chức Hội nghị tổng kết năm 2024",  # outlet tag
        BODY,  # a full sentence
    ]:
        cleaned = clean_article(f"{first}\n\n{BODY2}")
        assert cleaned.title is None, first
        assert cleaned.text.startswith(first)


def test_glued_first_line_is_not_a_title() -> None:
    raw = f"Hội nghị tổng kết công tác tổ chức năm 2024\n{BODY}"
    cleaned = clean_article(raw)
    assert cleaned.title is None
    assert cleaned.text == raw


def test_menu_lines_after_the_signature_are_removed() -> None:
    raw = f"{BODY}\n\nSong Thư\nTiến tới đại hội đảng\nGiải phóng miền Nam\nTin ảnh hoạt động"
    cleaned = clean_article(raw)
    assert cleaned.text == f"{BODY}\n\nSong Thư"
    assert cleaned.author == "Song Thư"
    assert cleaned.removed == [
        "Tiến tới đại hội đảng",
        "Giải phóng miền Nam",
        "Tin ảnh hoạt động",
    ]


def test_caption_at_the_end_is_kept() -> None:
    for caption in ["Quang cảnh hội nghị", "Đại biểu nêu ý kiến tại hội nghị"]:
        cleaned = clean_article(f"{BODY}\n\n{caption}")
        assert cleaned.text == f"{BODY}\n\n{caption}"
        assert cleaned.author is None


def test_signature_forms() -> None:
    for signature in [
        "Văn Hải",
        "P.L",
        "Mai Hương – Cảnh Toàn",
        "Quỳnh Hoa (TTXVN)",
        "PV",
        "Hoài Thanh - Cát Lâm",
    ]:
        cleaned = clean_article(f"{BODY}\n\n{signature}")
        assert cleaned.author == signature
        assert cleaned.text == f"{BODY}\n\n{signature}"
    # Outlet credits and lists of names are not signatures.
    for credit in ["VnExpress", "TTXVN", "Theo TTXVN"]:
        cleaned = clean_article(f"{BODY}\n\n{credit}")
        assert cleaned.author is None, credit
        assert cleaned.text.endswith(credit)
    names = f"{BODY}\nDanh sách khen thưởng:\nNguyễn Văn An\nTrần Thị Bình"
    assert clean_article(names).text == names


def test_bylines() -> None:
    for byline, author in [
        ("Tin: Kiều Trang. Ảnh: Trung Hiếu", "Kiều Trang"),
        ("Bài và ảnh: Văn Hải", "Văn Hải"),
        ("Tin, ảnh: MÈ QUANG THẮNG", "MÈ QUANG THẮNG"),
    ]:
        cleaned = clean_article(f"{BODY}\n\n{byline}")
        assert cleaned.author == author
        assert cleaned.text == f"{BODY}\n\n{byline}"
    # A sentence that starts like a byline is content.
    sentence = "Tin: nhiều đảng viên đã được khen thưởng trong năm 2024."
    assert clean_article(f"{BODY}\n\n{sentence}").text.endswith(sentence)


def test_stray_characters_are_removed() -> None:
    raw = f"{BODY}\n\na\n\nToàn cảnh hội nghị\n\n.THNA\n\n***\n\n{BODY2}\n\n\xa0\n./."
    cleaned = clean_article(raw)
    assert cleaned.text == f"{BODY}\n\nToàn cảnh hội nghị\n\n{BODY2}"
    assert cleaned.removed == ["a", ".THNA", "***", "./."]


# --------------------------------------------------------------------------- metadata rules


def test_metadata_date_lines() -> None:
    for line, iso in [
        ("Ngày đăng: 19/11/2020", "2020-11-19"),
        ("Cập nhật ngày: 25/07/2020 13:05:15", "2020-07-25T13:05:15"),
        ("Thứ Hai, 03/01/2025 - 08:30", "2025-01-03T08:30"),
        ("13/05/2017 10:28 GMT+7", "2017-05-13T10:28"),
    ]:
        cleaned = clean_article(f"{line}\n\n{BODY}")
        assert cleaned.date == iso, line
        assert cleaned.text == f"{line}\n\n{BODY}"  # the line is part of the article
    # The publication date wins over an update date.
    both = clean_article(f"Cập nhật ngày: 25/07/2020\n{BODY}\nNgày đăng: 19/07/2020")
    assert both.date == "2020-07-19"
    # An impossible date is not a date: the line stays.
    assert clean_article(f"Ngày đăng: 31/02/2020\n\n{BODY}").date is None


def test_dates_in_the_lead_sentence() -> None:
    assert clean_article(f"Sáng ngày 19/11/2020, {BODY}").date == "2020-11-19"
    assert clean_article(f"Sáng 3/1, {BODY}").date == "--01-03"
    assert clean_article(f"(TGAG)- Sáng ngày 25-12, {BODY}").date == "--12-25"
    assert clean_article(f"Chiều nay (22/5), {BODY}").date == "--05-22"
    assert clean_article(f"Ngày 19 tháng 11 năm 2020, {BODY}").date == "2020-11-19"
    # A full date in a metadata line wins over the partial lead date.
    assert clean_article(f"Ngày đăng: 04/01/2025\n\nSáng 3/1, {BODY}").date == "2025-01-04"
    # Numbers that are not dates, and dates later in the article, are ignored.
    assert clean_article(f"{BODY} Tính đến ngày 25/6/2020, toàn tỉnh có 497/567 tổ chức.").date is None
    assert clean_article(f"Sáng 32/1, {BODY}").date is None


def test_source_tags() -> None:
    assert clean_article(f"ĐTO - Sáng ngày 25/7, {BODY}").source == "ĐTO"
    assert clean_article(f"(TGAG)- Sáng ngày 25-12, {BODY}").source == "TGAG"
    assert clean_article(f"GD&TĐ - {BODY}").source == "GD&TĐ"
    # Not outlet tags: an abbreviation glued to a word, a plain sentence.
    assert clean_article(f"PGS-TS Lưu Trang vừa được bổ nhiệm. {BODY}").source is None
    assert clean_article(f"VN-Index tăng điểm. {BODY}").source is None
    assert clean_article(BODY).source is None


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not PARTY_ORG.exists(), reason="shared data set not available")
def test_real_articles_lose_no_sentence() -> None:
    records = [json.loads(line) for line in PARTY_ORG.read_text(encoding="utf-8").splitlines()]
    cleaned = [clean_article(r["text"], title=r["title"]) for r in records]
    for record, article in zip(records, cleaned, strict=True):
        # These dumps carry no page boilerplate: only whitespace is normalised, nothing is cut.
        assert article.text == normalize_text(record["text"])
        assert article.title == " ".join(normalize_text(record["title"]).split())
    assert sum(a.date is not None for a in cleaned) > 100


def test_attribution_lines_stay_in_the_text() -> None:
    """Bylines, signatures and publication lines are read into metadata and kept: readers ask who
    wrote an article and when it was published, and answers quote the article's text."""
    c000, c001, c002 = _clean("000"), _clean("001"), _clean("002")
    assert "\n\nTin: Kiều Trang. Ảnh: Trung Hiếu\n\nNgày đăng: 19/11/2020" in c000.text
    assert (c000.author, c000.date) == ("Kiều Trang", "2020-11-19")
    assert c001.text.startswith("Cập nhật ngày: 25/07/2020 13:05:15\n") and c001.text.endswith("\n\nP.L")
    assert c002.text.endswith("\nVăn Hải") and c002.author == "Văn Hải"


def test_photo_credit_and_publication_date_spans() -> None:
    line = "Tin: Kiều Trang. Ảnh: Trung Hiếu"
    s, e = byline_photo_credit(line) or (0, 0)
    assert line[s:e] == "Trung Hiếu"
    s, e = byline_photo_credit("Bài và ảnh: Văn Hải") or (0, 0)
    assert "Bài và ảnh: Văn Hải"[s:e] == "Văn Hải"  # text and photos by one reporter
    assert byline_photo_credit("Ảnh: quang cảnh hội nghị sáng 19/11.") is None  # a caption, not a byline
    for line, value in [
        ("Cập nhật ngày: 25/07/2020 13:05:15", "25/07/2020 13:05:15"),
        ("Ngày đăng: 19/11/2020", "19/11/2020"),
        ("19/11/2020", "19/11/2020"),
    ]:
        s, e = meta_date_value(line) or (0, 0)
        assert line[s:e] == value
    assert meta_date_value("Ngày 19/11/2020, Huyện ủy tổ chức hội thảo.") is None
