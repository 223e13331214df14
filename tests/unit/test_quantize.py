"""Which matrix products stay fp32 when an encoder goes int8."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _two_products(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.normal(size=(8, 8)).astype(np.float32), f"w{i}") for i in (1, 2)]
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x1", "w1"], ["y1"], name="plain"),
            helper.make_node("MatMul", ["x2", "w2"], ["y2"], name="outlier"),
            helper.make_node("MatMul", ["x1", "x2t"], ["y3"], name="no_weight"),
        ],
        "g",
        [
            helper.make_tensor_value_info("x1", TensorProto.FLOAT, [None, 8]),
            helper.make_tensor_value_info("x2", TensorProto.FLOAT, [None, 8]),
            helper.make_tensor_value_info("x2t", TensorProto.FLOAT, [8, None]),
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y1", "y2", "y3")],
        weights,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_only_products_whose_input_has_huge_outliers_stay_fp32(tmp_path: Path) -> None:
    from ttqa.embedding.onnx.quantize import COARSE_STEP, input_steps

    _two_products(tmp_path / "m.onnx")
    rng = np.random.default_rng(1)
    x1 = rng.normal(size=(4096, 8)).astype(np.float32)
    x2 = rng.normal(size=(4096, 8)).astype(np.float32)
    x2[3, 5] = 400.0  # one value in 32,768 far out: an int8 step of ~0.65 standard deviations
    mask = np.ones(4096, dtype=np.int64)
    feeds = {"x1": x1, "x2": x2, "x2t": x2.T.copy()}
    steps = input_steps(tmp_path / "m.onnx", feeds, mask)
    assert set(steps) == {"plain", "outlier"}  # a product of two activations has no weights to quantise
    assert [n for n, s in steps.items() if s >= COARSE_STEP] == ["outlier"] and steps["outlier"] > 0.5
    # The outlier sits on a token the mask leaves out: nothing is coarse.
    mask[3] = 0
    assert [n for n, s in input_steps(tmp_path / "m.onnx", feeds, mask).items() if s >= COARSE_STEP] == []
