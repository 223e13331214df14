"""What kind of answer a Vietnamese question asks for.

Detected on the accent-folded question so that unaccented questions
("ai chu tri hoi thao") are typed like accented ones.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from ttqa.text.normalize import fold_accents, has_diacritics, nfc


class QType(StrEnum):
    PERSON = "ai"  # ai, người nào, đồng chí nào
    ORG = "co_quan"  # cơ quan nào, đơn vị nào, tổ chức nào, ban nào
    NUMBER = "bao_nhieu"  # bao nhiêu, mấy
    DATE = "khi_nao"  # khi nào, ngày nào, năm nào, bao giờ
    PLACE = "o_dau"  # ở đâu, tại đâu, nơi nào
    WHAT = "gi"  # gì, nào, như thế nào, ... (the phrase that fills the gap)


# Order matters: the first pattern that matches wins. Patterns are written with
# diacritics; questions typed without them are matched against the accent-folded
# form of the same patterns (minus the few that become ambiguous: "mấy" vs "máy").
_RULES: list[tuple[QType, str, bool]] = [
    (
        QType.DATE,
        r"\b(khi nào|lúc nào|bao giờ|(ngày|tháng|năm|thời gian|thời điểm|dịp|hôm|buổi|nhiệm kỳ|giai đoạn) nào"
        r"|ngày bao nhiêu|năm bao nhiêu|ngày mấy|tháng mấy|năm mấy|thời hạn)\b",
        True,
    ),
    (QType.NUMBER, r"\b(bao nhiêu|mấy)\b", False),
    (QType.NUMBER, r"\b(bao nhiêu|bao nhieu)\b", True),
    (
        QType.PLACE,
        r"\b(ở đâu|tại đâu|từ đâu|đến đâu|nơi nào|chỗ nào|địa điểm nào|địa phương nào|tỉnh nào"
        r"|huyện nào|xã nào|thành phố nào|nước nào|quốc gia nào|khu vực nào|điểm cầu nào)\b",
        True,
    ),
    (QType.PLACE, r"\bđâu\b", False),
    (
        QType.ORG,
        r"(^|\W)(cơ quan|đơn vị|bộ phận|tổ chức|ban|bộ|thành phần|cơ sở(?: [^ ]+){0,4}) nào\b",
        True,
    ),
    (
        QType.PERSON,
        r"(^|\W)(ai|người nào|đồng chí nào|ông nào|bà nào|vị nào|những ai|cá nhân nào|lãnh đạo nào|ai là)\b",
        True,
    ),
]


def _strip_marks(pattern: str) -> str:
    """Remove diacritics from a regex without touching its case-sensitive escapes."""
    decomposed = unicodedata.normalize("NFD", pattern)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("đ", "d")


_PATTERNS: list[tuple[QType, re.Pattern[str], re.Pattern[str] | None]] = [
    (qtype, re.compile(rx), re.compile(_strip_marks(rx)) if also_folded else None)
    for qtype, rx, also_folded in _RULES
]


def question_type(question: str) -> QType:
    lowered = nfc(question).lower()
    accented = has_diacritics(lowered)
    text = lowered if accented else fold_accents(lowered)
    for qtype, pattern, folded_pattern in _PATTERNS:
        rx = pattern if accented else folded_pattern
        if rx is not None and rx.search(text):
            return qtype
    return QType.WHAT
