"""Model exports cached on disk: built in a temp folder beside their place, published by a rename,
and trusted only while the checksum recorded beside the model file still matches it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ttqa.index.layout import sha256_file


def is_valid(folder: Path, meta_file: str, model_file: str) -> bool:
    """Whether ``folder`` holds a published export whose model file matches its recorded sha256."""
    try:
        meta = json.loads((folder / meta_file).read_text(encoding="utf-8"))
        return bool(meta["sha256"] == sha256_file(folder / model_file))
    except (OSError, ValueError, KeyError):
        return False


@contextlib.contextmanager
def staging(target: Path) -> Iterator[Path]:
    """A temp folder beside ``target`` to build the export in; removed afterwards, whatever
    happens (after :func:`publish`, nothing is left of it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(tmp: Path, target: Path, meta: dict[str, Any], meta_file: str, model_file: str) -> None:
    """Write ``meta`` (with the model file's sha256) into ``tmp`` and rename ``tmp`` to
    ``target``. A valid export already there (another process was faster) is kept; a damaged
    one is replaced."""
    meta = {**meta, "sha256": sha256_file(tmp / model_file)}
    (tmp / meta_file).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    for path in [tmp, *tmp.rglob("*")]:
        with contextlib.suppress(OSError):
            path.chmod(0o755 if path.is_dir() else 0o644)
    try:
        os.rename(tmp, target)
    except OSError:
        if not is_valid(target, meta_file, model_file):
            shutil.rmtree(target, ignore_errors=True)
            os.rename(tmp, target)
