"""Dense, BM25 and hybrid (reciprocal-rank fusion) retrieval over a search backend."""

from __future__ import annotations

from dataclasses import dataclass

from ttqa.embedding.base import Embedder
from ttqa.index.backend import FusionParams, Mode, SearchBackend, passage_text, rrf
from ttqa.index.filters import Filters, FiltersLike
from ttqa.retrieval.diacritics import restore_diacritics
from ttqa.schema import Hit
from ttqa.text.normalize import has_diacritics
from ttqa.text.syllable_lm import bundled


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What one search found, and the question as it was read."""

    hits: list[Hit]
    reading: str


class Retriever:
    """Embeds the question, restores its diacritics when it has none, and asks the backend."""

    def __init__(
        self, backend: SearchBackend, embedder: Embedder, fusion: FusionParams | None = None
    ) -> None:
        self.backend = backend
        self.embedder = embedder
        self.fusion = fusion or FusionParams()

    def warm_up(self) -> None:
        """Load the syllable model that restores diacritics before the first unaccented question."""
        bundled()

    def restore(self, question: str, filters: Filters | None = None) -> str:
        """The question with its diacritics restored from the passages BM25 finds (if it had none)."""
        if has_diacritics(question) or self.fusion.restore_from <= 0:
            return question
        found = self.backend.search(question, None, self.fusion.restore_from, Mode.BM25, filters)
        ids = [c for c, _ in found]
        texts = [passage_text(self.backend.get(c.doc_id), c.text) for c in self.backend.get_chunks(ids)]
        return restore_diacritics(question, texts)

    def search(
        self,
        question: str,
        k: int = 10,
        mode: Mode | str = Mode.HYBRID,
        filters: FiltersLike = None,
    ) -> list[Hit]:
        """The ``k`` best passages; with ``filters`` (:mod:`ttqa.index.filters`) only allowed rows."""
        return self.retrieve(question, k, mode, filters).hits

    def retrieve(
        self,
        question: str,
        k: int = 10,
        mode: Mode | str = Mode.HYBRID,
        filters: FiltersLike = None,
    ) -> Retrieval:
        """:meth:`search`, and the question as it was read (diacritics restored if it had none),
        restored once, from the filtered BM25 passages."""
        mode = Mode.parse(mode)
        flt = Filters.parse(filters)
        if k <= 0:
            return Retrieval([], question)
        reading = self.restore(question, flt)
        vector = None if mode is Mode.BM25 else self.embedder.embed_queries([reading])[0]
        found = self.backend.search(question, vector, k, mode, flt)
        return Retrieval(self._hits(found), reading)

    def _hits(self, found: list[tuple[str, float]]) -> list[Hit]:
        chunks = self.backend.get_chunks([c for c, _ in found])
        hits: list[Hit] = []
        for rank, (chunk, (_, score)) in enumerate(zip(chunks, found, strict=True), start=1):
            doc = self.backend.get(chunk.doc_id)
            hits.append(
                Hit(
                    doc_id=doc.doc_id,
                    chunk_id=chunk.chunk_id,
                    title=doc.title,
                    date=doc.date,
                    source=doc.source,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    score=float(score),
                    rank=rank,
                )
            )
        return hits


__all__ = ["FusionParams", "Mode", "Retrieval", "Retriever", "rrf"]
