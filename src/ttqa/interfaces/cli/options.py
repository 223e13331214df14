"""Command-line options shared by every command that opens an index: where it lives."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ttqa.errors import TTQAInputError
from ttqa.index.backend import BackendError
from ttqa.index.layout import IndexLockedError, IndexNotFoundError
from ttqa.index.manifest import IndexCorruptError, IndexMismatchError
from ttqa.qa import QA, backend_name
from ttqa.settings import Settings, load_settings

BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="Where the index lives: local (files in --index) or milvus (a Milvus server or cluster, "
        "TTQA_MILVUS_URI). Default: $TTQA_BACKEND, else local.",
    ),
]
MilvusUriOpt = Annotated[
    str | None,
    typer.Option("--milvus-uri", help="Milvus URI (default: $TTQA_MILVUS_URI, else http://127.0.0.1:19530)."),
]
MilvusCollectionOpt = Annotated[
    str | None,
    typer.Option(
        "--milvus-collection", help="Milvus collection (default: $TTQA_MILVUS_COLLECTION, else ttqa)."
    ),
]

LOAD_ERRORS = (
    IndexNotFoundError,
    IndexMismatchError,
    IndexCorruptError,
    IndexLockedError,
    BackendError,
    TTQAInputError,
)
"""What opening or building an index may raise, each with a message that says what to do."""


def cli_settings(
    backend: str | None, uri: str | None, collection: str | None, *, threads: int | None = None
) -> Settings:
    """The settings (``TTQA_*``, see :mod:`ttqa.settings`) with the command line's options on top
    (the Milvus token and database come from ``TTQA_MILVUS_TOKEN`` / ``TTQA_MILVUS_DB`` only)."""
    chosen = backend_name(backend) if backend else None
    return load_settings().with_(
        backend=chosen, milvus_uri=uri, milvus_collection=collection, threads=threads
    )


def load_qa(
    index: Path, backend: str | None, uri: str | None, collection: str | None, *, threads: int | None = None
) -> QA:
    """Open the index (raises one of :data:`LOAD_ERRORS`)."""
    return QA.load(index, settings=cli_settings(backend, uri, collection, threads=threads))
