"""Training questions from every source, in one shape: a question, a text, its answer spans.

Sources (each read by one function):

* SQuAD-style sets: UIT-ViQuAD 1.0 dev (a flat JSON list), the UIT-ViQuAD 2.0 sample and the
  news "who" snippets of ``qa_train/`` (JSON Lines with ``is_impossible``);
* ttqa's own JSONL questions (``evals/party_org_train.jsonl``) over the articles of a corpus,
  with every occurrence of a gold answer in the article as a target;
* cloze questions made from news articles (:mod:`ttqa.training.cloze`).

Every text is NFC; records whose answer is not at its offset after normalisation are repaired
by searching the answer, or dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ttqa.errors import TTQAInputError
from ttqa.text.normalize import nfc

EVALUATION_ONLY = ("xquad", "seed.jsonl", "domain.jsonl")
"""Sets ttqa is measured on; the loaders refuse them."""


@dataclass(frozen=True, slots=True)
class Example:
    """A question over ``text`` with gold ``answers`` (character spans; empty: not answerable
    from ``text``). ``negatives``: other passages known not to answer it (near misses)."""

    id: str
    question: str
    text: str
    answers: tuple[tuple[int, int], ...]
    source: str
    group: str = ""
    negatives: tuple[str, ...] = field(default=())

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    def with_negatives(self, negatives: Sequence[str]) -> Example:
        return replace(self, negatives=tuple(negatives))


class TrainingDataError(TTQAInputError):
    """A training file is missing, malformed, or one of the evaluation sets."""


def refuse_evaluation_sets(path: Path) -> None:
    name = str(path).lower()
    for marker in EVALUATION_ONLY:
        if marker in name:
            raise TrainingDataError(f"{path} is an evaluation set; ttqa never trains on it")


def _span(context: str, text: str, start: int | None) -> tuple[int, int] | None:
    """The answer's span in ``context``: at ``start`` if it is there, else its nearest occurrence."""
    text = nfc(text).strip()
    if not text:
        return None
    if start is not None and context[start : start + len(text)] == text:
        return start, start + len(text)
    found = [m.start() for m in re.finditer(re.escape(text), context)]
    if not found:
        return None
    best = min(found, key=lambda s: abs(s - (start or 0)))
    return best, best + len(text)


def _squad_record(row: Mapping[str, Any], source: str, group: str) -> Example | None:
    context = nfc(str(row["context"]))
    question = nfc(str(row["question"])).strip()
    impossible = bool(row.get("is_impossible", False))
    spans: list[tuple[int, int]] = []
    if not impossible:
        for ans in row.get("answers", []):
            span = _span(context, str(ans.get("text", "")), ans.get("answer_start"))
            if span is not None and span not in spans:
                spans.append(span)
        if not spans:
            return None  # an answer that is not in its context: dropped
    return Example(str(row["id"]), question, context, tuple(spans), source, group=group)


def load_squad_like(path: Path, source: str | None = None) -> list[Example]:
    """A flat JSON list, SQuAD JSON (``data -> paragraphs -> qas``) or JSON Lines of
    ``{id, context, question, answers[, is_impossible, title]}``."""
    refuse_evaluation_sets(path)
    if not path.is_file():
        raise TrainingDataError(f"{path}: no such file")
    source = source or path.stem
    rows: list[tuple[Mapping[str, Any], str]] = []
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    rows.append((row, str(row.get("title") or "")))
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "data" in data:
            for art in data["data"]:
                for para in art["paragraphs"]:
                    for qa in para["qas"]:
                        rows.append(({**qa, "context": para["context"]}, str(art.get("title") or "")))
        elif isinstance(data, list):
            rows = [(row, str(row.get("title") or "")) for row in data]
        else:
            raise TrainingDataError(f"{path}: neither SQuAD JSON, a list of records nor JSON Lines")
    out = []
    for row, title in rows:
        ex = _squad_record(row, source, title)
        if ex is not None:
            out.append(ex)
    return out


def load_ttqa_questions(path: Path, articles: Mapping[str, str], source: str | None = None) -> list[Example]:
    """ttqa's JSONL questions over ``articles`` (doc_id -> stored text): every occurrence of
    every gold answer in the question's articles is a target."""
    refuse_evaluation_sets(path)
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            answers = [nfc(a) for a in row.get("answers", []) if a.strip()]
            for doc_id in row.get("doc_ids", []):
                text = articles.get(str(doc_id))
                if text is None:
                    continue
                # The preferred (first) answer where the article has it, else the first variant.
                spans: list[tuple[int, int]] = []
                for a in answers:
                    spans = [(m.start(), m.end()) for m in re.finditer(re.escape(a), text)]
                    if spans:
                        break
                if answers and not spans:
                    continue
                out.append(
                    Example(
                        str(row["id"]),
                        nfc(row["question"]),
                        text,
                        tuple(spans),
                        source or path.stem,
                        str(doc_id),
                    )
                )
                break
    return out


def group_by(examples: Iterable[Example]) -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {}
    for ex in examples:
        out.setdefault(ex.group or ex.id, []).append(ex)
    return out
