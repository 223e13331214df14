"""The question's words around its question word (span features tied to the wh-slot)."""

from __future__ import annotations

import pytest

from ttqa.answering.qtype import wh_slot
from ttqa.answering.reader import question_view
from ttqa.answering.spans import _INDEX, SentenceContext, span_candidates, tokens_of
from ttqa.textnorm import tokenize, tokenize_folded


def keys(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))


@pytest.mark.parametrize(
    ("question", "before", "head", "after"),
    [
        ("Ai chủ trì hội thảo góp ý?", "", "", "chủ trì hội"),
        ("Các đại biểu đã thảo luận những nội dung gì?", "thảo luận", "nội dung", ""),
        ("BTC tham mưu tiến tới đại hội nào?", "mưu tiến tới", "đại hội", ""),
        ("Hội thảo được tổ chức vào ngày nào?", "tổ chức", "ngày", ""),
        ("Đại hội Đảng bộ tỉnh lần thứ mấy?", "tỉnh lần thứ", "", ""),
        ("Đồng chí Vũ Ngọc Dũng công tác ở đâu?", "Dũng công tác", "", ""),
        ("Năm 2019 giảm bao nhiêu phòng ban?", "Năm 2019 giảm", "", "phòng ban"),
        ("Đồng chí Khanh giữ chức vụ gì ở Huyện ủy?", "chí Khanh giữ", "chức vụ", "Huyện ủy"),
    ],
)
def test_words_around_the_question_word(question: str, before: str, head: str, after: str) -> None:
    assert wh_slot(question) == (keys(before), keys(head), keys(after))


def test_unaccented_questions_give_accent_folded_keys() -> None:
    before, head, after = wh_slot("nam 2019 tinh gon bo may giam bao nhieu phong ban?")
    # "bo may" (bộ máy) is not "mấy": the question word is "bao nhieu".
    assert after == frozenset(tokenize_folded("phong ban"))
    assert before == frozenset(tokenize_folded("bo may giam"))
    assert head == frozenset()


def test_no_question_word_no_slot() -> None:
    assert wh_slot("Hội thảo góp ý đề án tổ chức bộ máy") == (frozenset(), frozenset(), frozenset())


def test_span_features_mark_the_slot_in_a_real_sentence() -> None:
    q = question_view("Các đại biểu đã tập trung thảo luận những nội dung gì?")
    sentence = (
        "Tại hội thảo, các đại biểu đã tập trung trao đổi, thảo luận thực trạng, nguyên nhân tồn tại, "
        "xây dựng mục tiêu, giải pháp."
    )
    toks = tokens_of(sentence)
    spans, feats = span_candidates(toks, q, SentenceContext(lex=1.0, cos=0.9, rank=0, passage=1.0))
    texts = [sentence[toks[i].start : toks[j - 1].end] for i, j in spans.tolist()]
    left = feats.dense[:, _INDEX["slot_left"]]
    # The span right after "thảo luận" sits in the slot; one further on does not.
    assert left[texts.index("thực trạng")] == 1.0
    assert left[texts.index("nguyên nhân tồn tại")] == 0.0
