"""Evaluation sets: ttqa's own JSONL format and SQuAD-format reading-comprehension sets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttqa.errors import TTQAInputError
from ttqa.text.normalize import nfc


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One question of an evaluation set (empty ``answers`` = unanswerable)."""

    id: str
    question: str
    answers: list[str]
    doc_ids: list[str]
    tags: list[str] = field(default_factory=list)
    context: str | None = None  # the gold paragraph, for reading-comprehension sets

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


class EvalFormatError(TTQAInputError):
    """An evaluation file does not follow the documented format."""


def load_jsonl(path: str | Path) -> list[EvalQuestion]:
    """ttqa's format: one ``{id, question, answers, doc_ids, tags}`` object per line."""
    out: list[EvalQuestion] = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append(
                    EvalQuestion(
                        id=str(row["id"]),
                        question=nfc(row["question"]),
                        answers=[nfc(a) for a in row.get("answers", [])],
                        doc_ids=[str(d) for d in row.get("doc_ids", [])],
                        tags=[str(t) for t in row.get("tags", [])],
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise EvalFormatError(f"{path}:{n}: not an evaluation record ({exc})") from None
    return out


def load_squad(path: str | Path) -> list[EvalQuestion]:
    """SQuAD v1 JSON (``data -> paragraphs -> qas``) or a flat list of ``{id, context, question, answers}``.

    Each paragraph gets a stable id (``<set>-p<N>``) used as its ``doc_id``.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise EvalFormatError(f"no .json file in {path}")
        path = files[0]
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    stem = path.parent.name if path.parent.name else path.stem
    out: list[EvalQuestion] = []
    paragraph_ids: dict[str, str] = {}

    def pid(context: str) -> str:
        return paragraph_ids.setdefault(context, f"{stem}-p{len(paragraph_ids):04d}")

    if isinstance(data, dict) and "data" in data:
        for article in data["data"]:
            for para in article["paragraphs"]:
                ctx = nfc(para["context"])
                for qa in para["qas"]:
                    out.append(_rc(qa["id"], qa["question"], qa.get("answers", []), ctx, pid(ctx)))
    elif isinstance(data, list):
        for row in data:
            ctx = nfc(row["context"])
            out.append(_rc(row["id"], row["question"], row.get("answers", []), ctx, pid(ctx)))
    else:
        raise EvalFormatError(f"{path}: neither SQuAD JSON nor a list of records")
    return out


def _rc(qid: str, question: str, answers: list[dict[str, Any]], context: str, doc_id: str) -> EvalQuestion:
    golds = list(dict.fromkeys(nfc(a["text"]) for a in answers if a.get("text")))
    return EvalQuestion(id=str(qid), question=nfc(question), answers=golds, doc_ids=[doc_id], context=context)


def load_any(path: str | Path) -> list[EvalQuestion]:
    p = Path(path)
    if p.suffix == ".jsonl":
        return load_jsonl(p)
    return load_squad(p)
