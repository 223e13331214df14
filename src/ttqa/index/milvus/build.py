"""Build or update an index held in Milvus, embedding on a Ray cluster when one is given.

Incremental by content hash, like the local build: an article whose stored hash matches is
left alone, a new or changed one is chunked, embedded and written (its article row last, so
only complete articles count as stored), and, unless only adding, an article no longer in the
corpus is deleted. A build killed at any point is resumed by running it again: what was
complete is kept, what was half-written is written again under the same chunk ids (upserts),
so no chunk is duplicated or lost.

Embedding runs in this process, or with ``ray_address`` on a Ray cluster (``"local"`` starts
one on this machine): a pool of actors, one embedder each, embeds batches of articles while
this process writes the finished ones.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ttqa.embedding.base import Embedder, Vectors
from ttqa.index.backend import PASSAGE_TEMPLATE, BackendError, IndexedChunk, passage_text
from ttqa.index.builder import BuildReport, EmptyCorpusError, Progress, ProgressFactory, document_hash
from ttqa.index.manifest import Manifest
from ttqa.index.milvus.backend import MilvusBackend
from ttqa.ingest.chunking import Chunker, ChunkingParams, content_hash
from ttqa.schema import Chunk, Document

log = logging.getLogger("ttqa.index")

DOCS_PER_BATCH = 32
"""Articles embedded and written together (a resumed build redoes at most one batch per worker)."""


@dataclass(frozen=True, slots=True)
class _Batch:
    docs: list[Document]
    chunks: list[Chunk]
    passages: list[str]


def _batches(docs: Sequence[Document], chunker: Chunker, size: int) -> Iterator[_Batch]:
    for lo in range(0, len(docs), size):
        part = list(docs[lo : lo + size])
        chunks = [c for d in part for c in chunker.split(d)]
        of = {d.doc_id: d for d in part}
        yield _Batch(part, chunks, [passage_text(of[c.doc_id], c.text) for c in chunks])


def _records(batch: _Batch, vectors: Vectors) -> list[IndexedChunk]:
    of = {d.doc_id: d for d in batch.docs}
    return [
        IndexedChunk(
            c, of[c.doc_id], np.asarray(vectors[i], dtype=np.float32), content_hash(batch.passages[i])
        )
        for i, c in enumerate(batch.chunks)
    ]


def new_manifest(embedder: Embedder, chunker: Chunker) -> Manifest:
    return Manifest(
        version="milvus",
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        embedder=embedder.name,
        embedder_fingerprint=embedder.fingerprint,
        dim=embedder.dim,
        chunking=chunker.params.as_dict(),
        passage_template=PASSAGE_TEMPLATE,
        documents={},
        n_chunks=0,
        backend="milvus",
    )


def build_milvus(
    documents: Iterable[Document],
    backend: MilvusBackend,
    embedder: Embedder,
    *,
    chunking: ChunkingParams | None = None,
    rebuild: bool = False,
    only_add: bool = False,
    batch_size: int = 32,
    progress: ProgressFactory | None = None,
    ray_address: str | None = None,
    ray_workers: int | None = None,
    docs_per_batch: int | None = None,
) -> BuildReport:
    """Build (or update) the index in ``backend``'s collections from ``documents``."""
    t0 = time.perf_counter()
    chunker = Chunker(chunking)
    docs: dict[str, Document] = {}
    for doc in documents:
        if doc.doc_id in docs:
            log.warning("duplicate doc_id %s skipped", doc.doc_id)
            continue
        docs[doc.doc_id] = doc
    if not docs:
        raise EmptyCorpusError(
            "no documents to index: every corpus input was empty, unsupported or skipped "
            "(see the warnings); the index is unchanged"
        )
    manifest = new_manifest(embedder, chunker)
    if rebuild or not backend.exists():
        backend.create(manifest, drop=rebuild)
    else:
        stored = backend.manifest()
        stored.check_compatible(
            fingerprint=embedder.fingerprint, dim=embedder.dim, chunking=chunker.params.as_dict()
        )
        manifest = stored
    old = backend.stored_documents()
    hashes = {d: document_hash(doc) for d, doc in docs.items()}
    report = BuildReport(index_dir=backend.settings.describe(), version="milvus")
    report.added = [d for d in hashes if d not in old]
    report.updated = [d for d in hashes if d in old and old[d] != hashes[d]]
    report.removed = [] if only_add else [d for d in old if d not in hashes]
    report.kept = len(hashes) - len(report.added) - len(report.updated)
    todo = [docs[d] for d in [*report.added, *report.updated]]

    te = time.perf_counter()
    batches = list(_batches(todo, chunker, max(1, docs_per_batch or DOCS_PER_BATCH)))
    total = sum(len(b.chunks) for b in batches)
    bar = progress(total, "embedding") if progress and total else Progress()
    try:
        embed = _ray_embed(embedder, ray_address, ray_workers, batch_size) if ray_address else None
        results = (
            embed(batches)
            if embed
            else ((b, embedder.embed_passages(b.passages, batch_size=batch_size)) for b in batches)
        )
        for batch, vectors in results:
            backend.write(_records(batch, vectors))
            report.embedded += len(batch.chunks)
            bar.update(len(batch.chunks))
    finally:
        bar.close()
    report.embed_seconds = time.perf_counter() - te
    if report.removed:
        backend.delete(report.removed)
    report.n_chunks = backend.count()
    report.n_documents = len(old) - len(report.removed) + len(report.added)
    report.up_to_date = not (report.added or report.updated or report.removed)
    backend.save_manifest(manifest.model_copy(update={"n_chunks": report.n_chunks}))
    report.seconds = time.perf_counter() - t0
    return report


LOCAL_RAY_TRIES = 3
"""How many times ``ray_address="local"`` tries to start a Ray head before giving up."""


def init_ray(ray: Any, address: str, workers: int | None) -> None:
    """Join the Ray cluster at ``address``, or start one here (``"local"``).

    A local start is tried three times: on a busy machine Ray's raylet can miss the fixed 30 s
    it is given to register with the head (Ray raises a bare ``Exception`` for that) and start
    fine the next time."""
    tries = LOCAL_RAY_TRIES if address == "local" else 1
    for attempt in range(1, tries + 1):
        try:
            if address == "local":
                os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "60")
                ray.init(num_cpus=workers or 2, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
            return
        except Exception as exc:  # Ray's start-up timeout is a bare Exception
            ray.shutdown()
            if attempt == tries:
                raise BackendError(f"could not start or join the Ray cluster {address!r}: {exc}") from exc
            log.warning("starting Ray failed (%s); trying again", exc)


def _ray_embed(
    embedder: Embedder, address: str, workers: int | None, batch_size: int
) -> Callable[[list[_Batch]], Iterator[tuple[_Batch, Vectors]]]:
    """Embed batches on a Ray cluster: one single-threaded actor per CPU (or ``workers``), each
    with its own embedder."""
    try:
        import ray
    except ImportError:
        raise BackendError("--ray-address needs Ray: pip install 'ttqa[scale]'") from None

    if not ray.is_initialized():
        init_ray(ray, address, workers)
    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    n = workers or max(1, int(cpus))
    name = embedder.name

    @ray.remote(num_cpus=1)
    class _Embedder:
        def __init__(self, spec: str) -> None:
            from ttqa.embedding.factory import make_embedder

            self.embedder = make_embedder(spec, threads=1)  # one CPU per actor: one encoding thread

        def embed(self, passages: list[str]) -> Any:
            return self.embedder.embed_passages(passages, batch_size=batch_size)

        def fingerprint(self) -> str:
            return self.embedder.fingerprint

    actors = [_Embedder.remote(name) for _ in range(n)]  # type: ignore[attr-defined]
    prints = set(ray.get([a.fingerprint.remote() for a in actors]))
    if prints != {embedder.fingerprint}:
        raise RuntimeError(
            f"the Ray workers load another model ({sorted(prints)}), not {embedder.fingerprint}"
        )

    owner: dict[Any, Any] = {}
    """The actor each pending result comes from (it is free again once the result is in)."""

    def run(batches: list[_Batch]) -> Iterator[tuple[_Batch, Vectors]]:
        pending: dict[Any, _Batch] = {}
        queue = list(reversed(batches))
        free = list(actors)
        while queue or pending:
            while queue and free:
                actor = free.pop()
                batch = queue.pop()
                ref = actor.embed.remote(batch.passages)
                pending[ref] = batch
                owner[ref] = actor
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            batch = pending.pop(ref)
            free.append(owner.pop(ref))
            yield batch, np.asarray(ray.get(ref), dtype=np.float32)

    return run


__all__ = ["DOCS_PER_BATCH", "LOCAL_RAY_TRIES", "build_milvus", "init_ray", "new_manifest"]
