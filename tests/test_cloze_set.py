"""The self-supervised cloze questions (scripts/make_cloze_set.py) on real seed sentences."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cloze_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_cloze_set", ROOT / "scripts" / "make_cloze_set.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_cloze_set"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("sentence", "phrase", "answer"),
    [
        ("Theo đó, từ 2015 – 2018, toàn tỉnh đã giảm được 6.666 biên chế, đạt gần 8,1%.", "bao nhiêu", None),
        ("Sáng ngày 19/11/2020, Huyện ủy Vĩnh Tường tổ chức hội thảo góp ý.", "ngày nào", "19/11/2020"),
        ("Hội nghị do đồng chí Đàm Hữu Khanh chủ trì.", "ai", "Đàm Hữu Khanh"),
        ("Hội nghị được tổ chức tại Nghệ An vào sáng nay.", "ở đâu", "Nghệ An"),
    ],
)
def test_the_answer_is_cut_from_the_sentence_and_asked_in_place(
    cloze_module: ModuleType, sentence: str, phrase: str, answer: str | None
) -> None:
    got = cloze_module.cloze(sentence, random.Random(0), window=10, drop=0.0)
    assert got is not None
    question, ans = got
    assert ans in sentence and ans not in question
    assert phrase in question and question.endswith("?")
    if answer is not None:
        assert ans == answer
    else:  # a number with its unit, or a percentage, asked with its unit
        assert ans in {"6.666 biên chế", "8,1%"}
        assert ("bao nhiêu biên chế" in question) == (ans == "6.666 biên chế")


def test_years_and_words_that_are_not_units_are_not_asked(cloze_module: ModuleType) -> None:
    for sentence in ["Năm 2019 có nhiều thay đổi.", "Từ 2015 đến nay, tỉnh thay đổi nhiều."]:
        assert cloze_module.cloze(sentence, random.Random(0), window=10, drop=0.0) is None
