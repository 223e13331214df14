"""The public entry point: ``QA.load`` / ``QA.build``, ``qa.search``, ``qa.document``."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ttqa.answering.answerer import Answerer
from ttqa.embedding.base import Embedder
from ttqa.embedding.factory import DEFAULT_EMBEDDER, make_embedder
from ttqa.errors import TTQAInputError
from ttqa.index.backend import FusionParams, Mode, SearchBackend, UnknownDocumentError
from ttqa.index.builder import BuildReport, ProgressFactory, build_index
from ttqa.index.filters import FiltersLike
from ttqa.index.layout import current_version_dir
from ttqa.index.local.backend import LocalBackend
from ttqa.index.manifest import IndexCorruptError, Manifest
from ttqa.index.milvus.settings import MilvusSettings
from ttqa.ingest.chunking import ChunkingParams
from ttqa.retrieval.retriever import Retriever
from ttqa.schema import Answer, Document, Hit
from ttqa.settings import Settings, check_backend, load_settings
from ttqa.validation import check_k, check_question

DEFAULT_INDEX = Path("indexes/default")


def backend_name(name: str | None = None, settings: Settings | None = None) -> str:
    """``name``, else the ``backend`` setting (``TTQA_BACKEND``, default ``"local"``);
    ``UnknownBackendError`` for others."""
    return check_backend(name) if name else (settings or load_settings()).backend


DocumentInput = str | Path | Mapping[str, Any] | Document
"""What ``qa.add_documents`` accepts: a corpus file/directory, a record ``{id, title, text, ...}``
(as in a JSONL corpus) or a :class:`Document`."""


class QA:
    """A loaded index plus the model: search (and, later, answer) questions."""

    def __init__(
        self,
        index_dir: Path,
        manifest: Manifest,
        store: SearchBackend,
        retriever: Retriever,
        build_report: BuildReport | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        """What this QA was loaded with (threads, backend, Milvus connection)."""
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
        backend: str | None = None,
        milvus: MilvusSettings | None = None,
        settings: Settings | None = None,
    ) -> QA:
        """Open the live version of ``index_dir`` (the ``local`` backend), or with
        ``backend="milvus"`` (or the ``backend`` setting) the index in a Milvus server or
        cluster (``milvus``, default: the ``milvus_*`` settings). ``settings``: default
        :func:`ttqa.settings.load_settings` (the ``TTQA_*`` environment variables).

        Refuses (``IndexMismatchError``) an index built with another model,
        dimension or chunking, and (``IndexCorruptError``) one whose files do not
        match their checksums; both messages say how to rebuild.
        """
        settings = settings or load_settings()
        if backend_name(backend, settings) == "milvus":
            return cls._load_milvus(
                milvus or settings.milvus, settings, embedder=embedder, chunking=chunking, fusion=fusion
            )
        index_dir = Path(index_dir)
        version_dir = current_version_dir(index_dir)
        manifest = Manifest.load(version_dir)
        if verify:
            manifest.verify_files(version_dir)
        embedder = _checked_embedder(manifest, embedder, chunking, settings.threads)
        try:
            local = LocalBackend.load(version_dir, manifest.n_chunks, fusion)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexCorruptError(
                f"index {version_dir} could not be read ({exc}); rebuild with `ttqa index --rebuild`"
            ) from exc
        if (
            local.dense.dim != manifest.dim
            or local.dense.size != manifest.n_chunks
            or local.count() != manifest.n_chunks
        ):
            raise IndexCorruptError(
                f"index {version_dir} is inconsistent with its manifest; rebuild with `ttqa index --rebuild`"
            )
        retriever = Retriever(local, embedder, fusion)
        return cls(index_dir, manifest, local, retriever, settings=settings)

    @classmethod
    def _load_milvus(
        cls,
        milvus: MilvusSettings,
        settings: Settings,
        *,
        embedder: Embedder | None,
        chunking: ChunkingParams | None,
        fusion: FusionParams | None,
    ) -> QA:
        from ttqa.index.milvus.backend import MilvusBackend

        backend = MilvusBackend.connect(milvus, fusion)
        manifest = backend.manifest()
        embedder = _checked_embedder(manifest, embedder, chunking, settings.threads)
        retriever = Retriever(backend, embedder, fusion)
        return cls(Path(backend.settings.describe()), manifest, backend, retriever, settings=settings)

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
        backend: str | None = None,
        milvus: MilvusSettings | None = None,
        ray_address: str | None = None,
        settings: Settings | None = None,
    ) -> QA:
        """Build or incrementally update ``index_dir`` from files/directories, then load it.

        With ``backend="milvus"`` the index goes into Milvus (``milvus`` settings, default from
        the environment), embedded on the Ray cluster at ``ray_address`` when given."""
        from ttqa.ingest.loader import load_documents

        settings = settings or load_settings()
        if embedder is None or isinstance(embedder, str):
            embedder = make_embedder(embedder or DEFAULT_EMBEDDER, threads=settings.threads)
        skipped: list[tuple[str, str]] = []

        def _skip(where: str, reason: str) -> None:
            skipped.append((where, reason))
            if on_skip is not None:
                on_skip(where, reason)

        documents = load_documents(list(corpus_paths), on_skip=_skip)
        if backend_name(backend, settings) == "milvus":
            from ttqa.index.milvus.backend import MilvusBackend
            from ttqa.index.milvus.build import build_milvus

            target = MilvusBackend.connect(milvus or settings.milvus)
            try:
                report = build_milvus(
                    documents,
                    target,
                    embedder,
                    chunking=chunking,
                    rebuild=rebuild,
                    batch_size=batch_size,
                    progress=progress,
                    ray_address=ray_address,
                )
            finally:
                target.close()
        else:
            report = build_index(
                documents,
                index_dir,
                embedder,
                chunking=chunking,
                rebuild=rebuild,
                batch_size=batch_size,
                progress=progress,
            )
        report.skipped = skipped
        qa = cls.load(index_dir, embedder=embedder, backend=backend, milvus=milvus, settings=settings)
        qa.build_report = report
        return qa

    # ------------------------------------------------------------------ queries
    def search(
        self,
        question: str,
        k: int = 10,
        mode: Mode | str = Mode.HYBRID,
        filters: FiltersLike = None,
    ) -> list[Hit]:
        """The ``k`` passages that best match ``question`` (hybrid by default).

        ``filters`` (``{"date_from": "2020-01-01", "date_to": ..., "sources": ["ĐTO"]}`` or a
        :class:`ttqa.index.filters.Filters`) restricts the search to matching articles before
        ranking; see :mod:`ttqa.index.filters` for the semantics (partial dates are excluded by a
        date filter). Bad filters raise ``InvalidFilterError`` (a ``TTQAInputError``).
        """
        question = check_question(question)
        return self.retriever.search(question, k=check_k(k), mode=mode, filters=filters)

    def ask(
        self,
        question: str,
        *,
        k: int = 8,
        mode: Mode | str = Mode.HYBRID,
        filters: FiltersLike = None,
    ) -> Answer:
        """The extractive answer with numbered citations, or an abstention (``answer.abstained``).

        With ``filters`` the answer and every citation come from matching articles only.
        Bad input (empty question, ``k`` < 1, unknown mode, bad filters) raises a
        :class:`~ttqa.errors.TTQAInputError` (a ``ValueError``).
        """
        question = check_question(question)
        return self.answerer.ask(question, k=check_k(k), mode=mode, filters=filters)

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            self._answerer = Answerer(self.store, self.retriever, threads=self.settings.threads)
        return self._answerer

    def warm_up(self) -> None:
        """Load the embedder, the reader (exported on first use) and the syllable model that
        restores diacritics, so that the first question does not wait for them."""
        self.embedder.embed_queries(["khởi động"])
        self.answerer.warm_up()

    def document(self, doc_id: str) -> Document:
        """The stored article (its ``text`` is what every offset points into)."""
        return self.store.get(doc_id)

    @property
    def embedder(self) -> Embedder:
        return self.retriever.embedder

    # ------------------------------------------------------------------ updates
    _update_lock: ClassVar[threading.Lock] = threading.Lock()
    """Updates in this process run one at a time (the build lock would refuse a second one)."""

    def add_documents(
        self,
        items: Iterable[DocumentInput] | DocumentInput,
        *,
        batch_size: int = 32,
        progress: ProgressFactory | None = None,
    ) -> BuildReport:
        """Add (or replace) articles, update the index directory incrementally and reload in place.

        ``items``: corpus files or directories (any format ``ttqa index`` reads), records
        ``{id, title, text, date?, source?, author?, url?}`` (cleaned like JSONL records), or
        :class:`Document` objects (taken as given, text NFC-normalised). A document whose
        ``doc_id`` is already stored replaces the stored one. Only new or changed passages are
        embedded. Unreadable corpus files are reported in ``report.skipped``; a missing path
        or a record without text raises ``TTQAInputError`` before anything changes.

        Queries running in other threads keep using the previous version until the new one
        is loaded; this object then serves the new one.
        """
        new_docs, skipped = _collect_documents(items)
        if not isinstance(self.store, LocalBackend):
            report = self._write_milvus(new_docs, batch_size=batch_size, progress=progress)
            report.skipped = skipped + report.skipped
            return report
        with self._update_lock:
            replaced = {d.doc_id for d in new_docs}
            kept = [d for d in self.store if d.doc_id not in replaced]  # type: ignore[attr-defined]
            report = self._rebuild([*kept, *new_docs], batch_size=batch_size, progress=progress)
        report.skipped = skipped + report.skipped
        return report

    def remove_documents(
        self,
        doc_ids: Iterable[str] | str,
        *,
        progress: ProgressFactory | None = None,
    ) -> BuildReport:
        """Remove articles by ``doc_id``, rebuild the index directory without them, reload in place.

        Raises ``UnknownDocumentError`` (a ``KeyError``) naming the first unknown id, and
        ``TTQAInputError`` when nothing would be left; in both cases nothing changes.
        """
        ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        store = self.store
        if not isinstance(store, LocalBackend):
            for doc_id in ids:
                if doc_id not in store:
                    raise UnknownDocumentError(doc_id)
            if len(store) <= len(set(ids)):
                raise TTQAInputError("cannot remove every document: an index needs at least one")
            started = time.perf_counter()
            store.delete(ids)
            report = BuildReport(index_dir=str(self.index_dir), version=self.manifest.version, removed=ids)
            report.n_documents, report.n_chunks = len(store), store.count()
            report.seconds = time.perf_counter() - started
            return report
        with self._update_lock:
            for doc_id in ids:
                if doc_id not in store:
                    raise UnknownDocumentError(doc_id)
            drop = set(ids)
            kept = [d for d in store if d.doc_id not in drop]
            if not kept:
                raise TTQAInputError("cannot remove every document: an index needs at least one")
            return self._rebuild(kept, progress=progress)

    def _write_milvus(
        self, documents: list[Document], *, batch_size: int, progress: ProgressFactory | None
    ) -> BuildReport:
        """Add or replace ``documents`` in the Milvus collections (every replica sees them at once)."""
        from ttqa.index.milvus.backend import MilvusBackend
        from ttqa.index.milvus.build import build_milvus

        assert isinstance(self.store, MilvusBackend)
        chunking = self._chunking()
        return build_milvus(
            documents,
            self.store,
            self.embedder,
            chunking=chunking,
            only_add=True,
            batch_size=batch_size,
            progress=progress,
        )

    def _chunking(self) -> ChunkingParams:
        """The chunking this index was built with (new articles are cut the same way)."""
        return ChunkingParams(
            chunk_size=int(self.manifest.chunking["chunk_size"]),
            chunk_overlap=int(self.manifest.chunking["chunk_overlap"]),
        )

    def _rebuild(
        self, documents: list[Document], *, batch_size: int = 32, progress: ProgressFactory | None = None
    ) -> BuildReport:
        """Build ``documents`` into this index directory (same model and chunking), then swap in."""
        chunking = self._chunking()
        report = build_index(
            documents,
            self.index_dir,
            self.embedder,
            chunking=chunking,
            batch_size=batch_size,
            progress=progress,
        )
        fresh = QA.load(self.index_dir, embedder=self.embedder, fusion=self.retriever.fusion)
        if self._answerer is None:
            answerer = fresh.answerer
        else:  # same reader (and its sentence cache), calibration and settings; new store/retriever
            answerer = copy.copy(self._answerer)
            answerer.store = fresh.store
            answerer.retriever = fresh.retriever
        # Each query reads ``self.retriever`` or ``self.answerer`` once, and each of those holds
        # its own consistent store, so a query in flight never mixes two versions.
        self.manifest = fresh.manifest
        self.store = fresh.store
        self.retriever = fresh.retriever
        self._answerer = answerer
        self.build_report = report
        return report

    def info(self) -> dict[str, Any]:
        return {
            "index_dir": str(self.index_dir),
            "backend": self.store.name,
            "version": self.manifest.version,
            "created": self.manifest.created,
            "documents": len(self.store),
            "chunks": self.store.count(),
            "embedder": self.manifest.embedder,
            "embedder_fingerprint": self.manifest.embedder_fingerprint,
            "dim": self.manifest.dim,
            "chunking": self.manifest.chunking,
        }


def _checked_embedder(
    manifest: Manifest, embedder: Embedder | None, chunking: ChunkingParams | None, threads: int = 0
) -> Embedder:
    """``embedder`` (default: the one the index was built with), refused (``IndexMismatchError``)
    when the index was built with another model or chunking."""
    if embedder is None:
        embedder = make_embedder(manifest.embedder, threads=threads)
    manifest.check_compatible(
        fingerprint=embedder.fingerprint,
        dim=manifest.dim,
        chunking=chunking.as_dict() if chunking else None,
    )
    return embedder


def _collect_documents(
    items: Iterable[DocumentInput] | DocumentInput,
) -> tuple[list[Document], list[tuple[str, str]]]:
    """Documents from paths, records and Document objects; later duplicates replace earlier ones."""
    from ttqa.ingest.loader import load_documents, record_document

    if isinstance(items, str | Path | Mapping | Document):
        items = [items]
    docs: dict[str, Document] = {}
    skipped: list[tuple[str, str]] = []

    def _skip(where: str, reason: str) -> None:
        skipped.append((where, reason))

    for n, item in enumerate(items, start=1):
        if isinstance(item, Document):
            if not isinstance(item.text, str) or not item.text.strip():
                raise TTQAInputError(f"document {item.doc_id!r} has no text")
            text = unicodedata.normalize("NFC", item.text)
            docs[item.doc_id] = item if text == item.text else dataclasses.replace(item, text=text)
        elif isinstance(item, Mapping):
            before = len(skipped)
            doc = record_document(dict(item), f"add_documents#{n}", set(), _skip)
            if doc is None:
                reasons = "; ".join(reason for _, reason in skipped[before:]) or "no text"
                raise TTQAInputError(f"record {n} cannot be added: {reasons}")
            docs[doc.doc_id] = doc
        elif isinstance(item, str | Path):
            if not Path(item).exists():
                raise TTQAInputError(f"corpus path not found: {item}")
            for doc in load_documents([item], on_skip=_skip):
                docs[doc.doc_id] = doc
        else:
            raise TTQAInputError(
                f"cannot add {type(item).__name__}: give paths, records {{id, title, text}} or Documents"
            )
    if not docs:
        detail = f" ({len(skipped)} input(s) skipped)" if skipped else ""
        raise TTQAInputError(f"no document to add{detail}")
    return list(docs.values()), skipped
