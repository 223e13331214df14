"""``ttqa eval``: evaluate sets against indexes, in one or all retrieval modes."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ttqa.evaluation.datasets import EvalQuestion, load_any
from ttqa.evaluation.environment import environment
from ttqa.evaluation.runner import OpenEvaluation, reading_comprehension
from ttqa.index.layout import IndexNotFoundError
from ttqa.qa import QA
from ttqa.retrieval.retriever import Mode
from ttqa.schema import Document

ProgressFactory = Callable[[int, str], Callable[[int], None]]


@dataclass(frozen=True, slots=True)
class EvalOptions:
    modes: tuple[Mode, ...] = (Mode.HYBRID,)
    k: int = 10
    limit: int = 0
    seed: int = 0
    answers: bool = True


def is_eval_set(path: Path) -> bool:
    """An evaluation set (ttqa JSONL with questions, or SQuAD JSON), not a corpus file."""
    if path.is_dir():
        return any(path.glob("*.json"))
    if path.suffix == ".json":
        return True
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    return "question" in json.loads(line)
    return False


def sample(questions: list[EvalQuestion], limit: int, seed: int) -> list[EvalQuestion]:
    if not limit or limit >= len(questions):
        return questions
    rng = random.Random(seed)
    picked = sorted(rng.sample(range(len(questions)), limit))
    return [questions[i] for i in picked]


def paragraph_documents(questions: Sequence[EvalQuestion]) -> list[Document]:
    """The distinct gold paragraphs of a reading-comprehension set, as documents."""
    docs: dict[str, Document] = {}
    for q in questions:
        if q.context is not None and q.doc_ids and q.doc_ids[0] not in docs:
            docs[q.doc_ids[0]] = Document(doc_id=q.doc_ids[0], text=q.context)
    return list(docs.values())


def corpus_index_dir(corpus: Sequence[Path]) -> Path:
    key = hashlib.blake2b("\n".join(str(p.resolve()) for p in corpus).encode(), digest_size=6).hexdigest()
    return Path("indexes") / f"corpus-{key}"


def evaluate_set(
    path: Path,
    *,
    index_dir: Path | None,
    corpus: Sequence[Path],
    options: EvalOptions,
    progress: ProgressFactory | None = None,
    log: Callable[[str], None] = print,
    qa: QA | None = None,
) -> dict[str, Any]:
    """Evaluate one set: against ``qa`` when given (any backend), else a local index (built from
    ``corpus`` first when given)."""
    questions = sample(load_any(path), options.limit, options.seed)
    report: dict[str, Any] = {
        "set": str(path),
        "questions": len(questions),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "k": options.k,
        "limit": options.limit,
        "seed": options.seed,
        **environment(),
    }
    is_rc = any(q.context is not None for q in questions)
    if qa is not None:
        pass
    elif corpus:
        index_dir = index_dir or corpus_index_dir(corpus)
        qa = QA.build(list(corpus), index_dir)
    elif is_rc and index_dir is None:
        # Open retrieval over all of the set's paragraphs (index cached under indexes/).
        full = load_any(path)
        index_dir = Path("indexes") / f"eval-{path.stem if path.is_file() else path.name}"
        from ttqa.embedding.factory import make_embedder
        from ttqa.index.builder import build_index

        build_index(paragraph_documents(full), index_dir, make_embedder())
        qa = QA.load(index_dir)
    else:
        index_dir = index_dir or Path("indexes/default")
        try:
            qa = QA.load(index_dir)
        except IndexNotFoundError:
            log(f"no index in {index_dir}: building it from corpus/")
            qa = QA.build([Path("corpus")], index_dir)
    report["index"] = qa.info()
    gold_in_index = any(q.doc_ids and q.doc_ids[0] in qa.store for q in questions)
    if is_rc or gold_in_index:
        t0 = time.perf_counter()
        bar = progress(len(questions), "reading comprehension") if progress else None

        def stored(doc_id: str) -> str | None:
            return qa.store.get(doc_id).text if doc_id in qa.store else None

        report["reading_comprehension"] = reading_comprehension(qa.answerer.reader, questions, bar, stored)
        report["reading_comprehension"]["seconds"] = time.perf_counter() - t0
    evaluation = OpenEvaluation(qa, k=options.k)
    report["modes"] = {}
    for mode in options.modes:
        t0 = time.perf_counter()
        bar = progress(len(questions), f"{path.name} [{mode.value}]") if progress else None
        results = evaluation.run(questions, mode, answers=options.answers, progress=bar)
        summary = evaluation.summarise(questions, results)
        summary["seconds"] = time.perf_counter() - t0
        if options.answers and any(q.answerable for q in questions):
            summary["tradeoff"] = evaluation.tradeoff(results)
            summary["threshold"] = qa.answerer.calibration.threshold
        summary["per_question"] = [
            {
                "id": r.id,
                "answer": r.answer,
                "abstained": r.abstained,
                "confidence": round(r.confidence, 4),
                "em": r.em,
                "f1": round(r.f1, 4),
            }
            for r in results
        ]
        report["modes"][mode.value] = summary
    return report
