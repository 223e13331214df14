"""Persistent embedding cache keyed by (model fingerprint, passage content hash).

This is what makes a build resumable: every batch of vectors is committed as it
is computed, so a build that is stopped or killed continues where it left off,
and an unchanged passage is never embedded twice. SQLite in WAL mode survives
SIGKILL without corruption.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ttqa.embedding.base import Vectors

log = logging.getLogger("ttqa.index")


def quarantine_cache(path: Path) -> Path:
    """Move a damaged cache file (and its WAL/SHM files) aside; returns the new name."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, aside)
    return aside


class EmbeddingCache:
    """Opening a file that is not an SQLite database (truncated, overwritten) moves it aside
    and starts an empty cache: the vectors are computed again, the build goes on."""

    def __init__(self, path: Path, fingerprint: str, dim: int) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.dim = dim
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            aside = quarantine_cache(path)
            log.warning("embedding cache %s is damaged (%s); moved to %s, starting anew", path, exc, aside)
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS vectors ("
                " model TEXT NOT NULL, hash TEXT NOT NULL, vec BLOB NOT NULL,"
                " PRIMARY KEY (model, hash)) WITHOUT ROWID"
            )
            db.commit()
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def missing(self, hashes: Iterable[str]) -> list[str]:
        """The hashes (deduplicated, in first-seen order) that have no vector yet."""
        have = set(self._known())
        seen: set[str] = set()
        out: list[str] = []
        for h in hashes:
            if h not in have and h not in seen:
                seen.add(h)
                out.append(h)
        return out

    def _known(self) -> Iterable[str]:
        # A vector of the wrong size (damaged row) counts as missing: it is computed again.
        cur = self._db.execute(
            "SELECT hash FROM vectors WHERE model = ? AND length(vec) = ?", (self.fingerprint, self.dim * 4)
        )
        return (row[0] for row in cur)

    def put(self, hashes: Sequence[str], vectors: Vectors) -> None:
        if len(hashes) != len(vectors):
            raise ValueError("hashes and vectors differ in length")
        rows = [
            (self.fingerprint, h, np.asarray(v, dtype=np.float32).tobytes())
            for h, v in zip(hashes, vectors, strict=True)
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def get_many(self, hashes: Sequence[str]) -> Vectors:
        """Vectors in the order of ``hashes``; every hash must be present."""
        out = np.empty((len(hashes), self.dim), dtype=np.float32)
        index: dict[str, list[int]] = {}
        for i, h in enumerate(hashes):
            index.setdefault(h, []).append(i)
        keys = list(index)
        step = 900  # SQLite's bound-parameter limit
        found = 0
        for lo in range(0, len(keys), step):
            part = keys[lo : lo + step]
            marks = ",".join("?" * len(part))
            cur = self._db.execute(
                f"SELECT hash, vec FROM vectors WHERE model = ? AND length(vec) = ? AND hash IN ({marks})",
                (self.fingerprint, self.dim * 4, *part),
            )
            for h, blob in cur:
                vec = np.frombuffer(blob, dtype=np.float32)
                for i in index[h]:
                    out[i] = vec
                    found += 1
        if found != len(hashes):
            raise KeyError(f"{len(hashes) - found} vectors missing from the embedding cache")
        return out

    def count(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", (self.fingerprint,)).fetchone()
        return int(row[0])
