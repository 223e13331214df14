"""Build or update an index directory from a corpus.

Incremental and resumable: documents are compared with the live version by
content hash; passages are embedded only when their vector is not already in the
embedding cache, and vectors are committed to the cache batch by batch, so a
stopped build resumes where it left off. The new version is published atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ttqa.embedding.base import Embedder, Vectors
from ttqa.errors import TTQAInputError
from ttqa.index.backend import PASSAGE_TEMPLATE, IndexedChunk, passage_text
from ttqa.index.embcache import EmbeddingCache, quarantine_cache
from ttqa.index.layout import (
    EMBCACHE,
    IndexNotFoundError,
    build_lock,
    current_version_dir,
    new_staging_dir,
    publish,
    sha256_file,
)
from ttqa.index.local.backend import LocalBackend
from ttqa.index.local.store import ChunkTable
from ttqa.index.manifest import IndexCorruptError, Manifest
from ttqa.ingest.chunking import Chunker, ChunkingParams, content_hash
from ttqa.schema import Chunk, Document

log = logging.getLogger("ttqa.index")


class EmptyCorpusError(TTQAInputError):
    """The corpus gave no document to index (every input empty, unsupported or skipped)."""


@dataclass(slots=True)
class BuildReport:
    """What a build did."""

    index_dir: str
    version: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    n_documents: int = 0
    n_chunks: int = 0
    embedded: int = 0
    cached: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    up_to_date: bool = False

    @property
    def chunks_per_second(self) -> float:
        return self.embedded / self.embed_seconds if self.embed_seconds > 0 else 0.0

    def summary(self) -> str:
        if self.up_to_date:
            head = f"index {self.index_dir} is up to date ({self.version}): {self.n_documents} documents"
        else:
            head = (
                f"index {self.index_dir} -> {self.version}: {self.n_documents} documents, "
                f"{self.n_chunks} chunks; added {len(self.added)}, updated {len(self.updated)}, "
                f"removed {len(self.removed)}, kept {self.kept}; embedded {self.embedded} passages "
                f"({self.cached} from cache)"
            )
            if self.embedded:
                head += f" at {self.chunks_per_second:.1f} chunks/s"
        if self.skipped:
            head += f"; skipped {len(self.skipped)} input(s)"
        return head + f" in {self.seconds:.1f} s"


def document_hash(doc: Document) -> str:
    payload = json.dumps([doc.text, doc.title, doc.date, doc.source, doc.author, doc.url], ensure_ascii=False)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


ProgressFactory = Callable[[int, str], "Progress"]


class Progress:
    """Minimal progress sink; the CLI passes a tqdm-backed one."""

    def update(self, n: int) -> None:  # pragma: no cover - trivial
        pass

    def close(self) -> None:  # pragma: no cover - trivial
        pass


def tqdm_progress(total: int, desc: str, unit: str = "chunk") -> Progress:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, smoothing=0.05)

    class _Bar(Progress):
        def update(self, n: int) -> None:
            bar.update(n)

        def close(self) -> None:
            bar.close()

    return _Bar()


def build_index(
    documents: Iterable[Document],
    index_dir: str | Path,
    embedder: Embedder,
    *,
    chunking: ChunkingParams | None = None,
    rebuild: bool = False,
    batch_size: int = 32,
    progress: ProgressFactory | None = None,
    skipped: Sequence[tuple[str, str]] = (),
) -> BuildReport:
    """Build (or incrementally update) the index in ``index_dir`` from ``documents``."""
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    chunker = Chunker(chunking)
    with build_lock(index_dir):
        previous = _previous_manifest(index_dir, rebuild)
        docs: list[Document] = []
        seen: set[str] = set()
        for doc in documents:
            if doc.doc_id in seen:
                log.warning("duplicate doc_id %s skipped", doc.doc_id)
                continue
            seen.add(doc.doc_id)
            docs.append(doc)
        hashes = {d.doc_id: document_hash(d) for d in docs}
        old = previous.documents if previous else {}
        report = BuildReport(index_dir=str(index_dir), version="", skipped=list(skipped))
        report.added = [d for d in hashes if d not in old]
        report.updated = [d for d in hashes if d in old and old[d] != hashes[d]]
        report.removed = [d for d in old if d not in hashes]
        report.kept = len(hashes) - len(report.added) - len(report.updated)
        report.n_documents = len(docs)
        if not docs:
            raise EmptyCorpusError(
                "no documents to index: every corpus input was empty, unsupported or skipped "
                "(see the warnings); the index is unchanged"
            )

        fingerprint = embedder.fingerprint
        dim = embedder.dim
        if (
            previous is not None
            and not (report.added or report.updated or report.removed)
            and previous.embedder_fingerprint == fingerprint
            and previous.chunking == chunker.params.as_dict()
            and _intact(index_dir, previous)
        ):
            report.version = previous.version
            report.up_to_date = True
            report.n_chunks = previous.n_chunks
            report.seconds = time.perf_counter() - t0
            return report

        table = ChunkTable()
        texts: list[str] = []
        pairs: list[tuple[Chunk, Document]] = []
        for doc in docs:
            for chunk in chunker.split(doc):
                text = passage_text(doc, chunk.text)
                table.append(chunk, content_hash(text))
                texts.append(text)
                pairs.append((chunk, doc))
        report.n_chunks = len(table)

        te = time.perf_counter()
        try:
            vectors = _embed_all(index_dir, embedder, table.hashes, texts, batch_size, progress, report)
        except sqlite3.DatabaseError as exc:
            # A damaged embedding cache is only a cache: set it aside and embed again.
            log.warning("embedding cache %s is damaged (%s); starting a new one", index_dir / EMBCACHE, exc)
            quarantine_cache(index_dir / EMBCACHE)
            vectors = _embed_all(index_dir, embedder, table.hashes, texts, batch_size, progress, report)
        report.embed_seconds = time.perf_counter() - te

        staging, version = new_staging_dir(index_dir)
        records = [
            IndexedChunk(chunk, doc, vectors[row], table.hashes[row])
            for row, (chunk, doc) in enumerate(pairs)
        ]
        LocalBackend.from_chunks(records).save(staging)
        files = {
            str(p.relative_to(staging)): sha256_file(p) for p in sorted(staging.rglob("*")) if p.is_file()
        }
        Manifest(
            version=version,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            embedder=embedder.name,
            embedder_fingerprint=fingerprint,
            dim=dim,
            chunking=chunker.params.as_dict(),
            passage_template=PASSAGE_TEMPLATE,
            documents=hashes,
            n_chunks=len(table),
            files=files,
        ).save(staging)
        publish(index_dir, staging, version)
        report.version = version
        report.seconds = time.perf_counter() - t0
        return report


def _embed_all(
    index_dir: Path,
    embedder: Embedder,
    hashes: Sequence[str],
    texts: Sequence[str],
    batch_size: int,
    progress: ProgressFactory | None,
    report: BuildReport,
) -> Vectors:
    """Vectors of every passage: from the cache, the missing ones embedded (and cached) first."""
    with EmbeddingCache(index_dir / EMBCACHE, embedder.fingerprint, embedder.dim) as cache:
        todo = cache.missing(hashes)
        report.cached = len(set(hashes)) - len(todo)
        _embed_missing(embedder, cache, hashes, texts, todo, batch_size, progress)
        report.embedded = len(todo)
        return cache.get_many(hashes)


def _intact(index_dir: Path, manifest: Manifest) -> bool:
    """Whether the live version's files still match their checksums (else: build a new one)."""
    try:
        manifest.verify_files(current_version_dir(index_dir))
    except (IndexCorruptError, IndexNotFoundError, OSError) as exc:
        log.warning("live index version is damaged (%s); building a new version", exc)
        return False
    return True


def _previous_manifest(index_dir: Path, rebuild: bool) -> Manifest | None:
    if rebuild:
        return None
    try:
        return Manifest.load(current_version_dir(index_dir))
    except IndexNotFoundError:
        return None  # a new index
    except IndexCorruptError as exc:
        log.warning("previous index not usable (%s); building from scratch", exc)
        return None


def _embed_missing(
    embedder: Embedder,
    cache: EmbeddingCache,
    hashes: Sequence[str],
    texts: Sequence[str],
    todo: Sequence[str],
    batch_size: int,
    progress: ProgressFactory | None,
) -> None:
    if not todo:
        return
    text_of: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        text_of.setdefault(h, t)
    # Longest first: batches of similar length waste no padding, and the
    # progress bar's rate only improves as the run goes on.
    order = sorted(todo, key=lambda h: len(text_of[h]), reverse=True)
    bar = progress(len(order), "embedding") if progress else Progress()
    try:
        step = batch_size * 4
        for lo in range(0, len(order), step):
            part = order[lo : lo + step]
            vecs = embedder.embed_passages([text_of[h] for h in part], batch_size=batch_size)
            cache.put(part, np.asarray(vecs, dtype=np.float32))
            bar.update(len(part))
    finally:
        bar.close()


__all__ = ["BuildReport", "EmptyCorpusError", "build_index", "document_hash", "passage_text", "tqdm_progress"]
