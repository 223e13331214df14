"""Legacy Vietnamese 8-bit encodings: TCVN3 (ABC), VNI-Windows, Windows-1258, and how to tell them apart.

Old Vietnamese documents are often not Unicode.  Three 8-bit encodings cover
nearly all of them:

* **Windows-1258** (``cp1258``): Latin-1-like, with the tone marks as
  *combining* characters after the vowel ("ệ" = "ê" + U+0323); Python decodes
  it, :func:`unicodedata.normalize` ("NFC") composes the result.
* **TCVN3** (TCVN 5712:1993, the "ABC" encoding of the ``.Vn*`` fonts): one
  byte per precomposed letter (``0xD6`` = "ệ").  VN3 only has the lower-case
  toned letters; the fuller VN1 table used here also places upper-case ones in
  the C0 and ``0x80``–``0x9F`` ranges (the table matches glibc's
  ``TCVN5712-1``).  Read as Latin-1, TCVN3 looks like "ViÖt Nam", "§¶ng".
* **VNI-Windows** (the ``VNI-*`` fonts): an ASCII base letter followed by a
  mark byte ("ệ" = "e" + "ä"), so read as cp1252 it looks like "Vieät Nam",
  "Ñaûng".

Nothing in the bytes says which one a file uses.  :func:`guess_legacy_encoding`
decodes a sample with each and keeps the reading whose accented words are
Vietnamese syllables (onset, vowels, coda, one tone mark: "được", "Đảng"), as
opposed to mojibake that no syllable spells ("ViÖt", "Ñaûng"): real news text
has under 5 % such words (acronyms like "HĐND"), a wrong reading far more.
Ties (no accented word at all) go to cp1258, the historical default.  Text
that is clearly Vietnamese (many diacritic-free syllables such as "trong",
"theo") but misspelt in every reading is in an encoding ttqa does not know
(VISCII, VPS, ...): the guess is ``None`` and the caller skips the file
rather than index mojibake.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

__all__ = [
    "LEGACY_ENCODINGS",
    "decode_legacy",
    "decode_tcvn3",
    "decode_vni",
    "guess_legacy_encoding",
    "syllable_counts",
    "vietnamese_score",
]

LEGACY_ENCODINGS = ("cp1258", "tcvn3", "vni")

# --------------------------------------------------------------------------- TCVN3

# Bytes 0x00-0x1F: control characters, except the VN1 upper-case letters.
_TCVN3_LOW = {
    0x01: "Ú", 0x02: "Ụ", 0x04: "Ừ", 0x05: "Ử", 0x06: "Ữ", 0x11: "Ứ", 0x12: "Ự",
    0x13: "Ỳ", 0x14: "Ỷ", 0x15: "Ỹ", 0x16: "Ý", 0x17: "Ỵ",
}  # fmt: skip
_TCVN3_HIGH = (
    "ÀẢÃÁẠẶẬÈẺẼÉẸỆÌỈĨ"  # 0x80
    "ÍỊÒỎÕÓỌỘỜỞỠỚỢÙỦŨ"  # 0x90
    "\u00a0ĂÂÊÔƠƯĐăâêôơưđẰ"  # 0xA0
    "\u0300\u0309\u0303\u0301\u0323àảãáạẲằẳẵắẴ"  # 0xB0 (0xB0-0xB4: combining tone marks)
    "ẮẦẨẪẤỀặầẩẫấậèỂẻẽ"  # 0xC0
    "éẹềểễếệìỉỄẾỒĩíịò"  # 0xD0
    "Ổỏõóọồổỗốộờởỡớợù"  # 0xE0
    "ỖủũúụừửữứựỳỷỹýỵỐ"  # 0xF0
)
_TCVN3_TABLE = "".join(_TCVN3_LOW.get(b, chr(b)) for b in range(0x80)) + _TCVN3_HIGH
assert len(_TCVN3_TABLE) == 256


def decode_tcvn3(data: bytes) -> str:
    """Decode TCVN3 (TCVN 5712, VN1 superset of the ABC/VN3 table) to NFC text."""
    text, _ = codecs.charmap_decode(data, "strict", _TCVN3_TABLE)
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------- VNI

_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT = "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"

# Mark bytes after a base vowel, as cp1252 characters (lower-case forms; the
# upper-case form of each is the byte 0x20 lower, i.e. the upper-case glyph).
_VNI_TONE = {"ù": _ACUTE, "ø": _GRAVE, "û": _HOOK, "õ": _TILDE, "ï": _DOT}
_VNI_CIRC = {"â": "", "á": _ACUTE, "à": _GRAVE, "å": _HOOK, "ã": _TILDE, "ä": _DOT}
_VNI_BREVE = {"ê": "", "é": _ACUTE, "è": _GRAVE, "ú": _HOOK, "ü": _TILDE, "ë": _DOT}
# Letters that are a single byte.
_VNI_SINGLE = {"ñ": "đ", "ô": "ơ", "ö": "ư", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ"}
# í and ì (0xED, 0xEC) are themselves in VNI; ô and ö are also bases (ơ, ư) for a tone mark.


def _both_cases(table: dict[str, str]) -> dict[str, str]:
    return {**table, **{k.upper(): v for k, v in table.items()}}


_TONE_MARKS = _both_cases(_VNI_TONE)
_CIRC_MARKS = _both_cases(_VNI_CIRC)
_BREVE_MARKS = _both_cases(_VNI_BREVE)
_SINGLES = {**_VNI_SINGLE, **{k.upper(): v.upper() for k, v in _VNI_SINGLE.items()}}
_BASES = {
    **{c: c for c in "aeouyAEOUY"},
    "ô": "o" + _HORN,
    "ö": "u" + _HORN,
    "Ô": "O" + _HORN,
    "Ö": "U" + _HORN,
}
_VNI_RE = re.compile(
    "([" + "".join(_BASES) + "])([" + "".join({**_TONE_MARKS, **_CIRC_MARKS, **_BREVE_MARKS}) + "])"
    "|[" + "".join(_SINGLES) + "]"
)


def _vni_sub(m: re.Match[str]) -> str:
    if m.group(1) is None:
        return _SINGLES[m.group(0)]
    base, mark = _BASES[m.group(1)], m.group(2)
    plain = base[0]
    if mark in _TONE_MARKS:
        return base + _TONE_MARKS[mark]
    if mark in _CIRC_MARKS and plain in "aeoAEO":
        return plain + _CIRC + _CIRC_MARKS[mark]
    if mark in _BREVE_MARKS and plain in "aA":
        return plain + _BREVE + _BREVE_MARKS[mark]
    # Not a Vietnamese combination: the base stands alone, the mark byte is read again.
    return unicodedata.normalize("NFC", base) + _SINGLES.get(mark, mark)


def decode_vni(data: bytes) -> str:
    """Decode VNI-Windows bytes to NFC text."""
    raw = data.decode("cp1252", errors="replace")
    return unicodedata.normalize("NFC", _VNI_RE.sub(_vni_sub, raw))


# --------------------------------------------------------------------------- detection

_TONE_MARKS_NFD = frozenset("\u0300\u0301\u0303\u0309\u0323")
# A Vietnamese syllable, tone mark removed: onset, 1-3 vowels, coda.
_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|nh|ch|tr|th|ph|kh|gh|gi|qu|[bcdđghklmnprstvx])?[aăâeêioôơuưy]{1,3}(?:ng|nh|ch|[cmnpt])?"
)
_WORD_RE = re.compile(r"[^\W\d_]+")
# Syllables that Vietnamese spells without diacritics: they survive any 8-bit encoding.
_PLAIN_WORDS = frozenset(
    {
        "trong", "cho", "theo", "khi", "ban", "nam", "gia", "kinh", "tham", "thanh", "thi", "chi", "sinh",
        "tin", "anh", "cao", "con", "hai", "hay", "mai", "nhanh", "phong", "trung", "tranh", "tinh", "minh",
    }
)  # fmt: skip
_SAMPLE = 1 << 16
_MIN_LEAD = 3
"""TCVN3 or VNI must read at least this much better than cp1258 to be chosen."""
_MOJIBAKE_RATE = 0.08
"""Above this share of misspelt accented words a reading is mojibake (real news: under 5 %)."""


def _is_syllable(word: str) -> bool:
    decomposed = unicodedata.normalize("NFD", word)
    if sum(1 for ch in decomposed if ch in _TONE_MARKS_NFD) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS_NFD))
    return _SYLLABLE_RE.fullmatch(base) is not None


def syllable_counts(text: str) -> tuple[int, int]:
    """``(valid, invalid)``: words with non-ASCII letters that are / are not Vietnamese syllables.

    Real Vietnamese text has well under 1 % invalid words (acronyms such as "HĐND");
    a wrong 8-bit reading spells letters that no syllable has ("ViÖt", "Ñaûng").
    """
    valid = invalid = 0
    for word in _WORD_RE.findall(text.lower()):
        if word.isascii():
            continue
        if _is_syllable(word):
            valid += 1
        else:
            invalid += 1
    return valid, invalid


def vietnamese_score(text: str) -> int:
    """Valid accented Vietnamese syllables minus twice the words no syllable spells (higher: better)."""
    valid, invalid = syllable_counts(text)
    return valid - 2 * invalid


def _plain_vietnamese(text: str) -> bool:
    plain = [w for w in _WORD_RE.findall(text.lower()) if w in _PLAIN_WORDS]
    return len(plain) >= 5 and len(set(plain)) >= 3


def _decode_cp1258(data: bytes) -> str:
    return unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))


_DECODERS = {"cp1258": _decode_cp1258, "tcvn3": decode_tcvn3, "vni": decode_vni}


def guess_legacy_encoding(data: bytes) -> str | None:
    """The legacy encoding (one of :data:`LEGACY_ENCODINGS`) in which ``data`` reads as Vietnamese.

    Decided on the first 64 KiB by :func:`vietnamese_score` (``cp1258`` unless another
    reading scores clearly higher).  ``None``
    when the text is Vietnamese (syllables spelt without diacritics such as "trong",
    "theo") but even the best reading leaves more than 8 % of its accented words
    misspelt: an encoding ttqa does not read (VISCII, VPS, ...), mojibake in any reading.
    """
    sample = data[:_SAMPLE]
    cut = sample.rfind(b"\n")
    if cut > 0 and len(data) > _SAMPLE:
        sample = sample[:cut]  # whole lines: no VNI letter split in two
    counts = {name: syllable_counts(_DECODERS[name](sample)) for name in LEGACY_ENCODINGS}
    score = {name: valid - 2 * invalid for name, (valid, invalid) in counts.items()}
    best = max(LEGACY_ENCODINGS, key=lambda name: score[name])  # first on ties: cp1258
    if score[best] < score["cp1258"] + _MIN_LEAD:
        best = "cp1258"  # a word or two is no evidence (a name, a stray byte)
    valid, invalid = counts[best]
    if (
        invalid >= 5
        and invalid > _MOJIBAKE_RATE * (valid + invalid)
        and _plain_vietnamese(sample.decode("latin-1"))
    ):
        return None
    return best


def decode_legacy(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode 8-bit Vietnamese ``data`` (guessing the encoding when not given) to NFC text.

    Returns ``(text, encoding)``; undecodable bytes become U+FFFD, nothing raises (an
    unrecognised encoding is read as cp1258: check :func:`guess_legacy_encoding` first).
    """
    name = encoding or guess_legacy_encoding(data) or "cp1258"
    return _DECODERS[name](data), name
