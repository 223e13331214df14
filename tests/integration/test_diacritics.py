"""Diacritics put back on unaccented questions by the bundled syllable model and the passages
retrieved for them; the model, its checksum and the command that builds it."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from conftest import EVALS
from ttqa.qa import QA
from ttqa.retrieval.diacritics import restore_diacritics
from ttqa.text.normalize import fold_accents
from ttqa.text.syllable_lm import NUMBER, SyllableModelError, bundled, bundled_path, count, load, meta_path
from ttqa.training import accents

VINH_TUONG = (
    "Đề án tổ chức bộ máy, công tác cán bộ của huyện Vĩnh Tường nhằm thực hiện Nghị quyết Đại hội "
    "đại biểu Đảng bộ huyện lần thứ XXVI. Đồng chí Đàm Hữu Khanh chủ trì hội thảo."
)


@pytest.mark.parametrize(
    "typed,restored",
    [
        # "máy" (bộ máy) is far likelier in the passage; the question's own words are not
        (
            "de an nham thuc hien nghi quyet dai hoi lan thu may?",
            "đề án nhằm thực hiện nghị quyết đại hội lần thứ mấy?",
        ),
        ("anh bai hoi thao do ai chup?", "ảnh bài hội thảo do ai chụp?"),
        ("Ai chu tri hoi thao o Vinh Tuong?", "Ai chủ trì hội thảo ở Vĩnh Tường?"),
        ("Nghe An giam duoc bao nhieu bien che", "Nghệ An giảm được bao nhiêu biên chế"),
        # numbers are kept as typed, and read as one token by the model ("ngày <number> do")
        ("hoi nghi ngay 8/2 do ai chu tri?", "hội nghị ngày 8/2 do ai chủ trì?"),
        # a comma opens a new stretch: "nhân, ai là" is not the pair "nhân ái"
        (
            "truoc ong Nguyen Thien Nhan, ai la truong doan?",
            "trước ông Nguyễn Thiện Nhân, ai là trưởng đoàn?",
        ),
    ],
)
def test_questions_get_their_diacritics_back(typed: str, restored: str) -> None:
    assert restore_diacritics(typed, [VINH_TUONG]) == restored


def test_typed_diacritics_unknown_words_case_and_spacing_are_kept() -> None:
    got = restore_diacritics("HĐND  xyzq hoi nghi (TP HCM) ngay 19/11/2020 ?", [VINH_TUONG])
    assert got == "HĐND  xyzq hội nghị (TP HCM) ngày 19/11/2020 ?"
    assert restore_diacritics("", [VINH_TUONG]) == ""
    assert restore_diacritics("?!", []) == "?!"


def test_restoration_changes_only_diacritics_on_every_seed_question() -> None:
    rows = [json.loads(line) for line in (EVALS / "seed.jsonl").open(encoding="utf-8")]
    for row in rows:
        typed = fold_accents(row["question"])
        got = restore_diacritics(typed, [VINH_TUONG])
        assert fold_accents(got) == typed, (typed, got)
    long = " ".join(["hoi nghi to chuc can bo"] * 40)  # a long question restores in one pass
    assert fold_accents(restore_diacritics(long, [])) == long


def test_the_bundled_model_is_checked_against_its_checksum(tmp_path: Path) -> None:
    model = bundled()
    assert model.meta["min_count"] == accents.MIN_COUNT
    assert model.forms("may")[:1] and "mấy" in model.forms("may")
    path = bundled_path()
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    shutil.copy(meta_path(path), meta_path(copy))
    assert load(copy).vocab == model.vocab
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(SyllableModelError, match="SHA-256"):
        load(copy)
    with pytest.raises(SyllableModelError, match="missing"):
        load(tmp_path / "none.npz")


def test_counts_open_each_stretch_and_stop_at_punctuation() -> None:
    unigrams, bigrams = count(["Trước ông Nhân, ai là Trưởng đoàn?"])
    assert unigrams["ai"] == 1 and unigrams["trưởng"] == 1
    assert bigrams[("<s>", "ai")] == 1 and bigrams[("<s>", "trước")] == 1
    assert ("nhân", "ai") not in bigrams
    unigrams, bigrams = count(["Sáng 19/5/2017 và sáng 8/2"])
    assert unigrams[NUMBER] == 2 and bigrams[("sáng", NUMBER)] == 2 and "8/2" not in unigrams


def test_accents_command_builds_a_model_without_the_evaluation_articles(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "news_vi").mkdir(parents=True)
    (data / "qa_train").mkdir()
    (data / "viquad_dev").mkdir()
    domain = {"id": "d1", "title": "Hội thảo", "text": VINH_TUONG}
    news = [
        {"id": "n1", "title": "Tin", "text": "Hội nghị sơ kết công tác tổ chức xây dựng Đảng sáng nay."},
        {"id": "n2", "title": "Bản sao", "text": VINH_TUONG},  # a syndicated copy of the domain article
    ]
    (data / "news_vi" / "party_org_606.jsonl").write_text(json.dumps(domain, ensure_ascii=False) + "\n")
    with gzip.open(data / "news_vi" / "news_35k.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in news)
    record = {"id": "q1", "context": "Ông Nam là Bí thư.", "question": "Ai là Bí thư?"}
    record["answers"] = [{"text": "Ông Nam", "answer_start": 0}]  # type: ignore[assignment]
    (data / "viquad_dev" / "viquad1_dev.json").write_text(json.dumps([record], ensure_ascii=False))
    (data / "qa_train" / "viquad2_train_sample.jsonl").write_text(
        json.dumps(record, ensure_ascii=False) + "\n"
    )
    out = tmp_path / "s.npz"
    args = ["--data-dir", str(data), "--exclude", "--min-count", "1", "--out", str(out), "--quiet"]
    assert accents.main(args) == 0
    model = load(out)
    assert model.unigram("sơ") == 1 and model.pair("<s>", "ai") == 2  # news; both question sets
    assert model.unigram("vĩnh") == 0  # the domain article's copy is left out
    assert json.loads(meta_path(out).read_text())["sha256"]
    with pytest.raises(SystemExit) as exc:  # a missing folder is named, nothing is written
        accents.main(["--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "t.npz"), "--quiet"])
    assert exc.value.code == 2 and not (tmp_path / "t.npz").exists()


def test_warming_up_loads_the_syllable_model(seed_qa: QA) -> None:
    bundled.cache_clear()
    seed_qa.warm_up()
    assert bundled.cache_info().currsize == 1
    assert seed_qa.retriever.restore("hoi thao do ai chu tri") == "hội thảo do ai chủ trì"
    assert bundled.cache_info().hits >= 1
