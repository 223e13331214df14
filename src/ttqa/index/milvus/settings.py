"""Where the Milvus backend connects (from the ``milvus_*`` settings or CLI options)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_URI = "http://127.0.0.1:19530"
DEFAULT_COLLECTION = "ttqa"


@dataclass(frozen=True, slots=True)
class MilvusSettings:
    """Connection to a Milvus server or cluster, and the collection that holds the index.

    ``collection`` names the chunk collection; the articles and the manifest live in
    ``<collection>_docs``.
    """

    uri: str = DEFAULT_URI
    token: str = ""
    db_name: str = ""
    collection: str = DEFAULT_COLLECTION
    timeout: float = 10.0
    """Seconds one call may take before it fails with a clear error."""
    shards: int = 1
    """Shards of the chunk collection when ttqa creates it (Milvus fixes the number then)."""

    @property
    def docs_collection(self) -> str:
        return f"{self.collection}_docs"

    def describe(self) -> str:
        """Where, for messages (never the token)."""
        db = f" database {self.db_name!r}" if self.db_name else ""
        return f"Milvus at {self.uri}{db}, collection {self.collection!r}"
