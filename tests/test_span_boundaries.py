"""Spans that start or end inside a word of several syllables are marked (syllable-pair PMI table)."""

from __future__ import annotations

from ttqa.answering.reader import question_view
from ttqa.answering.spans import _INDEX, SentenceContext, bigram_levels, span_candidates, tokens_of
from ttqa.textnorm import tokenize


def pair(text: str) -> tuple[str, str]:
    a, b = tokenize(text)
    return a, b


def test_table_knows_vietnamese_words_and_not_phrases() -> None:
    levels = bigram_levels()
    for word in ["kế hoạch", "Bí thư", "ý kiến", "thị trấn", "đại biểu"]:
        assert levels.get(pair(word)) == 2, word
    for phrase in ["của các", "cao ý", "hoạch sơ", "các xã"]:
        assert pair(phrase) not in levels, phrase


def test_split_features_on_a_real_sentence() -> None:
    sentence = "Đồng chí yêu cầu xây dựng kế hoạch sơ kết, tổng kết để đánh giá."
    toks = tokens_of(sentence)
    q = question_view("Phó Bí thư yêu cầu xây dựng kế hoạch gì?")
    spans, feats = span_candidates(toks, q, SentenceContext(lex=1.0, cos=0.9, rank=0, passage=1.0))
    texts = [sentence[toks[i].start : toks[j - 1].end] for i, j in spans.tolist()]
    inside = feats.dense[texts.index("hoạch sơ kết")]
    whole = feats.dense[texts.index("sơ kết, tổng kết")]
    assert inside[_INDEX["split_left:2"]] == 1.0  # "kế | hoạch"
    assert whole[_INDEX["split_left:2"]] == 0.0 and whole[_INDEX["split_left:1"]] == 0.0
    assert feats.dense[texts.index("đánh")][_INDEX["split_right:2"]] == 1.0  # "đánh | giá"
