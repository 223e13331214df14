"""The vectorised span features equal the scalar reference, candidate for candidate, on the
sentences of the real seed articles and every question of the seed evaluation set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reference.span_features_scalar import span_candidates_scalar
from ttqa.answering.reader import question_view
from ttqa.answering.sentences import sentences_in
from ttqa.answering.spans import SentenceContext, span_candidates, tokens_of
from ttqa.corpus import load_documents

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def seed_sentences() -> list[str]:
    docs = list(load_documents([ROOT / "corpus"]))
    return [d.text[s:e] for d in docs for s, e in sentences_in(d.text, 0, len(d.text))]


def test_vectorised_features_match_the_scalar_reference(seed_sentences: list[str]) -> None:
    questions = [
        json.loads(line)["question"] for line in (ROOT / "evals" / "seed.jsonl").open(encoding="utf-8")
    ]
    rng = np.random.default_rng(0)
    compared = 0
    for n, question in enumerate(questions):
        q = question_view(question)
        ctx = SentenceContext(lex=0.25 * (n % 4), cos=0.8, rank=n % 3, passage=0.5)
        for k in rng.choice(len(seed_sentences), size=6, replace=False):
            toks = tokens_of(seed_sentences[k])
            spans, feats = span_candidates(toks, q, ctx)
            ref_spans, ref = span_candidates_scalar(toks, q, ctx)
            assert [tuple(s) for s in spans.tolist()] == ref_spans
            np.testing.assert_array_equal(feats.dense, ref.dense)
            np.testing.assert_array_equal(feats.lex, ref.lex)
            compared += len(ref_spans)
    assert compared > 50_000


def test_no_candidates_in_empty_or_punctuation_only_sentences() -> None:
    q = question_view("Ai chủ trì hội nghị?")
    ctx = SentenceContext(lex=0.0, cos=0.0, rank=0, passage=0.0)
    for sentence in ["", " ", "...", "– ; ,"]:
        spans, feats = span_candidates(tokens_of(sentence), q, ctx)
        assert spans.shape == (0, 2) and len(feats) == 0


def test_spans_of_only_question_words_are_not_candidates() -> None:
    q = question_view("Ai chủ trì hội nghị?")
    toks = tokens_of("Đồng chí Đàm Hữu Khanh chủ trì hội nghị.")
    spans, _ = span_candidates(toks, q, SentenceContext(lex=1.0, cos=0.9, rank=0, passage=1.0))
    texts = {" ".join(t.text for t in toks[i:j]) for i, j in spans.tolist()}
    assert "Đàm Hữu Khanh" in texts
    assert "chủ trì hội nghị" not in texts and "hội nghị" not in texts
