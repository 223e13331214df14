"""Put the diacritics back on a question typed without them.

Each unaccented syllable could be one of several accented ones ("may": "mấy", "máy", "may",
"mây"…). The most likely sequence is chosen (Viterbi) under a syllable bigram model of
Vietnamese news and questions (:mod:`ttqa.text.syllable_lm`), whose counts are raised by those of
the passages BM25 finds for the question on the accent-folded field (``evidence``, weighed by
``evidence_weight``): those hold the names and terms of the articles asked about, the model
holds how Vietnamese questions go ("lần thứ mấy", "do ai chụp", "bao nhiêu"). The dense model
and the reader read Vietnamese without diacritics poorly, so they get the restored question.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ttqa.text.normalize import TOKEN_RE, fold_accents, nfc
from ttqa.text.syllable_lm import BREAK_RE, NUMBER, START, SyllableLM, bundled, count, token

EVIDENCE_WEIGHT = 300.0
"""How much a syllable (pair) of the retrieved passages counts against one of the model's
corpus. On the 416 questions of ``evals/party_org_train.jsonl``, typed without diacritics and
restored from their own BM25 passages of the 606 domain articles, syllables right: 0 (model
alone) 93.8 %, 30: 97.8 %, 300: 98.4 %, 1000: 98.4 % (passages alone, the former way: 94.4 %)."""
PAIR_SHARE = 0.8
"""The weight of the pair estimate against the single-syllable one (interpolated bigram)."""
_VOCAB = 200_000.0


def restore_diacritics(
    question: str,
    evidence: Iterable[str],
    model: SyllableLM | None = None,
    *,
    evidence_weight: float = EVIDENCE_WEIGHT,
) -> str:
    """``question`` with each unaccented syllable given its most likely accents (see the module
    notes). Syllables typed with diacritics, and those neither the model nor the evidence knows,
    are kept as typed; the case of the question, its punctuation and spacing are untouched."""
    lm = model if model is not None else bundled()
    seen_words, seen_pairs = count(evidence)
    seen_forms: dict[str, list[str]] = {}
    for w in seen_words:
        seen_forms.setdefault(fold_accents(w), []).append(w)
    text = nfc(question)
    matches = list(TOKEN_RE.finditer(text))

    lattice: list[list[str]] = []
    kept: list[bool] = []  # typed with diacritics, a number, or unknown: kept as typed
    for m in matches:
        typed = m.group(0)
        key = fold_accents(typed)
        options = list(lm.forms(key))
        options += [w for w in seen_forms.get(key, ()) if w not in options]
        keep = not options or key != typed.lower() or token(typed) == NUMBER
        kept.append(keep)
        lattice.append([token(typed)] if keep else options)

    total = lm.total + evidence_weight * sum(seen_words.values())

    def logp(prev: str, word: str) -> float:
        single = (lm.unigram(word) + evidence_weight * seen_words[word] + 0.5) / (total + 0.5 * _VOCAB)
        opened = lm.followers(prev) + (evidence_weight * seen_words[prev] if prev != START else 0.0)
        pair = (lm.pair(prev, word) + evidence_weight * seen_pairs[(prev, word)]) / opened if opened else 0.0
        return math.log(PAIR_SHARE * pair + (1 - PAIR_SHARE) * single)

    chosen: list[str] = []
    steps: list[dict[str, tuple[float, str]]] = []  # per syllable: option -> (score, previous)
    for i, options in enumerate(lattice):
        if i == 0 or BREAK_RE.search(text[matches[i - 1].end() : matches[i].start()]):
            chosen += _backtrack(steps)
            steps = [{w: (logp(START, w), START) for w in options}]
            continue
        before = steps[-1]
        steps.append(
            {
                w: max(((s + logp(p, w), p) for p, (s, _) in before.items()), key=lambda sp: sp[0])
                for w in options
            }
        )
    chosen += _backtrack(steps)

    out: list[str] = []
    last = 0
    for m, word, keep in zip(matches, chosen, kept, strict=True):
        out.append(text[last : m.start()])
        out.append(m.group(0) if keep else _match_case(m.group(0), word))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def _backtrack(steps: list[dict[str, tuple[float, str]]]) -> list[str]:
    """The best sequence of options through ``steps`` (Viterbi's back pointers)."""
    if not steps:
        return []
    word = max(steps[-1], key=lambda w: steps[-1][w][0])
    out = [word]
    for step in reversed(steps[1:]):
        word = step[word][1]
        out.append(word)
    return out[::-1]


def _match_case(typed: str, word: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
