"""Vietnamese text normalisation for matching.

Stored text is only ever NFC-normalised (:func:`nfc`); everything else here builds
*matching keys* (tokens, comparison strings) and never changes stored text, so
character offsets stay valid.

* :func:`fold_tones` makes tone-mark placement irrelevant: "hoà" and "hòa",
  "thuỷ" and "thủy", "khoẻ" and "khỏe" get the same key.
* :func:`fold_accents` removes every diacritic ("Đảng" -> "dang"), the key for
  questions typed without accents.
* :func:`tokenize` splits into lower-cased syllables; one-letter syllables
  ("ủy" has two letters, but "a", "ở", "y" are words) are kept, and numbers with
  inner separators ("6.666", "19/11/2020", "2020-2025") stay one token.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The five Vietnamese tone marks as combining characters (NFD).
_TONES = {
    "\u0300": "2",  # huyền  (grave)
    "\u0301": "1",  # sắc    (acute)
    "\u0309": "3",  # hỏi    (hook above)
    "\u0303": "4",  # ngã    (tilde)
    "\u0323": "5",  # nặng   (dot below)
}
_TONE_CHARS = "".join(_TONES)
_TONE_RE = re.compile(f"[{_TONE_CHARS}]")
_COMBINING_RE = re.compile(r"[\u0300-\u036f]")

TOKEN_RE = re.compile(r"\d+(?:[.,/:\-]\d+)*|[^\W_]+", re.UNICODE)
# A word for folding: letters and digits plus any combining marks in or after them (a mark that
# NFC cannot compose, "x\u0323", is not matched by \w and would otherwise survive the folding).
_FOLD_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")


def nfc(text: str) -> str:
    """Unicode NFC, the one normal form ttqa stores."""
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=200_000)
def _fold_word_tones(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    tones = _TONE_RE.findall(decomposed)
    if not tones:
        return unicodedata.normalize("NFC", decomposed)
    base = _TONE_RE.sub("", decomposed)
    # Canonical placement: the (last) tone mark goes at the end of the syllable.
    # It is a key, not display text, so the position only has to be consistent.
    return unicodedata.normalize("NFC", base) + _TONES[tones[-1]]


def fold_tones(text: str) -> str:
    """Lower-case and make tone-mark placement canonical, word by word."""
    return _FOLD_WORD_RE.sub(lambda m: _fold_word_tones(m.group(0)), nfc(text).lower())


@lru_cache(maxsize=200_000)
def _fold_word_accents(word: str) -> str:
    stripped = _COMBINING_RE.sub("", unicodedata.normalize("NFD", word))
    # Recompose what was decomposed but is no accent (Hangul syllables, ...): keys stay NFC.
    return unicodedata.normalize("NFC", stripped).replace("đ", "d").replace("Đ", "D")


def fold_accents(text: str) -> str:
    """Lower-case and remove every diacritic: "Phó Bí thư Đảng" -> "pho bi thu dang"."""
    return _FOLD_WORD_RE.sub(lambda m: _fold_word_accents(m.group(0)), nfc(text).lower())


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic (or đ)."""
    lowered = nfc(text).lower()
    return fold_accents(lowered) != lowered


def tokenize(text: str) -> list[str]:
    """Tone-folded, lower-cased syllable tokens (one-letter syllables kept)."""
    return [_fold_word_tones(t) for t in TOKEN_RE.findall(nfc(text).lower())]


def tokenize_folded(text: str) -> list[str]:
    """Accent-folded syllable tokens, for questions typed without diacritics."""
    return [_fold_word_accents(t) for t in TOKEN_RE.findall(nfc(text).lower())]


def match_key(text: str) -> str:
    """A comparison string: NFC, lower-case, tone-folded, whitespace-collapsed tokens."""
    return " ".join(tokenize(text))
