"""The ``milvus`` search backend: chunks, articles and the manifest in a Milvus server or cluster.

Two collections (see :mod:`ttqa.index.milvus.schema`): ``<collection>`` holds one row per chunk
(e5 vector under HNSW, two BM25 sparse fields fed by ttqa's own tone-folded and accent-folded
terms, offsets, and the filterable ``doc_id``, ``day`` and ``source``); ``<collection>_docs``
holds the article texts every offset points into, and the manifest. An API server therefore
needs nothing but the URI: any number of them can serve the same collection, and an article
written through one is found by all (searches are strongly consistent).

Hybrid search is Milvus's ``hybrid_search`` with ``RRFRanker`` over a dense and a BM25 request;
filters become boolean expressions evaluated by the engine. Network errors and timeouts raise
:class:`~ttqa.index.backend.BackendUnavailableError`, a missing or mismatched collection
``IndexNotFoundError`` / ``IndexMismatchError``, each with a message that says what to do.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from ttqa.index.backend import (
    BackendError,
    BackendUnavailableError,
    FusionParams,
    IndexedChunk,
    Mode,
    UnknownDocumentError,
    required_vector,
    rrf,
)
from ttqa.index.builder import document_hash
from ttqa.index.filters import Filters
from ttqa.index.layout import IndexNotFoundError
from ttqa.index.manifest import IndexMismatchError, Manifest
from ttqa.index.milvus import schema
from ttqa.index.milvus.settings import MilvusSettings
from ttqa.schema import Chunk, Document
from ttqa.settings import load_settings
from ttqa.text.normalize import has_diacritics

# Engine errors are raised to the caller as BackendError with what to check; pymilvus's own
# log lines (a traceback per failed call) would only repeat them.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)

GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": 0}
"""Idle connections send no keepalive pings: a server with gRPC's default ping policy (milvus-lite)
answers pings from idle clients with GOAWAY "too_many_pings" and drops the connection."""
WRITE_BATCH = 256
"""Rows per upsert call."""
QUERY_BATCH = 1000
"""Ids per ``in [...]`` expression."""
DOC_CACHE = 4096
"""Articles kept in memory (checked against the content hash every search returns)."""
DOC_TTL = 30.0
"""Seconds an article read by ``get`` alone (not by a search) is trusted before it is read again."""


def _literal(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _groups(items: Sequence[str], weight: Callable[[str], int], limit: int) -> Iterator[list[str]]:
    """``items`` in order, in groups whose ``weight`` adds up to at most ``limit`` (an item heavier
    than ``limit`` is a group of its own)."""
    group: list[str] = []
    total = 0
    for item in items:
        w = weight(item)
        if group and total + w > limit:
            yield group
            group, total = [], 0
        group.append(item)
        total += w
    if group:
        yield group


def _in(field: str, values: Sequence[str]) -> str:
    return f"{field} in [{', '.join(_literal(v) for v in values)}]"


def filter_expression(filters: Filters | None) -> str:
    """The Milvus boolean expression for ``filters`` (``""``: no constraint)."""
    if filters is None or filters.is_empty:
        return ""
    parts: list[str] = []
    if filters.has_dates:
        parts.append("day >= 0")
        if filters.date_from is not None:
            parts.append(f"day >= {filters.date_from.toordinal()}")
        if filters.date_to is not None:
            parts.append(f"day <= {filters.date_to.toordinal()}")
    if filters.sources:
        parts.append(_in("source", list(filters.sources)))
    return " and ".join(parts)


def _unavailable(settings: MilvusSettings, exc: BaseException) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"cannot reach {settings.describe()}: {exc}. Check that the server is running and that "
        "TTQA_MILVUS_URI (or --milvus-uri) points at it"
    )


class MilvusBackend:
    """Chunks and articles in Milvus; see the module docstring."""

    name = "milvus"

    def __init__(self, client: Any, settings: MilvusSettings, fusion: FusionParams | None = None) -> None:
        self.client = client
        self.settings = settings
        self.fusion = fusion or FusionParams()
        self.ef = 192
        """HNSW ``ef`` of dense searches (at least ``k``)."""
        self._docs: dict[str, tuple[str, Document, float]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ connecting
    @classmethod
    def connect(
        cls, settings: MilvusSettings | None = None, fusion: FusionParams | None = None
    ) -> MilvusBackend:
        """A client for ``settings`` (default: the ``milvus_*`` settings); the collections may be missing."""
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise BackendError("the milvus backend needs pymilvus: pip install 'ttqa[scale]'") from None

        settings = settings or load_settings().milvus
        try:
            client = MilvusClient(
                uri=settings.uri,
                token=settings.token,
                db_name=settings.db_name,
                timeout=settings.timeout,
                grpc_options=GRPC_OPTIONS,
            )
        except Exception as exc:
            raise _unavailable(settings, exc) from None
        return cls(client, settings, fusion)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a client whose server is gone
            self.client.close()

    @contextmanager
    def _calls(self) -> Iterator[None]:
        """Engine errors as :class:`BackendError` with what to check."""
        from pymilvus.exceptions import MilvusException

        try:
            yield
        except MilvusException as exc:
            code = getattr(exc, "code", None)
            message = str(getattr(exc, "message", exc))
            if code in (1, 2) or "unavailable" in message.lower() or "connect" in message.lower():
                raise _unavailable(self.settings, exc) from None
            raise BackendError(f"{self.settings.describe()}: {message}") from None
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise _unavailable(self.settings, exc) from None

    def exists(self) -> bool:
        with self._calls():
            return bool(
                self.client.has_collection(self.settings.collection)
                and self.client.has_collection(self.settings.docs_collection)
            )

    def create(self, manifest: Manifest, *, drop: bool = False) -> None:
        """Create both collections for ``manifest`` (dropped first with ``drop``) and store it."""
        s = self.settings
        with self._calls():
            for name in (s.collection, s.docs_collection):
                if drop and self.client.has_collection(name):
                    self.client.drop_collection(name)
            if not self.client.has_collection(s.collection):
                fields, index = schema.chunk_schema(self.client, manifest.dim)
                self.client.create_collection(
                    s.collection,
                    schema=fields,
                    index_params=index,
                    consistency_level="Strong",
                    num_shards=s.shards,
                )
            if not self.client.has_collection(s.docs_collection):
                fields, index = schema.docs_schema(self.client)
                self.client.create_collection(
                    s.docs_collection, schema=fields, index_params=index, consistency_level="Strong"
                )
            self.client.load_collection(s.collection)
            self.client.load_collection(s.docs_collection)
        self.save_manifest(manifest)

    def manifest(self) -> Manifest:
        """The stored manifest; ``IndexNotFoundError`` when the collections do not exist."""
        s = self.settings
        if not self.exists():
            raise IndexNotFoundError(
                f"no ttqa index in {s.describe()}: build one with "
                "`ttqa index --backend milvus --corpus corpus`"
            )
        with self._calls():
            for name in (s.collection, s.docs_collection):  # a restarted server holds them released
                self.client.load_collection(name)
            rows = self.client.query(
                s.docs_collection, filter=f"key == {_literal(schema.MANIFEST_KEY)}", output_fields=["text"]
            )
        if not rows:
            raise IndexMismatchError(
                f"{s.describe()} holds no ttqa manifest (another application's collection?); "
                "use another collection name or rebuild with `ttqa index --backend milvus --rebuild`"
            )
        return Manifest.model_validate_json(rows[0]["text"])

    def save_manifest(self, manifest: Manifest) -> None:
        row = schema.docs_row(schema.MANIFEST_KEY, "", 0, 1, "", "", manifest.model_dump_json())
        with self._calls():
            self.client.upsert(self.settings.docs_collection, [row])

    # ------------------------------------------------------------------ writing
    def write(self, chunks: Sequence[IndexedChunk]) -> None:
        """Store these articles: each one given is replaced whole by the chunks given for it.

        The chunks are written before the article, so an article whose row exists is complete
        (a build killed in between writes it again when rerun)."""
        if not chunks:
            return
        s = self.settings
        docs: dict[str, Document] = {}
        hashes: dict[str, str] = {}
        by_doc: dict[str, list[IndexedChunk]] = {}
        for c in chunks:
            docs.setdefault(c.document.doc_id, c.document)
            by_doc.setdefault(c.document.doc_id, []).append(c)
        for doc_id, doc in docs.items():
            hashes[doc_id] = document_hash(doc)
        rows = [schema.chunk_row(c, hashes[c.document.doc_id]) for c in chunks]
        doc_ids = list(by_doc)
        with self._calls():
            # Chunks of an earlier version of these articles (other ids) go first: one filtered
            # delete per group of articles (each delete scans the collection).
            for group in _groups(doc_ids, lambda d: len(by_doc[d]), QUERY_BATCH):
                keep = [c.chunk.chunk_id for d in group for c in by_doc[d]]
                expr = f"{_in('doc_id', group)} and not ({_in('chunk_id', keep)})"
                self.client.delete(s.collection, filter=expr)
            for lo in range(0, len(rows), WRITE_BATCH):
                self.client.upsert(s.collection, rows[lo : lo + WRITE_BATCH])
            doc_rows: list[dict[str, Any]] = []
            by_parts: dict[int, list[str]] = {}
            for doc in docs.values():
                parts = schema.document_rows(doc, hashes[doc.doc_id])
                by_parts.setdefault(len(parts), []).append(doc.doc_id)
                doc_rows.extend(parts)
            # Parts beyond an article's new length: one delete per part count and QUERY_BATCH articles.
            for n_parts, ids in sorted(by_parts.items()):
                for lo in range(0, len(ids), QUERY_BATCH):
                    expr = f"{_in('doc_id', ids[lo : lo + QUERY_BATCH])} and part >= {n_parts}"
                    self.client.delete(s.docs_collection, filter=expr)
            for lo in range(0, len(doc_rows), WRITE_BATCH // 4 or 1):
                self.client.upsert(s.docs_collection, doc_rows[lo : lo + (WRITE_BATCH // 4 or 1)])
        with self._lock:
            for doc_id in docs:
                self._docs.pop(doc_id, None)

    def delete(self, doc_ids: Sequence[str]) -> int:
        s = self.settings
        removed = 0
        with self._calls():
            for lo in range(0, len(doc_ids), QUERY_BATCH):
                part = list(doc_ids[lo : lo + QUERY_BATCH])
                expr = _in("doc_id", part)
                removed += self._count(s.collection, expr)
                # The article first: from then on it is incomplete, and a rerun deletes it again.
                self.client.delete(s.docs_collection, filter=expr)
                self.client.delete(s.collection, filter=expr)
        with self._lock:
            for doc_id in doc_ids:
                self._docs.pop(doc_id, None)
        return removed

    def count(self) -> int:
        with self._calls():
            return self._count(self.settings.collection, "")

    def _count(self, collection: str, expr: str) -> int:
        rows = self.client.query(collection, filter=expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def stored_documents(self) -> dict[str, str]:
        """``doc_id -> content hash`` of every complete stored article (all of its parts written)."""
        seen: dict[str, list[Any]] = {}
        with self._calls():
            it = self.client.query_iterator(
                self.settings.docs_collection,
                batch_size=QUERY_BATCH,
                filter=f"key != {_literal(schema.MANIFEST_KEY)}",
                output_fields=["doc_id", "parts", "doc_hash"],
            )
            try:
                while batch := it.next():
                    for row in batch:
                        entry = seen.setdefault(row["doc_id"], [int(row["parts"]), row["doc_hash"], 0])
                        entry[2] += 1 if row["doc_hash"] == entry[1] else 0
            finally:
                it.close()
        return {doc_id: h for doc_id, (parts, h, n) in seen.items() if n == parts}

    # ------------------------------------------------------------------ documents
    def get(self, doc_id: str) -> Document:
        now = time.monotonic()
        with self._lock:
            cached = self._docs.get(doc_id)
        if cached is not None and now - cached[2] < DOC_TTL:
            return cached[1]
        doc = self._read_documents([doc_id]).get(doc_id)
        if doc is None:
            raise UnknownDocumentError(doc_id)
        return doc[1]

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        with self._calls():
            return (
                self._count(self.settings.docs_collection, f"doc_id == {_literal(doc_id)} and part == 0") > 0
            )

    def __len__(self) -> int:
        with self._calls():
            return self._count(
                self.settings.docs_collection, f"part == 0 and key != {_literal(schema.MANIFEST_KEY)}"
            )

    def _read_documents(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, Document]]:
        """Read whole articles (all parts), complete ones only, and cache them."""
        if not doc_ids:
            return {}
        rows: list[dict[str, Any]] = []
        with self._calls():
            for lo in range(0, len(doc_ids), 100):
                rows.extend(
                    self.client.query(
                        self.settings.docs_collection,
                        filter=_in("doc_id", list(doc_ids[lo : lo + 100])),
                        output_fields=["doc_id", "part", "parts", "doc_hash", "meta", "text"],
                    )
                )
        out = schema.documents_from_rows(rows)
        now = time.monotonic()
        with self._lock:
            if len(self._docs) > DOC_CACHE:
                self._docs.clear()
            for doc_id, (h, doc) in out.items():
                self._docs[doc_id] = (h, doc, now)
        return out

    def _documents(self, wanted: dict[str, str]) -> dict[str, Document]:
        """Articles by id, read again when the stored hash differs from the cached one."""
        out: dict[str, Document] = {}
        missing: list[str] = []
        now = time.monotonic()
        with self._lock:
            for doc_id, h in wanted.items():
                cached = self._docs.get(doc_id)
                if cached is not None and cached[0] == h:
                    out[doc_id] = cached[1]
                    self._docs[doc_id] = (h, cached[1], now)  # checked against the store just now
                else:
                    missing.append(doc_id)
        for doc_id, (_, doc) in self._read_documents(missing).items():  # cached as they are read
            out[doc_id] = doc
        return out

    def _chunk_rows(self, expr: str) -> list[dict[str, Any]]:
        with self._calls():
            return list(
                self.client.query(
                    self.settings.collection,
                    filter=expr,
                    output_fields=["chunk_id", "doc_id", "start", "end", "doc_hash"],
                )
            )

    def _to_chunks(self, rows: list[dict[str, Any]]) -> dict[str, Chunk]:
        docs = self._documents({r["doc_id"]: r["doc_hash"] for r in rows})
        out: dict[str, Chunk] = {}
        for r in rows:
            doc = docs.get(r["doc_id"])
            if doc is None:  # the article is being written or deleted right now
                continue
            start, end = int(r["start"]), int(r["end"])
            out[r["chunk_id"]] = Chunk(r["chunk_id"], r["doc_id"], start, end, doc.text[start:end])
        return out

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks, in order; ids no longer stored (deleted meanwhile) are left out."""
        found: dict[str, Chunk] = {}
        for lo in range(0, len(chunk_ids), QUERY_BATCH):
            found.update(
                self._to_chunks(self._chunk_rows(_in("chunk_id", list(chunk_ids[lo : lo + QUERY_BATCH]))))
            )
        return [found[c] for c in chunk_ids if c in found]

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        chunks = self._to_chunks(self._chunk_rows(f"doc_id == {_literal(doc_id)}"))
        return sorted(chunks.values(), key=lambda c: (c.start, c.end))

    # ------------------------------------------------------------------ search
    def search(
        self,
        question_text: str,
        question_vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: Mode,
        filters: Filters | None = None,
    ) -> list[tuple[str, float]]:
        if k <= 0:
            return []
        expr = filter_expression(filters)
        if mode is Mode.BM25:
            return self._bm25(question_text, k, expr)
        vector = required_vector(question_vector)
        if mode is Mode.DENSE:
            return self._dense(vector, k, expr)
        n = max(self.fusion.candidates, k)
        field, terms = self._terms(question_text)
        if not terms:  # nothing for BM25 to match: the dense ranking, scored as fusion would
            dense = self._dense(vector, k, expr)
            w = self.fusion.dense_weight
            return [(c, w / (self.fusion.rrf_k + r)) for r, (c, _) in enumerate(dense, start=1)]
        if self.fusion.dense_weight != 1.0 or self.fusion.bm25_weight != 1.0:
            return self._client_fusion(vector, question_text, n, k, expr)
        from pymilvus import AnnSearchRequest, RRFRanker

        requests = [
            AnnSearchRequest(
                data=[vector.astype(np.float32).tolist()],
                anns_field="vector",
                param={"metric_type": "IP", "params": {"ef": max(self.ef, n)}},
                limit=n,
                expr=expr or None,
            ),
            AnnSearchRequest(
                data=[terms], anns_field=field, param={"metric_type": "BM25"}, limit=n, expr=expr or None
            ),
        ]
        with self._calls():
            res = self.client.hybrid_search(
                self.settings.collection,
                requests,
                ranker=RRFRanker(self.fusion.rrf_k),
                limit=k,
                output_fields=["doc_id"],
            )
        found = [(hit["chunk_id"], float(hit["distance"])) for hit in res[0]]
        return sorted(found, key=lambda cs: (-cs[1], cs[0]))  # ties: the smaller chunk id first

    def _client_fusion(
        self, vector: npt.NDArray[np.float32], text: str, n: int, k: int, expr: str
    ) -> list[tuple[str, float]]:
        dense = [c for c, _ in self._dense(vector, n, expr)]
        bm25 = [c for c, _ in self._bm25(text, n, expr)]
        ids = list(dict.fromkeys([*dense, *bm25]))
        pos = {c: i for i, c in enumerate(ids)}
        fused = rrf(
            [
                ([pos[c] for c in dense], self.fusion.dense_weight),
                ([pos[c] for c in bm25], self.fusion.bm25_weight),
            ],
            self.fusion.rrf_k,
        )
        best = sorted(fused.items(), key=lambda kv: (-kv[1], ids[kv[0]]))[:k]
        return [(ids[i], s) for i, s in best]

    @staticmethod
    def _terms(question: str) -> tuple[str, str]:
        if has_diacritics(question):
            return "sparse", schema.terms(question)
        return "sparse_folded", schema.folded_terms(question)

    def _bm25(self, question: str, k: int, expr: str) -> list[tuple[str, float]]:
        field, terms = self._terms(question)
        if not terms:
            return []
        with self._calls():
            res = self.client.search(
                self.settings.collection,
                data=[terms],
                anns_field=field,
                limit=k,
                filter=expr,
                output_fields=["doc_id"],
                search_params={"metric_type": "BM25"},
            )
        # Ranked best first; some servers give BM25 as a negative distance: the magnitude is the score.
        return [(hit["chunk_id"], abs(float(hit["distance"]))) for hit in res[0]]

    def _dense(self, vector: npt.NDArray[np.float32], k: int, expr: str) -> list[tuple[str, float]]:
        with self._calls():
            res = self.client.search(
                self.settings.collection,
                data=[vector.astype(np.float32).tolist()],
                anns_field="vector",
                limit=k,
                filter=expr,
                output_fields=["doc_id"],
                search_params={"metric_type": "IP", "params": {"ef": max(self.ef, k)}},
            )
        return [(hit["chunk_id"], float(hit["distance"])) for hit in res[0]]


__all__ = ["MilvusBackend", "filter_expression"]
