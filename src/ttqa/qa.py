"""The public entry point: ``QA.load`` / ``QA.build``, ``qa.search``, ``qa.document``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ttqa.answering.answerer import Answerer
from ttqa.chunking import ChunkingParams
from ttqa.embedding.base import Embedder
from ttqa.embedding.factory import DEFAULT_EMBEDDER, make_embedder
from ttqa.errors import check_question
from ttqa.index.builder import BuildReport, ProgressFactory, build_index
from ttqa.index.dense import FaissDenseIndex
from ttqa.index.layout import current_version_dir
from ttqa.index.lexical import BM25Index
from ttqa.index.manifest import IndexCorruptError, Manifest
from ttqa.index.store import DocumentStore
from ttqa.retrieval import FusionParams, Mode, Retriever
from ttqa.types import Answer, Document, Hit

DEFAULT_INDEX = Path("indexes/default")


class QA:
    """A loaded index plus the model: search (and, later, answer) questions."""

    def __init__(
        self,
        index_dir: Path,
        manifest: Manifest,
        store: DocumentStore,
        retriever: Retriever,
        build_report: BuildReport | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self.store = store
        self.retriever = retriever
        self.build_report = build_report
        self._answerer: Answerer | None = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        index_dir: str | Path = DEFAULT_INDEX,
        *,
        embedder: Embedder | None = None,
        chunking: ChunkingParams | None = None,
        fusion: FusionParams | None = None,
        verify: bool = True,
    ) -> QA:
        """Open the live version of ``index_dir``.

        Refuses (``IndexMismatchError``) an index built with another model,
        dimension or chunking, and (``IndexCorruptError``) one whose files do not
        match their checksums; both messages say how to rebuild.
        """
        index_dir = Path(index_dir)
        version_dir = current_version_dir(index_dir)
        manifest = Manifest.load(version_dir)
        if verify:
            manifest.verify_files(version_dir)
        if embedder is None:
            embedder = make_embedder(manifest.embedder)
        manifest.check_compatible(
            fingerprint=embedder.fingerprint,
            dim=manifest.dim,
            chunking=chunking.as_dict() if chunking else None,
        )
        try:
            store = DocumentStore.load(version_dir)
            dense = FaissDenseIndex.load(version_dir)
            bm25 = BM25Index.load(version_dir, manifest.n_chunks)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexCorruptError(
                f"index {version_dir} could not be read ({exc}); rebuild with `ttqa index --rebuild`"
            ) from exc
        if (
            dense.dim != manifest.dim
            or dense.size != manifest.n_chunks
            or len(store.chunks) != manifest.n_chunks
        ):
            raise IndexCorruptError(
                f"index {version_dir} is inconsistent with its manifest; rebuild with `ttqa index --rebuild`"
            )
        retriever = Retriever(store, dense, bm25, embedder, fusion)
        return cls(index_dir, manifest, store, retriever)

    @classmethod
    def build(
        cls,
        corpus_paths: Sequence[str | Path],
        index_dir: str | Path = DEFAULT_INDEX,
        *,
        embedder: Embedder | str | None = None,
        chunking: ChunkingParams | None = None,
        rebuild: bool = False,
        batch_size: int = 32,
        progress: ProgressFactory | None = None,
        on_skip: Callable[[str, str], None] | None = None,
    ) -> QA:
        """Build or incrementally update ``index_dir`` from files/directories, then load it."""
        from ttqa.corpus import load_documents

        if embedder is None or isinstance(embedder, str):
            embedder = make_embedder(embedder or DEFAULT_EMBEDDER)
        skipped: list[tuple[str, str]] = []

        def _skip(where: str, reason: str) -> None:
            skipped.append((where, reason))
            if on_skip is not None:
                on_skip(where, reason)

        report = build_index(
            load_documents(list(corpus_paths), on_skip=_skip),
            index_dir,
            embedder,
            chunking=chunking,
            rebuild=rebuild,
            batch_size=batch_size,
            progress=progress,
        )
        report.skipped = skipped
        qa = cls.load(index_dir, embedder=embedder)
        qa.build_report = report
        return qa

    # ------------------------------------------------------------------ queries
    def search(self, question: str, k: int = 10, mode: Mode | str = Mode.HYBRID) -> list[Hit]:
        """The ``k`` passages that best match ``question`` (hybrid by default)."""
        question = check_question(question)
        return self.retriever.search(question, k=k, mode=mode)

    def ask(self, question: str, *, k: int = 8, mode: Mode | str = Mode.HYBRID) -> Answer:
        """The extractive answer with numbered citations, or an abstention (``answer.abstained``)."""
        question = check_question(question)
        return self.answerer.ask(question, k=k, mode=mode)

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            self._answerer = Answerer(self.store, self.retriever)
        return self._answerer

    def document(self, doc_id: str) -> Document:
        """The stored article (its ``text`` is what every offset points into)."""
        return self.store.get(doc_id)

    @property
    def embedder(self) -> Embedder:
        return self.retriever.embedder

    def info(self) -> dict[str, Any]:
        return {
            "index_dir": str(self.index_dir),
            "version": self.manifest.version,
            "created": self.manifest.created,
            "documents": len(self.store),
            "chunks": self.manifest.n_chunks,
            "embedder": self.manifest.embedder,
            "embedder_fingerprint": self.manifest.embedder_fingerprint,
            "dim": self.manifest.dim,
            "chunking": self.manifest.chunking,
        }
