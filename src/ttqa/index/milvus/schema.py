"""The two Milvus collections of a ttqa index, and their rows.

``<collection>`` (one row per chunk):

========================  ==================================================================
``chunk_id``              primary key
``doc_id``                filterable; ``start``/``end``: offsets into the article text
``day``, ``source``       filterable: the article's day (``date.toordinal()``, -1 unknown) and
                          its outlet, normalised as :func:`ttqa.index.filters.normalise_source`
``doc_hash``              the article's content hash (caches check it)
``vector``                e5 passage vector, HNSW (inner product)
``terms``                 ttqa's tone-folded syllables -> ``sparse`` (BM25 function)
``terms_folded``          accent-folded syllables -> ``sparse_folded`` (BM25 function), for
                          questions typed without diacritics
========================  ==================================================================

The terms are ttqa's own tokens (NFC, lower-case, tone-folded, one-letter syllables kept), each
written as a single ``\\w+`` word (the separators inside "6.666" or "19/11/2020" are spelt as
letters), so that the ``standard`` analyzer of milvus-lite and of a cluster split them alike.

``<collection>_docs`` (the articles): ``key`` (``doc_id`` + part), ``doc_id``, ``part``/``parts``
(texts over :data:`PART_BYTES` are split), ``doc_hash``, ``meta`` (title, date, source, author,
url, path, extra as JSON) and ``text``; plus one row holding the manifest. Milvus requires a
vector field in every collection: ``_v`` is a constant placeholder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ttqa.index.backend import IndexedChunk
from ttqa.index.filters import document_day, normalise_source
from ttqa.schema import Document
from ttqa.text.normalize import tokenize, tokenize_folded

MANIFEST_KEY = "manifest"
"""The manifest row's key (an article part's key is ``"<part>:<doc_id>"``)."""
PART_BYTES = 60_000
"""Largest article part in UTF-8 bytes (a VARCHAR holds at most 65,535)."""
ID_LENGTH = 2048
HNSW = {"M": 32, "efConstruction": 80}
BM25 = {"bm25_k1": 1.5, "bm25_b": 0.75}
"""The BM25 parameters of the local backend (bm25s defaults)."""
ANALYZER = {"tokenizer": "standard"}

_SEPARATORS = str.maketrans({".": "_p", ",": "_c", "/": "_s", ":": "_k", "-": "_h"})


def _words(tokens: Iterable[str]) -> str:
    return " ".join(t.translate(_SEPARATORS) for t in tokens)


def terms(text: str) -> str:
    """The BM25 text of the ``terms`` field (and of a question typed with diacritics)."""
    return _words(tokenize(text))


def folded_terms(text: str) -> str:
    """The BM25 text of the ``terms_folded`` field (and of a question typed without)."""
    return _words(tokenize_folded(text))


def chunk_schema(client: Any, dim: int) -> tuple[Any, Any]:
    from pymilvus import DataType, Function, FunctionType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=ID_LENGTH + 64)
    s.add_field("doc_id", DataType.VARCHAR, max_length=ID_LENGTH)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    s.add_field("day", DataType.INT64)
    s.add_field("source", DataType.VARCHAR, max_length=512)
    s.add_field("doc_hash", DataType.VARCHAR, max_length=64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    for text_field, sparse in (("terms", "sparse"), ("terms_folded", "sparse_folded")):
        s.add_field(
            text_field, DataType.VARCHAR, max_length=65_535, enable_analyzer=True, analyzer_params=ANALYZER
        )
        s.add_field(sparse, DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(
            Function(
                name=f"bm25_{text_field}",
                function_type=FunctionType.BM25,
                input_field_names=[text_field],
                output_field_names=[sparse],
            )
        )
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params=dict(HNSW))
    for sparse in ("sparse", "sparse_folded"):
        index.add_index(
            field_name=sparse, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=dict(BM25)
        )
    return s, index


def docs_schema(client: Any) -> tuple[Any, Any]:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=ID_LENGTH + 16)
    s.add_field("doc_id", DataType.VARCHAR, max_length=ID_LENGTH)
    s.add_field("part", DataType.INT64)
    s.add_field("parts", DataType.INT64)
    s.add_field("doc_hash", DataType.VARCHAR, max_length=64)
    s.add_field("meta", DataType.VARCHAR, max_length=65_535)
    s.add_field("text", DataType.VARCHAR, max_length=65_535)
    s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index(field_name="_v", index_type="FLAT", metric_type="L2")
    return s, index


def chunk_row(c: IndexedChunk, doc_hash: str) -> dict[str, Any]:
    doc, passage = c.document, c.passage
    day = document_day(doc.date)
    return {
        "chunk_id": c.chunk.chunk_id,
        "doc_id": doc.doc_id,
        "start": c.chunk.start,
        "end": c.chunk.end,
        "day": day.toordinal() if day else -1,
        "source": normalise_source(doc.source) if doc.source else "",
        "doc_hash": doc_hash,
        "vector": [float(x) for x in c.vector.reshape(-1)],
        "terms": terms(passage),
        "terms_folded": folded_terms(passage),
    }


def split_text(text: str, limit: int = PART_BYTES) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-8 bytes, cut between characters."""
    parts: list[str] = []
    data = text.encode("utf-8")
    lo = 0
    while lo < len(data):
        hi = min(lo + limit, len(data))
        while hi < len(data) and (data[hi] & 0xC0) == 0x80:  # not inside a character
            hi -= 1
        parts.append(data[lo:hi].decode("utf-8"))
        lo = hi
    return parts or [""]


def docs_row(
    key: str, doc_id: str, part: int, parts: int, doc_hash: str, meta: str, text: str
) -> dict[str, Any]:
    return {
        "key": key,
        "doc_id": doc_id,
        "part": part,
        "parts": parts,
        "doc_hash": doc_hash,
        "meta": meta,
        "text": text,
        "_v": [0.0, 0.0],
    }


def document_rows(doc: Document, doc_hash: str) -> list[dict[str, Any]]:
    meta = doc.to_dict()
    del meta["text"], meta["doc_id"]
    encoded = json.dumps(meta, ensure_ascii=False)
    pieces = split_text(doc.text)
    return [
        docs_row(f"{i}:{doc.doc_id}", doc.doc_id, i, len(pieces), doc_hash, encoded if i == 0 else "", piece)
        for i, piece in enumerate(pieces)
    ]


def documents_from_rows(rows: Iterable[dict[str, Any]]) -> dict[str, tuple[str, Document]]:
    """Whole articles (``doc_id -> (hash, Document)``) from their rows; incomplete ones left out."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault(r["doc_id"], []).append(r)
    out: dict[str, tuple[str, Document]] = {}
    for doc_id, parts in grouped.items():
        parts.sort(key=lambda r: int(r["part"]))
        n = int(parts[0]["parts"])
        if [int(r["part"]) for r in parts] != list(range(n)) or len({r["doc_hash"] for r in parts}) != 1:
            continue
        meta = json.loads(parts[0]["meta"] or "{}")
        text = "".join(r["text"] for r in parts)
        out[doc_id] = (parts[0]["doc_hash"], Document(doc_id=doc_id, text=text, **meta))
    return out
