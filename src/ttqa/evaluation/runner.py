"""Run an evaluation set against a QA index and compute every metric.

Retrieval metrics come from ranx (Hit@k, MRR@10, nDCG@10) at two levels:
article (a retrieved passage belongs to a gold article) and answer (a retrieved
passage contains a gold answer). Answer metrics are EM/F1 on normalised
syllables, sentence hit rate and citation precision; abstention is judged by
precision/recall on unanswerable questions and the AUROC of the confidence.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ttqa.evaluation.datasets import EvalQuestion
from ttqa.evaluation.metrics import SPAN_ERRORS, auroc, contains_answer, exact_match, span_error, token_f1
from ttqa.qa import QA
from ttqa.reading.base import Passage, Reader
from ttqa.retrieval.retriever import Mode

KS = (1, 3, 5, 10)


@dataclass(slots=True)
class QuestionResult:
    id: str
    tags: list[str]
    answerable: bool
    asked: bool = False
    doc_run: dict[str, float] = field(default_factory=dict)
    chunk_run: dict[str, float] = field(default_factory=dict)
    answer: str | None = None
    abstained: bool = True
    confidence: float = 0.0
    em: float = 0.0
    f1: float = 0.0
    sentence_hit: float = 0.0
    citation_precision: float | None = None
    top_em: float = 0.0
    top_f1: float = 0.0
    search_ms: float = 0.0
    ask_ms: float = 0.0


def _ranx(qrels: dict[str, dict[str, int]], runs: dict[str, dict[str, float]], k: int) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ranx import Qrels, Run, evaluate

        metrics = [f"hit_rate@{n}" for n in KS if n <= k] + [f"mrr@{k}", f"ndcg@{k}"]
        qids = [q for q in qrels if qrels[q]]
        if not qids:
            return {}
        run = {q: runs.get(q) or {"__none__": 0.0} for q in qids}
        scores = evaluate(Qrels({q: qrels[q] for q in qids}), Run(run), metrics, make_comparable=True)
    names = {f"hit_rate@{n}": f"Hit@{n}" for n in KS} | {f"mrr@{k}": f"MRR@{k}", f"ndcg@{k}": f"nDCG@{k}"}
    return {names[m]: 100.0 * float(v) for m, v in scores.items()}


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.asarray(values)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95))}


def _answered_at(r: QuestionResult, threshold: float) -> bool:
    """Whether ``r`` is answered at ``threshold`` (confidence 0.0: the reader found no span)."""
    return r.confidence >= threshold and r.confidence > 0.0


class OpenEvaluation:
    """Questions against an index: retrieval, answers, abstention, latency."""

    def __init__(self, qa: QA, *, k: int = 10) -> None:
        self.qa = qa
        self.k = k

    def answer_qrels(self, q: EvalQuestion) -> dict[str, int]:
        rel: dict[str, int] = {}
        for doc_id in q.doc_ids:
            for chunk in self.qa.store.doc_chunks(doc_id):
                if contains_answer(chunk.text, q.answers):
                    rel[chunk.chunk_id] = 1
        return rel

    def withheld(self, question: str, mode: Mode) -> str | None:
        """The best span of an abstained question: what a lower threshold would have answered."""
        best = self.qa.answerer.read(question, mode=mode)[3].best
        return best.text if best else None

    def tradeoff(self, results: Sequence[QuestionResult]) -> list[dict[str, float | None]]:
        """Answered share, right answers among them (F1 >= 0.5) and unanswerable questions
        abstained on, at confidence thresholds around the shipped one."""
        ans = [r for r in results if r.answerable]
        unans = [r for r in results if not r.answerable]
        shipped = self.qa.answerer.calibration.threshold
        rows = []
        for t in sorted({0.0, 0.1, 0.2, 0.3, round(shipped, 4), 0.7}):
            answered = [r for r in ans if _answered_at(r, t)]
            rows.append(
                {
                    "threshold": t,
                    "answered": 100 * len(answered) / len(ans),
                    "right_of_answered": (
                        100 * float(np.mean([r.top_f1 >= 0.5 for r in answered])) if answered else 0.0
                    ),
                    "EM": 100 * sum(r.top_em for r in answered) / len(ans),
                    "F1": 100 * sum(r.top_f1 for r in answered) / len(ans),
                    "unanswerable_abstained": (
                        100 * float(np.mean([not _answered_at(r, t) for r in unans])) if unans else None
                    ),
                }
            )
        return rows

    def run(
        self,
        questions: Sequence[EvalQuestion],
        mode: Mode,
        *,
        answers: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> list[QuestionResult]:
        out = []
        clear = getattr(self.qa.embedder, "clear_cache", None)
        if questions:  # warm up (model load, first-call allocations) outside the timings
            self.qa.ask(questions[0].question, mode=mode) if answers else self.qa.search(
                questions[0].question
            )
        for q in questions:
            r = QuestionResult(q.id, q.tags, q.answerable)
            if clear:
                clear()  # time cold queries: no memoised question vector
            t0 = time.perf_counter()
            hits = self.qa.search(q.question, k=self.k, mode=mode)
            r.search_ms = (time.perf_counter() - t0) * 1000
            for h in hits:
                r.doc_run.setdefault(h.doc_id, float(self.k - h.rank + 1))
                r.chunk_run[h.chunk_id] = float(self.k - h.rank + 1)
            if answers:
                if clear:
                    clear()
                t0 = time.perf_counter()
                ans = self.qa.ask(q.question, mode=mode)
                r.ask_ms = (time.perf_counter() - t0) * 1000
                r.asked = True
                r.answer, r.abstained, r.confidence = ans.text, ans.abstained, ans.confidence
                if q.answerable:
                    r.em = exact_match(ans.text, q.answers)
                    r.f1 = token_f1(ans.text, q.answers)
                    top = ans.text if not ans.abstained else self.withheld(q.question, mode)
                    r.top_em, r.top_f1 = exact_match(top, q.answers), token_f1(top, q.answers)
                    sentence = ans.sentence or ""
                    r.sentence_hit = float(bool(sentence) and contains_answer(sentence, q.answers))
                    if ans.citations:
                        good = sum(contains_answer(c.quote, q.answers) for c in ans.citations)
                        r.citation_precision = good / len(ans.citations)
            out.append(r)
            if progress:
                progress(1)
        return out

    def summarise(
        self, questions: Sequence[EvalQuestion], results: Sequence[QuestionResult]
    ) -> dict[str, Any]:
        by_id = {q.id: q for q in questions}
        doc_qrels = {q.id: dict.fromkeys(q.doc_ids, 1) for q in questions if q.answerable and q.doc_ids}
        ans_qrels = {q.id: self.answer_qrels(q) for q in questions if q.answerable}
        summary = self._block(doc_qrels, ans_qrels, results)
        tags = sorted({t for q in questions for t in q.tags})
        summary["by_tag"] = {}
        for tag in tags:
            subset = [r for r in results if tag in by_id[r.id].tags]
            summary["by_tag"][tag] = self._block(doc_qrels, ans_qrels, subset)
        return summary

    def _block(
        self,
        doc_qrels: dict[str, dict[str, int]],
        ans_qrels: dict[str, dict[str, int]],
        results: Sequence[QuestionResult],
    ) -> dict[str, Any]:
        ids = {r.id for r in results}
        asked = all(r.asked for r in results)
        ans = [r for r in results if r.answerable and asked]
        unans = [r for r in results if not r.answerable and asked]
        block: dict[str, Any] = {
            "n": len(results),
            "answerable": sum(r.answerable for r in results),
            "unanswerable": sum(not r.answerable for r in results),
        }
        block["retrieval_article"] = _ranx(
            {q: v for q, v in doc_qrels.items() if q in ids}, {r.id: r.doc_run for r in results}, self.k
        )
        block["retrieval_answer"] = _ranx(
            {q: v for q, v in ans_qrels.items() if q in ids}, {r.id: r.chunk_run for r in results}, self.k
        )
        if ans:
            cps = [r.citation_precision for r in ans if r.citation_precision is not None]
            answered = [r for r in ans if not r.abstained]
            block["answers"] = {
                "EM": 100 * float(np.mean([r.em for r in ans])),
                "F1": 100 * float(np.mean([r.f1 for r in ans])),
                "sentence_hit": 100 * float(np.mean([r.sentence_hit for r in ans])),
                "citation_precision": 100 * float(np.mean(cps)) if cps else None,
                "answered": 100 * float(np.mean([not r.abstained for r in ans])),
                "top_span_EM": 100 * float(np.mean([r.top_em for r in ans])),
                "top_span_F1": 100 * float(np.mean([r.top_f1 for r in ans])),
                "right_when_answered": (
                    100 * float(np.mean([r.f1 >= 0.5 for r in answered])) if answered else None
                ),
            }
        if ans and unans:
            abstained_unans = sum(r.abstained for r in unans)
            abstained_all = sum(r.abstained for r in results)
            score = auroc([r.confidence for r in ans], [r.confidence for r in unans])
            block["abstention"] = {
                "precision": 100 * abstained_unans / abstained_all if abstained_all else None,
                "recall": 100 * abstained_unans / len(unans),
                "AUROC": score,
            }
        block["latency_ms"] = {
            "search": _percentiles([r.search_ms for r in results]),
            "ask": _percentiles([r.ask_ms for r in results if r.ask_ms]),
        }
        return block


def reading_comprehension(
    reader: Reader,
    questions: Sequence[EvalQuestion],
    progress: Callable[[int], None] | None = None,
    documents: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """Gold text given: EM/F1 of the reader's best span, reading the question's gold paragraph
    (SQuAD sets) or its whole first gold article (``documents(doc_id)``: its stored text); the
    share of each :func:`~ttqa.evaluation.metrics.span_error` in ``errors``, and each
    question's answer in ``per_question``."""
    ems, f1s, lat = [], [], []
    rows: list[dict[str, Any]] = []
    for q in questions:
        text = q.context
        if text is None and documents is not None and q.doc_ids:
            text = documents(q.doc_ids[0])
        if text is None or not q.answers:
            continue
        t0 = time.perf_counter()
        reading = reader.read(q.question, [Passage(q.doc_ids[0], text, 0, len(text))], top=1, whole=True)
        lat.append((time.perf_counter() - t0) * 1000)
        best = reading.best.text if reading.best else None
        ems.append(exact_match(best, q.answers))
        f1s.append(token_f1(best, q.answers))
        rows.append(
            {
                "id": q.id,
                "answer": best,
                "em": ems[-1],
                "f1": round(f1s[-1], 4),
                "error": span_error(best, q.answers),
            }
        )
        if progress:
            progress(1)
    kinds = Counter(r["error"] for r in rows)
    return {
        "n": len(ems),
        "EM": 100 * float(np.mean(ems)) if ems else None,
        "F1": 100 * float(np.mean(f1s)) if f1s else None,
        "errors": {k: 100 * kinds[k] / len(rows) for k in SPAN_ERRORS} if rows else {},
        "latency_ms": _percentiles(lat),
        "per_question": rows,
    }
