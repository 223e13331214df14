"""Synthetic indexes of any size, grown from a real one (the 606- or the 35,440-article index).

Row ``i < n_real`` is real row ``i`` (its e5 vector, its text); every further row is a **repeat of
real row ``i mod n_real``'s text** for BM25 (and for the document store, as copy ``i // n_real``
of that article), and for the dense index, by ``$TTQA_BENCH_SYNTHETIC``:

* ``random`` (default): a random unit vector — the worst case for a graph index (no structure);
* ``jitter``: real row ``i mod n_real``'s vector plus Gaussian noise, renormalised to cosine ~0.9
  with it — the real data's clusters, each row copied with a perturbation.

Real questions therefore still find real passages, while every index holds ``n`` rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from bench_common import dir_size_mb, live_version

from ttqa.embedding.base import Embedder
from ttqa.index.backend import PASSAGE_TEMPLATE
from ttqa.index.local.backend import LocalBackend
from ttqa.index.local.dense import DENSE, FaissDenseIndex
from ttqa.index.local.lexical import BM25Index
from ttqa.index.local.store import ChunkTable, DocumentStore
from ttqa.index.manifest import Manifest
from ttqa.qa import QA
from ttqa.retrieval.retriever import Retriever

Vectors = npt.NDArray[np.float32]
KIND_ENV = "TTQA_BENCH_SYNTHETIC"
JITTER_COS = 0.9
"""Cosine between a jittered copy and its real row."""


def synthetic_kind() -> str:
    kind = os.environ.get(KIND_ENV, "random")
    if kind not in ("random", "jitter"):
        raise SystemExit(f"{KIND_ENV}={kind!r}: use random or jitter")
    return kind


def kind_note(kind: str | None = None) -> str:
    kind = kind or synthetic_kind()
    dense = (
        "random unit vectors"
        if kind == "random"
        else f"real vectors plus noise (cosine {JITTER_COS} to the row they copy)"
    )
    return f"first n_real rows real; the rest {dense} (dense) and repeated real texts (BM25)"


@dataclass(slots=True)
class Base:
    """The real index the synthetic ones grow from."""

    index_dir: Path
    version: str
    manifest: Manifest
    store: DocumentStore
    vectors: Vectors
    texts: list[str]

    @property
    def n_real(self) -> int:
        return len(self.texts)


def load_base(index_dir: Path) -> Base:
    version = live_version(index_dir)
    if version is None:
        raise SystemExit(f"no index in {index_dir}")
    store = DocumentStore.load(version)
    ids, vectors = FaissDenseIndex.load(version, mmap=False).vectors()
    order = np.argsort(ids)
    texts = [store.passage_text(i) for i in range(len(store.chunks))]
    return Base(index_dir, version.name, Manifest.load(version), store, vectors[order], texts)


def synthetic_vectors(base: Base, n: int, seed: int = 0) -> Vectors:
    dim = base.vectors.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    m = min(n, base.n_real)
    out[:m] = base.vectors[:m]
    rng = np.random.default_rng(seed)
    jitter = synthetic_kind() == "jitter"
    # Noise of norm t orthogonal (in expectation) to a unit row: cosine 1 / sqrt(1 + t^2).
    sigma = float(np.sqrt(1.0 / JITTER_COS**2 - 1.0) / np.sqrt(dim))
    for lo in range(m, n, 100_000):
        hi = min(n, lo + 100_000)
        block = rng.standard_normal((hi - lo, dim), dtype=np.float32)
        if jitter:
            block = base.vectors[np.arange(lo, hi) % base.n_real] + sigma * block
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[lo:hi] = block
    return out


def synthetic_texts(base: Base, n: int) -> list[str]:
    return [base.texts[i % base.n_real] for i in range(n)]


def synthetic_store(base: Base, n: int) -> DocumentStore:
    """Row ``i`` = chunk ``i mod n_real`` of copy ``i // n_real`` of its article."""
    real = base.store.chunks
    copies = -(-n // base.n_real)
    docs = []
    for r in range(copies):
        for doc in base.store:
            docs.append(doc if r == 0 else dataclasses.replace(doc, doc_id=f"{doc.doc_id}~{r}"))
    table = ChunkTable()
    for i in range(n):
        j, r = i % base.n_real, i // base.n_real
        suffix = "" if r == 0 else f"~{r}"
        table.chunk_ids.append(real.chunk_ids[j] + suffix)
        table.doc_ids.append(real.doc_ids[j] + suffix)
        table.starts.append(real.starts[j])
        table.ends.append(real.ends[j])
        table.hashes.append(real.hashes[j])
    return DocumentStore(docs, table)


def synthetic_dir(work: Path, base: Base, n: int, exact_max: int) -> Path:
    kind = synthetic_kind()
    tag = "" if kind == "random" else f"-{kind}"
    return work / f"synthetic-{base.manifest.embedder}-{base.n_real}-{n}-x{exact_max}{tag}"


def cached_build(folder: Path, base: Base) -> dict[str, Any] | None:
    """The recorded build of ``folder`` if it is complete and grown from this base version."""
    meta = folder / "build.json"
    if not meta.is_file() or not (folder / DENSE).is_file():
        return None
    data: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
    if data.get("base_index") != str(base.index_dir) or data.get("base_version") != base.version:
        return None
    return data


def build_synthetic(base: Base, n: int, folder: Path, exact_max: int, seed: int = 0) -> dict[str, Any]:
    """Build and save the dense and BM25 indexes of ``n`` rows; timings and sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "build.json").unlink(missing_ok=True)
    t = time.perf_counter()
    vectors = synthetic_vectors(base, n, seed)
    texts = synthetic_texts(base, n)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    dense = FaissDenseIndex.build(vectors, exact_max=exact_max)
    dense_s = time.perf_counter() - t
    del vectors
    dense.save(folder)
    t = time.perf_counter()
    bm25 = BM25Index.build(texts)
    bm25_s = time.perf_counter() - t
    bm25.save(folder)
    result: dict[str, Any] = {
        "n": n,
        "n_real": min(n, base.n_real),
        "synthetic": kind_note() if n > base.n_real else "all rows real",
        "base_index": str(base.index_dir),
        "base_version": base.version,
        "embedder": base.manifest.embedder,
        "exact_max": exact_max,
        "kind": dense.kind,
        "ef_search": dense.ef_search,
        "calibration": dense.calibration,
        "generate_s": round(gen_s, 2),
        "dense_build_s": round(dense_s, 2),
        "bm25_build_s": round(bm25_s, 2),
        "dense_mb": dir_size_mb(folder / DENSE),
        "bm25_mb": round(dir_size_mb(folder / "bm25") + dir_size_mb(folder / "bm25_folded"), 2),
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / "build.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def synthetic_qa(base: Base, n: int, folder: Path, embedder: Embedder) -> QA:
    """A ``QA`` over the saved synthetic indexes and an in-memory synthetic document store."""
    dense = FaissDenseIndex.load(folder)
    bm25 = BM25Index.load(folder, n)
    store = synthetic_store(base, n)
    manifest = base.manifest.model_copy(
        update={
            "version": f"synthetic-{n}",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "passage_template": PASSAGE_TEMPLATE,
            "documents": {},
            "n_chunks": n,
            "files": {},
        }
    )
    backend = LocalBackend(store, dense, bm25)
    return QA(folder, manifest, backend, Retriever(backend, embedder))
