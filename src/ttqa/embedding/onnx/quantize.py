"""Which matrix products of an exported encoder int8 would read too coarsely.

ONNX Runtime's dynamic quantiser rounds a product's input to 256 steps spread over its whole
range, one scale per run. An input with a few huge values gets steps as wide as its typical
values: in multilingual-e5-small the GELU outputs of layers 0, 4 and 5 reach 33, 59 and 31 with
a standard deviation near 0.15, so a step is 0.5 to 0.7 standard deviations and most values
round to 0 or to one step. :func:`input_steps` measures every product's step by running the fp32
model on sample inputs, so that the coarse ones (:data:`COARSE_STEP`) can stay fp32 while the
others go int8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

COARSE_STEP = 0.45
"""A product whose input's int8 step is at least this many standard deviations stays fp32."""


def input_steps(model: Path, feeds: dict[str, npt.NDArray[Any]], mask: npt.NDArray[Any]) -> dict[str, float]:
    """Each ``MatMul`` node of ``model`` with a weight initializer, and its input's int8 step in
    standard deviations of that input, over the tokens ``mask`` marks in a run on ``feeds``."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    graph = onnx.load(str(model))
    weights = {t.name for t in graph.graph.initializer}
    products = [n for n in graph.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    inputs = list(dict.fromkeys(n.input[0] for n in products))
    known = {o.name for o in graph.graph.output}
    for name in inputs:
        if name not in known:
            graph.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    values = session.run(inputs, feeds)
    keep = mask.astype(bool)
    ratio: dict[str, float] = {}
    for name, value in zip(inputs, values, strict=True):
        x = np.asarray(value)
        x = x[keep] if x.shape[: keep.ndim] == keep.shape else x.reshape(-1)
        spread = float(x.std())
        ratio[name] = (float(x.max() - x.min()) / 255.0) / spread if spread > 0 else 0.0
    return {n.name: ratio[n.input[0]] for n in products}


__all__ = ["COARSE_STEP", "input_steps"]
