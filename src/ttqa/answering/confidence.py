"""How sure an answer is: a logistic model over the reader's scores and the retrieval evidence.

Features of a :class:`~ttqa.reading.base.Reading` (all from the reader and the retriever):

* ``gap``: the best span's score minus the no-answer score (the reader's own verdict);
* ``span`` and ``null``: the two scores themselves;
* ``margin``: the best span's share of the probability mass of the candidates (softmax);
* ``agree``: the share of that mass held by candidates that overlap the best span in its article,
  or have its text elsewhere (the same answer with other bounds, or found in several windows);
* ``passage``: the retrieval score of the passage the span comes from (1.0 for the best);
* ``first``: 1.0 when the span is in the best retrieved article;
* ``support`` and ``support_sentence``: the share of the question's syllables (accents folded)
  found in the span's passage and in its sentence: the reader always finds some span, and a
  question whose words the passage does not hold is a near miss or no question at all;
* ``missing``: 1.0 when a name or number of the question (:func:`~ttqa.text.terms.key_terms`)
  is nowhere in the span's article: an article about another province, person or decree than the
  one asked about shares most of the question's words but not those.

The weights and the abstention threshold are fitted by ``python -m ttqa.training.calibrate``
on held-in questions and shipped in ``confidence.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources

from ttqa.reading.base import Passage, Reading
from ttqa.text.normalize import has_diacritics, tokenize_folded
from ttqa.text.terms import key_terms, missing_share

CALIBRATION_FILE = "confidence.json"
FEATURES = (
    "gap",
    "span",
    "null",
    "margin",
    "agree",
    "passage",
    "first",
    "support",
    "support_sentence",
    "missing",
)


def _share(words: set[str], text: str) -> float:
    return len(words & set(tokenize_folded(text))) / len(words) if words else 0.0


def evidence(
    reading: Reading, passages: list[Passage] | tuple[Passage, ...], question: str
) -> dict[str, float]:
    """The features of the best span of ``reading`` for ``question`` (see the module notes)."""
    best = reading.best
    if best is None:
        return dict.fromkeys(FEATURES, 0.0)
    top = best.score
    weights = [math.exp(max(-50.0, c.score - top)) for c in reading.candidates]
    z = sum(weights)
    same = sum(
        w
        for c, w in zip(reading.candidates, weights, strict=True)
        if c.text == best.text or (c.doc_id == best.doc_id and c.start < best.end and best.start < c.end)
    )
    first_doc = passages[0].doc_id if passages else best.doc_id
    words = set(tokenize_folded(question))
    passage = passages[best.passage] if 0 <= best.passage < len(passages) else None
    return {
        "gap": best.score - reading.no_answer,
        "span": best.score,
        "null": reading.no_answer,
        "margin": 1.0 / z,
        "agree": same / z,
        "passage": best.passage_score,
        "first": float(best.doc_id == first_doc),
        "support": _share(words, passage.text) if passage else 0.0,
        "support_sentence": _share(words, passage.document[best.sentence_start : best.sentence_end])
        if passage
        else 0.0,
        "missing": float(
            missing_share(key_terms(question), passage.document, accents=has_diacritics(question)) > 0
        )
        if passage
        else 0.0,
    }


@dataclass(frozen=True, slots=True)
class Calibration:
    """Logistic confidence over :func:`evidence`, and the abstention threshold."""

    weights: dict[str, float] = field(default_factory=lambda: {"bias": 0.0, "gap": 1.0})
    threshold: float = 0.5
    meta: dict[str, object] = field(default_factory=dict)

    def confidence(self, features: dict[str, float]) -> float:
        """The probability that the answer is right; 0 when its passage holds none of the
        question's words (``support`` 0: no evidence at all, as for a string that asks nothing;
        no held-in question, answerable or not, reads so)."""
        if features.get("support") == 0.0:
            return 0.0
        z = self.weights.get("bias", 0.0) + sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def bundled(cls) -> Calibration:
        try:
            text = resources.files("ttqa.answering").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        data = json.loads(text)
        return cls(weights=data["weights"], threshold=float(data["threshold"]), meta=data.get("meta", {}))

    def to_json(self) -> str:
        return json.dumps(
            {"weights": self.weights, "threshold": self.threshold, "meta": self.meta},
            ensure_ascii=False,
            indent=1,
        )
