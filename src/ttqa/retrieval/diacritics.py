"""Put the diacritics back on a question typed without them, from retrieved text.

BM25 on the accent-folded field finds passages for "ai chu tri hoi thao"; those
passages contain the accented words ("chủ trì", "hội thảo"). Aligning the
question's folded syllables with the passages' words (bigrams first, then single
syllables, most frequent form wins) restores the question, so the dense model,
which reads unaccented Vietnamese poorly, gets "ai chủ trì hội thảo".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from ttqa.text.normalize import fold_accents, nfc
from ttqa.text.words import QUESTION_WORDS

_WORD_RE = re.compile(r"\d+(?:[.,/:\-]\d+)*|[^\W_]+")


def restore_diacritics(question: str, evidence: Iterable[str]) -> str:
    """``question`` with each unaccented syllable replaced by its accented form in ``evidence``.

    Syllables that do not occur in the evidence are kept as typed; the case of
    the question is kept; punctuation and spacing are untouched.
    """
    uni: dict[str, Counter[str]] = {}
    bi: dict[tuple[str, str], Counter[tuple[str, str]]] = {}
    for text in (*evidence, QUESTION_WORDS):
        words = [w.lower() for w in _WORD_RE.findall(nfc(text))]
        folded = [fold_accents(w) for w in words]
        for i, (w, f) in enumerate(zip(words, folded, strict=True)):
            uni.setdefault(f, Counter())[w] += 1
            if i + 1 < len(words):
                bi.setdefault((f, folded[i + 1]), Counter())[(w, words[i + 1])] += 1
    matches = list(_WORD_RE.finditer(question))
    keys = [fold_accents(m.group(0)) for m in matches]
    chosen: list[str | None] = [None] * len(matches)
    # Bigrams decide first (they disambiguate "to chuc" -> "tổ chức", not "tô chức").
    for i in range(len(matches) - 1):
        pair = bi.get((keys[i], keys[i + 1]))
        if pair:
            (a, b), _ = pair.most_common(1)[0]
            chosen[i] = chosen[i] or a
            chosen[i + 1] = b
    for i, key in enumerate(keys):
        if chosen[i] is None and key in uni:
            chosen[i] = uni[key].most_common(1)[0][0]
    out: list[str] = []
    last = 0
    for m, word in zip(matches, chosen, strict=True):
        out.append(question[last : m.start()])
        typed = m.group(0)
        if word is None or fold_accents(typed) != typed.lower():
            out.append(typed)  # unknown syllable, or the user typed accents: keep
        else:
            out.append(_match_case(typed, word))
        last = m.end()
    out.append(question[last:])
    return "".join(out)


def _match_case(typed: str, word: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
