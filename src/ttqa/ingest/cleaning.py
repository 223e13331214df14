"""Scraped news pages → article body + metadata.

:func:`clean_article` turns the raw text of one scraped page (already decoded)
into the article body that ttqa indexes, plus the metadata the page carries.

What it does, in order:

1. **Normalise** once: newlines (``\\r\\n``/``\\r`` → ``\\n``), NBSP and other
   odd spaces → space, zero-width characters and C0 controls dropped, Unicode
   NFC, runs of spaces collapsed and each line stripped (leading bullets'
   indentation included), 3+ blank lines collapsed to one blank line.
2. **Cut the page tail** at a comment form ("Gửi bình luận của bạn", "Leave a
   Reply", ...) or a related-news header ("Các tin cùng chuyên mục", "Tin liên
   quan", "Tin khác", "Bài viết liên quan", ...) that follows article text:
   the header and everything after it are dropped.  A related-news header that
   is followed by more article prose (a paragraph of 40+ words ending in a
   full stop) is a box in the middle of the page: only the header line goes.
3. **Drop boilerplate lines** anywhere on the page (whole-line matches only):
   comment-form fields ("• Tiêu đề *", "Email*", "Your email address will not
   be published..."), visitor counters ("Truy cập hiện tại", "Đang có 24 khách
   và không thành viên đang online", "Số lần xem các bài viết" and the number
   line after it), lone stray characters ("a", ".THNA", "***").  Pure metadata
   lines ("Ngày đăng: 19/11/2020", "Cập nhật ngày: 25/07/2020 13:05:15") and
   bylines ("Tin: Kiều Trang. Ảnh: Trung Hiếu") are read into ``date`` /
   ``author`` and **kept**: they are part of the article, and readers ask who
   wrote it and when it was published (answered from these lines, with offsets,
   by :mod:`ttqa.reading.attribution`).
4. **Head of the page** (the lines before the first body paragraph): the title
   line is found (see below) and removed from the text; the short menu /
   category lines above it ("Xây dựng Đảng", "Công tác tổ chức") go as well.
5. **Tail of the page** (short unpunctuated lines after the last body
   paragraph): a closing signature (1–6 capitalised words: "Văn Hải", "P.L",
   "Mai Hương – Cảnh Toàn") becomes ``author`` and stays, and the short
   menu lines after it ("Tiến tới đại hội đảng", "Giải phóng miền Nam") go.

Everything else is kept verbatim, photo captions included ("Quang cảnh hội
nghị" is part of the article).  Rules only ever delete whole lines, never
words inside a sentence.

Metadata, only where the page carries it (never invented):

* ``title`` — the ``title`` argument when given (a first line repeating it is
  removed from the text).  Otherwise the first headline-like line of the page
  head: 3–45 words, no sentence-final punctuation, not a lead sentence, not a
  signature, followed by a blank line (one of 5+ words is preferred over a
  shorter one above it, which is then a category line).  A page that opens
  directly with its lead sentence (seed 002: "Sáng 3/1, Ban Tổ chức Tỉnh ủy
  tổ chức ...") gets ``title=None`` and its text
  is left intact: deriving a title from the lead sentence would either
  duplicate it or cut it out of the body.
* ``date`` — ISO-8601: from a metadata line ("Ngày đăng", "Cập nhật ngày",
  publication labels win over update labels), else a full date introduced by a
  time word in the lead sentence ("Sáng ngày 19/11/2020, ..."), else a partial
  ``--MM-DD`` from the lead sentence ("Sáng 3/1" → ``--01-03``).
* ``source`` — an outlet tag opening the lead paragraph ("ĐTO - Sáng ...",
  "(TGAG)- Sáng ..."); the tag stays in the text.
* ``author`` — a byline line ("Tin: Kiều Trang. Ảnh: Trung Hiếu" → "Kiều
  Trang"), else the closing signature line.  Inline signatures glued to the
  end of a paragraph (common in the baomoi dumps: "... đồng chí. Quỳnh Hoa
  (TTXVN)") are left alone: cutting them would edit a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as _date
from itertools import pairwise

__all__ = ["CleanedArticle", "byline_photo_credit", "clean_article", "meta_date_value", "normalize_text"]


@dataclass(frozen=True, slots=True)
class CleanedArticle:
    """The article body of a scraped page and the metadata found on it."""

    text: str
    """Cleaned NFC article body; paragraphs separated by blank lines."""
    title: str | None = None
    date: str | None = None
    """ISO-8601 ("2020-11-19", "2020-07-25T13:05:15") or partial "--MM-DD"."""
    source: str | None = None
    author: str | None = None
    removed: list[str] = field(default_factory=list)
    """Every non-blank line dropped from the text (boilerplate, menus), in page
    order; the title line is not listed."""


# --------------------------------------------------------------------------- normalisation

_SPACE_CHARS = "\t\x0b\x0c\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
_DROP_CHARS = "\x00-\x08\x0e-\x1f\x7f\u00ad\u200b\u2060\ufeff\ud800-\udfff"
_LINE_SEP_CHARS = "\u2028\u2029\x85"
_ODD_CHARS_RE = re.compile(f"[{_SPACE_CHARS}{_DROP_CHARS}{_LINE_SEP_CHARS}]")
_DROP_RE = re.compile(f"[{_DROP_CHARS}]")
_LINE_SEP_RE = re.compile(f"[{_LINE_SEP_CHARS}]")
_SPACE_RE = re.compile(f"[{_SPACE_CHARS}]")
_NEWLINES_RE = re.compile(r"\r\n?")
_SPACES_RE = re.compile(r" {2,}")
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def _normalize_lines(raw: str) -> list[str]:
    text = _NEWLINES_RE.sub("\n", raw)
    if _ODD_CHARS_RE.search(text):  # rare: skip three passes over most articles
        text = _SPACE_RE.sub(" ", _LINE_SEP_RE.sub("\n", _DROP_RE.sub("", text)))
    text = unicodedata.normalize("NFC", text)
    return [_SPACES_RE.sub(" ", line).strip() for line in text.split("\n")]


def _join(lines: Iterable[str]) -> str:
    return _BLANK_RUN_RE.sub("\n\n", "\n".join(lines)).strip("\n")


def normalize_text(raw: str) -> str:
    """NFC, unified newlines and spaces, stripped lines, at most one blank line in a row."""
    return _join(_normalize_lines(raw))


# --------------------------------------------------------------------------- line patterns

_I = re.IGNORECASE

# Comment forms: the page tail from here on is not article text.
_COMMENT_CUT_RE = re.compile(
    r"(?:gửi|viết|để lại)?\s*(?:bình luận|ý kiến)(?: của (?:bạn|bạn đọc))?(?: \(\d+\))?"
    r"|ý kiến bạn đọc|bạn đọc bình luận|leave a (?:reply|comment)|\d+ (?:comments?|bình luận)"
    r"|comments?|post a comment",
    _I,
)
# Related-news headers.
_RELATED_CUT_RE = re.compile(
    r"(?:các )?tin (?:cùng chuyên mục|liên quan|khác|bài liên quan|đã đưa|mới(?: nhất)?|cùng loại"
    r"|tức liên quan)"
    r"|(?:các )?bài (?:viết )?(?:liên quan|khác|cùng chuyên mục)|xem thêm|đọc thêm|có thể bạn quan tâm"
    r"|related (?:posts|articles|news)",
    _I,
)
_CUT_TRAILER = re.compile(r"\s*[:»>›.…]*\s*$")

_FORM_LINE_RE = re.compile(
    r"your email address will not be published.*|required fields are marked.*|save my name, email.*"
    r"|post comment|cancel reply|hủy trả lời|gửi bình luận|mã (?:xác nhận|bảo mật|kiểm tra)\b.*"
    r"|(?:(?:[•·▪●◦*-]\s*)?[^\W\d_][\w /()]{0,38}?)\s*\*",
    _I,
)
_COUNTER_RE = re.compile(
    r"(?:số lần xem(?: các bài viết)?|truy cập hiện tại|thống kê truy cập"
    r"|(?:tổng )?(?:số )?lượt (?:truy cập|xem)"
    r"|tổng truy cập|đang truy cập|lượt truy cập)\s*:?\s*[\d.,]*"
    r"|(?:hôm nay|hôm qua|tuần này|tháng này|tất cả|online|đang online|trực tuyến)\s*:?\s*\d[\d.,]*"
    r"|(?:đang|hiện) có .{0,40}\b(?:khách|thành viên)\b.{0,60}\b(?:online|trực tuyến|truy cập)",
    _I,
)
_NUMBER_LINE_RE = re.compile(r"[\d.,\s]+")
_STRAY_RE = re.compile(r"[^\w\s]{0,2}\w[^\w\s]{0,2}|[^\w\s]+|[^\w\s]{1,3}[A-ZĐ]{2,8}")

_MENU_LINES = frozenset(
    s.casefold()
    for s in (
        "Xây dựng Đảng",
        "Công tác tổ chức",
        "Tiến tới đại hội đảng",
        "Giải phóng miền Nam",
        "Trang chủ",
        "Tin tức",
        "Tin tức - Sự kiện",
        "Tin tức – Sự kiện",
        "Tin tức sự kiện",
        "Thời sự",
        "Chính trị",
        "Tin hoạt động",
        "Hoạt động",
        "Tin tổng hợp",
        "Sự kiện",
        "Tin trong tỉnh",
        "Tin trong nước",
        "Tin địa phương",
        "Công tác cán bộ",
        "Công tác đảng viên",
        "Bảo vệ chính trị nội bộ",
        "Nghiên cứu - Trao đổi",
        "Nghiên cứu – Trao đổi",
        "Nghiên cứu trao đổi",
        "Gương sáng",
        "Điển hình tiên tiến",
        "Tin ngành",
        "Tổ chức xây dựng Đảng",
        "Kiểm tra giám sát",
        "Tuyên giáo",
        "Dân vận",
        "Văn bản",
        "Hỏi đáp",
        "Liên hệ",
        "Giới thiệu",
        "English",
        "Video",
        "Multimedia",
        "Tin mới",
        "Tin nổi bật",
        "Tiêu điểm",
    )
)
_BREADCRUMB_RE = re.compile(
    r"(?:trang chủ|home)\s*[>»›/|].*|[^>»›|]{1,40}(?:\s[>»›|]\s[^>»›|]{1,40}){2,}", _I
)

# Dates.
_DMY = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4})"
_TIME = r"\d{1,2}\s*[:h]\s*\d{2}(?:\s*:\s*\d{2})?"
_DATE_VALUE = (
    rf"(?:(?P<t1>{_TIME})\s*(?:[,|–-]\s*)?)?(?:ngày\s*)?{_DMY}"
    rf"(?:\s*(?:[,|–-]\s*)?(?:lúc\s*)?(?P<t2>{_TIME}))?"
    r"\s*(?:\(?\s*GMT\s*[+-]\s*\d{1,2}(?::?\d{2})?\s*\)?)?\s*(?:AM|PM|SA|CH)?\.?"
)
_WEEKDAY = r"(?:thứ\s*(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ nhật|t[2-7]|cn)\s*[,|-]?\s*"
_META_DATE_RE = re.compile(
    r"(?:(?P<label>ngày đăng|đăng ngày|ngày xuất bản|xuất bản(?: ngày| lúc)?|thời gian đăng|đăng lúc|đăng vào"
    r"|posted on|published(?: on)?|ngày cập nhật|cập nhật ngày|cập nhật lúc|cập nhật vào|cập nhật"
    r"|updated(?: on)?"
    rf"|ngày)\s*:?\s*)?(?:{_WEEKDAY})?{_DATE_VALUE}",
    _I,
)
_UPDATE_LABEL_RE = re.compile(r"cập nhật|updated", _I)
_TIME_WORD = r"(?<!\w)(?:rạng\s+)?(?:sáng|chiều|trưa|tối|đêm|ngày|hôm)(?:\s+(?:nay|qua|mai))?"
_LEAD_FULL_DATE_RE = re.compile(
    rf"{_TIME_WORD}\s*[,(]?\s*(?:ngày\s+)?"
    r"(?:(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4})(?!\d)"
    r"|(?P<d2>\d{1,2})\s+tháng\s+(?P<m2>\d{1,2})\s+năm\s+(?P<y2>\d{4})(?!\d))",
    _I,
)
_LEAD_PARTIAL_DATE_RE = re.compile(
    rf"{_TIME_WORD}\s*[,(]?\s*(?:ngày\s+)?"
    r"(?:(?P<d>\d{1,2})\s*[/-]\s*(?P<m>\d{1,2})(?!\d)(?!\s*[/.-]\s*\d)"
    r"|(?P<d2>\d{1,2})\s+tháng\s+(?P<m2>\d{1,2})(?!\d)(?!\s+năm\s+\d))",
    _I,
)
_LEAD_START_DATE_RE = re.compile(rf"{_TIME_WORD}\s*[,(]?\s*(?:ngày\s+)?\d{{1,2}}\s*[/-]\s*\d", _I)

# Outlet tag opening the lead: "ĐTO - Sáng ...", "(TGAG)- Sáng ...".
_SOURCE_RE = re.compile(
    r"(?:\((?P<a>[^\W_][^()\s]{1,19})\)\s*[-–—:]?\s*"
    r"|(?P<b>[^\W\d_][^\s()\-–—:]{1,19})(?:\s+[-–—]\s*|[-–—]\s+))(?=[^\W\d_])"
)

# Bylines: "Tin: Kiều Trang. Ảnh: Trung Hiếu", "Bài và ảnh: Văn Hải".
_BYLINE_RE = re.compile(
    r"(?:tin|bài|tin và ảnh|tin, ảnh|tin - ảnh|tin – ảnh|tin/ảnh|tin-ảnh"
    r"|bài và ảnh|bài, ảnh|bài - ảnh|bài – ảnh"
    r"|bài/ảnh|tác giả|phóng viên|nhóm phóng viên|nhóm pv)\s*:\s*(?P<name>[^:;|]+?)\s*"
    r"(?:[.,;|–-]\s*(?:ảnh|video|đồ họa|đồ hoạ|clip|thiết kế)\s*:.*)?\.?",
    _I,
)

_SENTENCE_END = (".", "!", "?", "…", ":", ";")
_CLOSERS = "\"”’»)]'"
_NAME_SEPARATORS = frozenset({"-", "–", "—", "/", "&", "và", ","})
_NAME_STOPWORDS = frozenset({"theo", "nguồn", "ảnh", "video", "tin", "bài", "clip", "xem"})
_NAME_TOKEN_RE = re.compile(r"(?:[^\W\d_][^\W\d_.]*\.?)+|\([^\W\d_][^()\s]*\)")


# --------------------------------------------------------------------------- small predicates


def _words(line: str) -> int:
    """Number of words, capped at 61 (every threshold used here is below that)."""
    return len(line.split(None, 60))


def _ends_sentence(line: str) -> bool:
    return line.rstrip(_CLOSERS).endswith(_SENTENCE_END)


def _is_menu(line: str) -> bool:
    """A navigation line: a known menu entry, a breadcrumb, or a section header out of place."""
    key = line.rstrip(" :»>›").casefold()
    return key in _MENU_LINES or bool(_BREADCRUMB_RE.fullmatch(line)) or any(_is_cut_marker(line))


def _is_cut_marker(line: str) -> tuple[bool, bool]:
    """(is a comment-form marker, is a related-news marker)."""
    if _words(line) > 6:
        return False, False
    core = _CUT_TRAILER.sub("", line)
    if _COMMENT_CUT_RE.fullmatch(core):
        return True, False
    return False, bool(_RELATED_CUT_RE.fullmatch(core))


def _is_outlet_word(word: str) -> bool:
    """An agency acronym ("VTV", "TTXVN") or a camel-case brand ("VnExpress")."""
    if word.isalpha() and word.isupper() and len(word) >= 3:
        return True
    return any(a.islower() and b.isupper() for a, b in pairwise(word))


def _is_name_like(line: str) -> bool:
    """1–6 capitalised words (initials, separators and an agency in parentheses allowed)."""
    if len(line) > 60 or any(ch.isdigit() for ch in line):
        return False
    tokens = line.replace(",", " , ").split()
    if not tokens or tokens[0].casefold() in _NAME_STOPWORDS:
        return False
    names = 0
    for token in tokens:
        if token in _NAME_SEPARATORS:
            continue
        if not _NAME_TOKEN_RE.fullmatch(token):
            return False
        if not token.lstrip("(")[0].isupper():
            return False
        names += 1
    if names == 1 and _is_outlet_word(line):
        return False  # "VTV", "TTXVN", "VnExpress": an outlet credit, not a person
    return 1 <= names <= 6 and line.casefold() not in _MENU_LINES


def _is_body(line: str) -> bool:
    """A paragraph of article prose (as opposed to a headline, caption or menu line)."""
    n = _words(line)
    if n >= 50:
        return True
    tail = line.rstrip(_CLOSERS)
    if tail.endswith((".", "…", ":", ";")):
        return n >= 8
    if tail.endswith(("!", "?")):
        return n >= 30
    return n >= 8 and _SOURCE_RE.match(line) is not None


def _is_headline(line: str) -> bool:
    n = _words(line)
    if not 3 <= n <= 45 or len(line) > 300:
        return False
    if line.rstrip(_CLOSERS).endswith((".", ",", ";", ":", "…")):
        return False
    if _SOURCE_RE.match(line) or _LEAD_START_DATE_RE.match(line):
        return False
    return not (_is_menu(line) or _is_name_like(line))


def _tail_content(line: str) -> bool:
    """A line that can end an article (anything but a short unpunctuated line)."""
    return _words(line) >= 9 or _ends_sentence(line)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(" .")


# --------------------------------------------------------------------------- dates


def _valid(y: int | None, m: int, d: int) -> bool:
    try:
        _date(2000 if y is None else y, m, d)  # 2000 is a leap year: "--02-29" is valid
    except ValueError:
        return False
    return y is None or 1900 <= y <= 2100


def _clock(raw: str | None) -> str | None:
    if not raw:
        return None
    parts = [int(p) for p in re.split(r"\s*[:h]\s*", raw.strip())]
    if parts[0] > 23 or any(p > 59 for p in parts[1:]):
        return None
    return ":".join(f"{p:02d}" for p in parts)


def _meta_date_match(line: str) -> re.Match[str] | None:
    """The match of a pure date metadata line whose date is a real one."""
    m = _META_DATE_RE.fullmatch(line)
    if m is None or not _valid(int(m["y"]), int(m["m"]), int(m["d"])):
        return None
    return m


def _meta_date(line: str) -> tuple[str, bool] | None:
    """(ISO date, is an update label) for a pure date metadata line."""
    m = _meta_date_match(line)
    if m is None:
        return None
    y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    iso = f"{y:04d}-{mo:02d}-{d:02d}"
    clock = _clock(m["t2"] or m["t1"])
    if clock:
        iso += "T" + clock
    label = m["label"] or ""
    return iso, bool(_UPDATE_LABEL_RE.search(label))


def _first_sentence(line: str) -> str:
    head = line[:400]
    m = re.search(r"(?<=[.!?…])\s+(?=[^\W\d_])", head)
    return head[: m.start()] if m else head


def _lead_date(lead: str) -> tuple[str | None, str | None]:
    """(full date, partial date) introduced by a time word in the lead sentence."""
    sentence = _first_sentence(lead)
    full = partial = None
    for m in _LEAD_FULL_DATE_RE.finditer(sentence):
        groups = ("d", "m", "y") if m["d"] else ("d2", "m2", "y2")
        d, mo, y = (int(m[g]) for g in groups)
        if _valid(y, mo, d):
            full = f"{y:04d}-{mo:02d}-{d:02d}"
            break
    for m in _LEAD_PARTIAL_DATE_RE.finditer(sentence):
        d, mo = (int(m["d"]), int(m["m"])) if m["d"] else (int(m["d2"]), int(m["m2"]))
        if _valid(None, mo, d):
            partial = f"--{mo:02d}-{d:02d}"
            break
    return full, partial


def _source_tag(lead: str) -> str | None:
    m = _SOURCE_RE.match(lead)
    if m is None:
        return None
    tag = m["a"] or m["b"]
    letters = sum(ch.isalpha() for ch in tag)
    if letters < 2 or not tag.isupper() or _words(lead) < 4:
        return None
    return tag


def _byline(line: str) -> str | None:
    if len(line) > 120:
        return None
    m = _BYLINE_RE.fullmatch(line)
    if m is None:
        return None
    name = m["name"].strip(" .,;–-")
    return name if _is_name_like(name) else None


_PHOTO_CREDIT_RE = re.compile(r"(?:ảnh|photo)\s*:\s*(?P<name>[^:;|]+?)\s*\.?$", _I)


def byline_photo_credit(line: str) -> tuple[int, int] | None:
    """(start, end) in ``line`` of the photographer's name of a byline ("Tin: Kiều Trang. Ảnh:
    Trung Hiếu" -> "Trung Hiếu"), or None."""
    if _byline(line) is None:
        return None
    m = _PHOTO_CREDIT_RE.search(line)
    if m is None or not _is_name_like(m["name"]):
        return None
    return m.start("name"), m.end("name")


def meta_date_value(line: str) -> tuple[int, int] | None:
    """(start, end) in ``line`` of the date of a publication / update line ("Cập nhật ngày:
    25/07/2020 13:05:15" -> "25/07/2020 13:05:15"), or None."""
    m = _meta_date_match(line)
    if m is None:
        return None
    start = m.end("label") if m["label"] else 0
    while start < len(line) and line[start] in " :":
        start += 1
    end = len(line.rstrip(" ."))
    return (start, end) if start < end else None


# --------------------------------------------------------------------------- the cleaner


def _cut_tail(lines: list[str], removed: list[str]) -> list[str]:
    seen_body = False
    for i, line in enumerate(lines):
        if not line:
            continue
        if seen_body:
            comment, related = _is_cut_marker(line)
            if comment or related:
                rest = lines[i + 1 :]
                if related and any(_words(r) >= 40 and _ends_sentence(r) for r in rest):
                    removed.append(line)  # a box inside the article: drop the header only
                    return [*lines[:i], "", *_cut_tail(rest, removed)]
                removed.extend(r for r in lines[i:] if r)
                return lines[:i]
        if _words(line) >= 12:
            seen_body = True
    return lines


def clean_article(raw: str, *, title: str | None = None) -> CleanedArticle:
    """Clean one scraped page; see the module docstring for the exact rules."""
    removed: list[str] = []
    normalized = _normalize_lines(raw)
    lines = _cut_tail(normalized, removed)

    given_title = " ".join(normalize_text(title).split()) if title else ""
    meta_dates: list[tuple[str, bool]] = []
    author: str | None = None

    # Whole-line boilerplate anywhere on the page; metadata lines and bylines are read (and kept).
    kept: list[str] = []
    attribution: set[int] = set()  # indices in ``kept`` of bylines and metadata lines
    after_counter = False
    for line in lines:
        if not line:
            kept.append(line)
            continue
        if after_counter and _NUMBER_LINE_RE.fullmatch(line):
            removed.append(line)
            after_counter = False
            continue
        after_counter = False
        if _COUNTER_RE.fullmatch(line):
            removed.append(line)
            after_counter = True
            continue
        if _STRAY_RE.fullmatch(line) or (_words(line) <= 20 and _FORM_LINE_RE.fullmatch(line)):
            removed.append(line)
            continue
        meta = _meta_date(line)
        if meta is not None:
            meta_dates.append(meta)
            attribution.add(len(kept))
            kept.append(line)
            continue
        name = _byline(line)
        if name is not None:
            author = author or name
            attribution.add(len(kept))
            kept.append(line)
            continue
        kept.append(line)

    # Head: menu lines and the title line before the first body paragraph.
    nonblank = [i for i, line in enumerate(kept) if line and i not in attribution]
    first_body = next((i for i in nonblank if _is_body(kept[i])), None)
    found_title: str | None = None
    drop: set[int] = set()
    if first_body is not None:
        head = [i for i in nonblank if i < first_body]
        title_at: int | None = None
        if given_title:
            title_at = next((i for i in head if _key(kept[i]) == _key(given_title)), None)
        else:
            # A headline stands on its own: a blank line follows it (a lead paragraph glued to
            # the next line, as in the baomoi dumps, is not a title).
            candidates = [i for i in head if _is_headline(kept[i]) and not kept[i + 1]]
            title_at = next((i for i in candidates if _words(kept[i]) >= 5), None)
            if title_at is None and candidates:
                title_at = candidates[0]
            if title_at is not None:
                found_title = kept[title_at]
        for i in head:
            if i == title_at:
                drop.add(i)
            elif _is_menu(kept[i]) or (title_at is not None and i < title_at and _words(kept[i]) <= 6):
                drop.add(i)
                removed.append(kept[i])

    # Tail: closing signature and the menu lines after it.
    body_idx = [i for i in nonblank if i not in drop]
    last_content = next((i for i in reversed(body_idx) if _tail_content(kept[i])), None)
    if last_content is not None:
        tail = [i for i in body_idx if i > last_content]
        signature_at: int | None = None
        for pos, i in enumerate(tail):
            prev = kept[tail[pos - 1]] if pos else kept[last_content]
            if _is_name_like(kept[i]) and not _is_name_like(prev) and not prev.endswith(":"):
                signature_at = i
                break
        for i in tail:
            if i == signature_at:
                author = author or kept[i]
            elif (signature_at is not None and i > signature_at) or _is_menu(kept[i]):
                drop.add(i)
                removed.append(kept[i])

    final = [line for i, line in enumerate(kept) if i not in drop]
    text = _join(final)

    # Lead-based metadata: outlet tag and date in the first paragraph.
    lead = ""
    for line in [ln for ln in final if ln][:3]:
        if _words(line) >= 8:
            lead = line
            break
    source = _source_tag(lead) if lead else None
    date: str | None = None
    if meta_dates:
        published = [iso for iso, is_update in meta_dates if not is_update]
        date = published[0] if published else meta_dates[0][0]
    elif lead:
        full, partial = _lead_date(lead)
        date = full or partial

    return CleanedArticle(
        text=text,
        title=given_title or found_title,
        date=date,
        source=source,
        author=author,
        removed=_in_page_order(removed, normalized),
    )


def _in_page_order(removed: list[str], lines: list[str]) -> list[str]:
    pending = Counter(removed)
    ordered: list[str] = []
    for line in lines:
        if pending[line] > 0:
            pending[line] -= 1
            ordered.append(line)
    return ordered
