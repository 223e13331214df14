"""What kind of answer a Vietnamese question asks for.

Detected on the accent-folded question so that unaccented questions
("ai chu tri hoi thao") are typed like accented ones.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from ttqa.textnorm import TOKEN_RE, _fold_word_accents, _fold_word_tones, fold_accents, has_diacritics, nfc


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

WH_WORDS = (
    "ai",
    "gi",
    "nao",
    "bao nhieu",
    "may",
    "khi nao",
    "bao gio",
    "o dau",
    "dau",
    "the nao",
    "ra sao",
    "sao",
)


def question_type(question: str) -> QType:
    lowered = nfc(question).lower()
    accented = has_diacritics(lowered)
    text = lowered if accented else fold_accents(lowered)
    for qtype, pattern, folded_pattern in _PATTERNS:
        rx = pattern if accented else folded_pattern
        if rx is not None and rx.search(text):
            return qtype
    return QType.WHAT


def wh_position(question: str) -> float:
    """Where the question word sits: 0.0 = first word, 1.0 = last word (0.5 if none)."""
    words = fold_accents(question).replace("?", " ").split()
    if not words:
        return 0.5
    for i, word in enumerate(words):
        if word in {"ai", "gi", "nao", "dau", "may", "nhieu", "sao"}:
            return i / max(1, len(words) - 1)
    return 0.5


_WH_WORDS = {"ai", "gi", "nao", "dau", "may", "sao"}  # accent-folded
_WH_LEAD = {"khi", "luc", "o", "tai", "tu", "den", "the", "ra"}  # khi nào, ở đâu, thế nào, ...
_SLOT_STOP = {  # function words (accent-folded): not part of a slot
    *("nhung", "cac", "la", "cua", "va", "duoc", "da", "co", "voi", "cho", "trong", "ve", "theo"),
    *("vao", "tai", "o", "den", "tu", "khi", "thi", "ma", "nay", "do", "de", "mot", "bi", "ra"),
    *("len", "con", "cung", "rat", "nen", "nham", "hon", "nhu", "khong", "se", "dang"),
}
SLOT_WINDOW = 3


def wh_slot(question: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The question's words around its question word, as three sets of matching keys.

    Returns (before, head, after): the content words just before the question phrase (the
    answer often follows them in the sentence: "thảo luận những nội dung gì" -> "thảo luận
    ..."), the noun a "X nào / X gì" phrase asks about (answers often start with it: "đại hội
    nào" -> "Đại hội ..."), and the content words just after the question phrase ("Ai chủ trì"
    -> "... chủ trì"; "bao nhiêu phòng ban" -> "2.600 phòng ban"). Keys are tone-folded, or
    accent-folded when the question has no diacritics (as the question's other keys).
    """
    raw = TOKEN_RE.findall(nfc(question).lower())
    accented = has_diacritics(question)
    keys = [_fold_word_tones(t) if accented else _fold_word_accents(t) for t in raw]
    folded = [_fold_word_accents(t) for t in raw]
    # "may" without diacritics is as often "máy" (bộ máy) as "mấy": only accented "mấy" counts.
    w = next(
        (
            i
            for i, k in enumerate(folded)
            if (k in _WH_WORDS and (k != "may" or raw[i] == "mấy"))
            or (k == "bao" and i + 1 < len(folded) and folded[i + 1] in {"nhieu", "gio"})
        ),
        None,
    )
    if w is None:
        return frozenset(), frozenset(), frozenset()
    start, end = w, w + (2 if folded[w] == "bao" else 1)
    head: list[str] = []
    if folded[w] in {"nao", "gi"} and w > 0 and folded[w - 1] not in _WH_LEAD:
        k = w - 1
        while k >= 0 and len(head) < 2 and folded[k] not in _SLOT_STOP and folded[k].isalnum():
            head.insert(0, keys[k])
            k -= 1
        start = k + 1
    elif w > 0 and folded[w - 1] in _WH_LEAD:
        start = w - 1
    before = [keys[k] for k in range(max(0, start - SLOT_WINDOW), start) if _content(folded[k])]
    after = [keys[k] for k in range(end, min(len(keys), end + SLOT_WINDOW)) if _content(folded[k])]
    return frozenset(before), frozenset(head), frozenset(after)


def _content(folded: str) -> bool:
    return folded.isalnum() and folded not in _SLOT_STOP
