"""On-disk layout of an index directory, atomic writes and the build lock.

::

    indexes/default/
      CURRENT            name of the live version (replaced atomically)
      v000003/           one complete, immutable index version
        manifest.json    model, dimension, chunking, per-document hashes, file checksums
        documents.jsonl  the stored articles (offsets point into their text)
        chunks.json      chunk ids, document ids, offsets, content hashes
        dense.faiss      FAISS inner-product index with chunk ids
        bm25/ bm25_folded/   bm25s indexes (accented and accent-folded)
      embcache.sqlite    embedding cache shared by all versions (resumable builds)
      build.lock         held while a build runs

A build writes a new version directory under a temporary name, renames it into
place and only then points ``CURRENT`` at it, so a build killed at any moment
leaves the previous version live and loadable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ttqa.errors import TTQAIndexError

CURRENT = "CURRENT"
LOCK = "build.lock"
EMBCACHE = "embcache.sqlite"
_VERSION_RE = re.compile(r"^v(\d{6})$")


class IndexLockedError(TTQAIndexError, RuntimeError):
    """Another build holds the index directory."""


class IndexNotFoundError(TTQAIndexError, FileNotFoundError):
    """No index has been built in this directory."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive, non-blocking lock on the index directory (released on crash by the OS)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fh = (index_dir / LOCK).open("a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(
                f"another build is running on {index_dir} (lock {index_dir / LOCK}); "
                "wait for it to finish or stop it first"
            ) from None
        yield
    finally:
        fh.close()


def current_version_dir(index_dir: Path) -> Path:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexNotFoundError(
            f"no index in {index_dir}: build one with `ttqa index --corpus corpus --index {index_dir}`"
        )
    try:
        name = pointer.read_bytes()[:64].decode("utf-8", errors="replace").strip()
    except OSError as exc:
        raise IndexNotFoundError(
            f"{pointer} is unreadable ({exc.strerror or exc}); rebuild with "
            f"`ttqa index --corpus corpus --index {index_dir}`"
        ) from None
    if not _VERSION_RE.match(name) or not (index_dir / name).is_dir():
        raise IndexNotFoundError(
            f"{pointer} names a missing version {name!r}; rebuild with "
            f"`ttqa index --corpus corpus --index {index_dir}`"
        )
    return index_dir / name


def versions(index_dir: Path) -> list[str]:
    if not index_dir.is_dir():
        return []
    return sorted(p.name for p in index_dir.iterdir() if p.is_dir() and _VERSION_RE.match(p.name))


def new_staging_dir(index_dir: Path) -> tuple[Path, str]:
    """A fresh temporary directory for the next version and that version's name."""
    existing = versions(index_dir)
    number = int(existing[-1][1:]) + 1 if existing else 1
    name = f"v{number:06d}"
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".staging", dir=index_dir))
    staging.chmod(0o777 & ~_umask())
    return staging, name


def publish(index_dir: Path, staging: Path, name: str, *, keep: int = 2) -> Path:
    """Rename the staged version into place, point CURRENT at it, prune old versions."""
    for path in staging.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    final = index_dir / name
    os.rename(staging, final)
    _fsync_dir(index_dir)
    atomic_write_text(index_dir / CURRENT, name + "\n")
    for old in versions(index_dir)[:-keep]:
        if old != name:
            shutil.rmtree(index_dir / old, ignore_errors=True)
    # Left by builds killed before they published (we hold the build lock: none is running).
    for stale in index_dir.glob(".v*.staging"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in index_dir.glob(f".{CURRENT}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    return final
