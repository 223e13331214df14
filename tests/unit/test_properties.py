"""Property tests (hypothesis): text normalisation, chunk offsets, reciprocal-rank fusion.

Example counts are bounded so the whole file runs in a few seconds; CI can raise them with
``--hypothesis-seed``/profiles without changing the properties.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import local_backend
from ttqa import QA
from ttqa.embedding.hashing import HashingEmbedder
from ttqa.ingest.chunking import Chunker, ChunkingParams
from ttqa.ingest.cleaning import clean_article
from ttqa.retrieval.retriever import Mode, rrf
from ttqa.schema import Document
from ttqa.text.normalize import (
    fold_accents,
    fold_tones,
    has_diacritics,
    match_key,
    nfc,
    tokenize,
    tokenize_folded,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus"

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOWER = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- strategies

TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
VOWELS = "aăâeêioôơuưy"
ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh"]
ONSETS += ["p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x"]
CODAS = ["", "c", "ch", "m", "n", "ng", "nh", "p", "t", "i", "o", "u", "y"]


@st.composite
def syllables(draw: st.DrawFn) -> str:
    """A Vietnamese(-shaped) syllable in NFC: onset, 1-2 vowels, coda, one tone on a vowel."""
    vowels = draw(st.text(alphabet=VOWELS, min_size=1, max_size=2))
    tone = draw(st.sampled_from(TONES))
    at = draw(st.integers(0, len(vowels) - 1))
    nucleus = vowels[:at] + unicodedata.normalize("NFC", vowels[at] + tone) + vowels[at + 1 :]
    word = draw(st.sampled_from(ONSETS)) + nucleus + draw(st.sampled_from(CODAS))
    case = draw(st.sampled_from(["lower", "lower", "lower", "title", "upper"]))
    return {"lower": word, "title": word[:1].upper() + word[1:], "upper": word.upper()}[case]


SEPARATORS = [" ", " ", " ", " ", ", ", ". ", "; ", ": ", " – ", "\n", "\n\n", "? ", "! ", " (", ") ", "\xa0"]


@st.composite
def vietnamese_texts(draw: st.DrawFn, max_words: int = 400) -> str:
    """Vietnamese-ish prose: syllables, numbers, punctuation, line and paragraph breaks."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, max_words))):
        if draw(st.integers(0, 12)) == 0:
            parts.append(draw(st.sampled_from(["6.666", "19/11/2020", "2020-2025", "87,65%", "12-NQ/TW"])))
        else:
            parts.append(draw(syllables()))
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts)


any_text = st.text(max_size=200)
# Text full of combining marks, including ones NFC cannot compose onto their base.
marky_text = st.text(
    alphabet=st.sampled_from(
        list("aeiouyxđĐAĂÂÔƯ ịẠ.-1\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b\u0307İß")
    ),
    max_size=40,
)

# --------------------------------------------------------------------------- normalisation


@FAST
@given(st.one_of(any_text, marky_text, vietnamese_texts(max_words=30)))
def test_nfc_is_idempotent_and_canonical(text: str) -> None:
    once = nfc(text)
    assert nfc(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert nfc(unicodedata.normalize("NFD", text)) == once


@FAST
@given(st.one_of(any_text, marky_text, vietnamese_texts(max_words=30)))
def test_folding_is_idempotent_and_form_blind(text: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    for fold in (fold_tones, fold_accents):
        folded = fold(text)
        assert fold(folded) == folded
        assert fold(nfd) == folded  # composed or decomposed input: same key
    # fold_accents removes every Vietnamese diacritic, fold_tones every tone mark.
    assert not any("\u0300" <= ch <= "\u036f" for ch in unicodedata.normalize("NFD", fold_accents(text)))
    assert not any(ch in TONES[1:] for ch in unicodedata.normalize("NFD", fold_tones(text)))
    assert not has_diacritics(fold_accents(text))


@FAST
@given(vietnamese_texts(max_words=40))
def test_folding_keeps_offsets_of_vietnamese_text(text: str) -> None:
    """On NFC Vietnamese text fold_accents maps character to character (offsets carry over), and
    fold_tones only appends one tone digit to each toned syllable."""
    text = nfc(text)
    folded = fold_accents(text)
    assert len(folded) == len(text)
    assert all(folded[i] == fold_accents(ch) for i, ch in enumerate(text))
    for word in text.split():
        toned = any(ch in TONES[1:] for ch in unicodedata.normalize("NFD", word))
        key = fold_tones(word)
        assert len(key) == len(word) + toned
        if toned:
            assert key[-1] in "12345" or not word[-1].isalpha()


@FAST
@given(st.one_of(any_text, marky_text, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_tokenize_never_fails_on_any_unicode(text: str) -> None:
    for tokens in (tokenize(text), tokenize_folded(text)):
        assert all(tok and tok == tok.lower() and not any(ch.isspace() for ch in tok) for tok in tokens)
    assert tokenize(text) == tokenize(unicodedata.normalize("NFD", text))
    assert match_key(text) == " ".join(tokenize(text))
    assert [fold_accents(t) for t in tokenize(nfc(text))] == [fold_accents(t) for t in tokenize(text)]


@FAST
@given(st.lists(syllables(), min_size=1, max_size=12))
def test_tokenize_gives_back_the_syllables(words: list[str]) -> None:
    text = " ".join(words)
    assert tokenize(text) == [fold_tones(w) for w in words]
    assert tokenize_folded(text) == [fold_accents(w) for w in words]


# --------------------------------------------------------------------------- chunk offsets


def check_chunks(doc: Document, chunker: Chunker) -> None:
    chunks = chunker.split(doc)
    assert bool(chunks) == bool(doc.text.strip())
    prev_start, prev_end = -1, -1
    covered = [False] * len(doc.text)
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text  # the offsets are exact
        assert chunk.text and chunk.text == chunk.text.strip()
        assert len(chunk.text) <= chunker.params.chunk_size
        assert chunk.start > prev_start and chunk.end > prev_end  # in document order
        prev_start, prev_end = chunk.start, chunk.end
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    # Together the chunks cover every non-space character.
    assert all(c or ch.isspace() for c, ch in zip(covered, doc.text, strict=True))
    assert len({c.chunk_id for c in chunks}) == len(chunks)


@SLOWER
@given(
    vietnamese_texts(max_words=250),
    st.integers(min_value=40, max_value=600),
    st.floats(min_value=0.0, max_value=0.6),
)
def test_chunk_offsets_on_vietnamese_text(text: str, size: int, overlap_share: float) -> None:
    params = ChunkingParams(size, int(size * overlap_share))
    check_chunks(Document(doc_id="x", text=text), Chunker(params))


@SLOWER
@given(vietnamese_texts(max_words=300), st.integers(min_value=60, max_value=400))
def test_chunk_offsets_on_cleaned_articles(text: str, size: int) -> None:
    """What is really stored: the cleaner's output (NFC, stripped lines), chunked."""
    cleaned = clean_article(text).text
    check_chunks(Document(doc_id="x", text=cleaned), Chunker(ChunkingParams(size, size // 6)))


@SLOWER
@given(st.text(max_size=1500), st.integers(min_value=20, max_value=300))
def test_chunk_offsets_on_any_unicode(text: str, size: int) -> None:
    check_chunks(Document(doc_id="x", text=text), Chunker(ChunkingParams(size, size // 5)))


# --------------------------------------------------------------------------- fusion


def rankings_of(n_rows: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, n_rows - 1), unique=True, max_size=n_rows)


weights = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)


@FAST
@given(st.lists(st.tuples(rankings_of(50), weights), max_size=4), st.integers(1, 100))
def test_rrf_scores(lists: list[tuple[list[int], float]], rrf_k: int) -> None:
    rankings = [(np.array(rows, dtype=np.int64), w) for rows, w in lists]
    fused = rrf(rankings, rrf_k)
    # Every id once, exactly the ids ranked by a list with a positive weight.
    assert set(fused) == {r for rows, w in lists if w > 0 for r in rows}
    for row, score in fused.items():
        expected = sum(w / (rrf_k + rows.index(row) + 1) for rows, w in lists if w > 0 and row in rows)
        assert score == pytest.approx(expected)
    # Within one list, a better rank never scores lower (alone, a list is monotone).
    for rows, w in lists:
        alone = rrf([(np.array(rows, dtype=np.int64), w)], rrf_k)
        scores = [alone.get(r, 0.0) for r in rows]
        assert scores == sorted(scores, reverse=True)
    # The order of the lists does not matter.
    assert rrf(rankings[::-1], rrf_k) == pytest.approx(fused)


@FAST
@given(rankings_of(30), rankings_of(30), st.data())
def test_rrf_moving_up_never_hurts(dense: list[int], bm25: list[int], data: st.DataObject) -> None:
    assume(len(dense) >= 2)
    i = data.draw(st.integers(1, len(dense) - 1))
    row = dense[i]
    promoted = [*dense[: i - 1], row, dense[i - 1], *dense[i + 1 :]]
    before = rrf([(np.array(dense), 1.0), (np.array(bm25), 1.0)], 60)
    after = rrf([(np.array(promoted), 1.0), (np.array(bm25), 1.0)], 60)
    assert after[row] > before[row]
    assert after[dense[i - 1]] < before[dense[i - 1]]
    # Being found by one more retriever never hurts either.
    extra = [r for r in range(30) if r not in bm25][:1]
    if extra:
        more = rrf([(np.array(dense), 1.0), (np.array(bm25 + extra), 1.0)], 60)
        assert more[extra[0]] >= before.get(extra[0], 0.0)


@pytest.fixture(scope="module")
def seed_hashing_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    return QA.build([CORPUS], tmp_path_factory.mktemp("props-index"), embedder=HashingEmbedder(64))


def _with_rankings(qa: QA, dense: list[int], bm25: list[int]) -> Callable[[int], list[tuple[str, float]]]:
    """``search(k)`` through the real hybrid path, with the two rankings replaced by these."""
    retriever, backend = qa.retriever, local_backend(qa)

    def search(k: int) -> list[tuple[str, float]]:
        def dense_ranking(vector: object, n: int, allowed: object = None) -> tuple[np.ndarray, np.ndarray]:
            rows = np.array(dense[:n], dtype=np.int64)
            return rows, np.linspace(1.0, 0.0, len(rows), dtype=np.float32)

        def bm25_ranking(
            question: str, n: int, filters: object = None, allowed: object = None
        ) -> tuple[np.ndarray, np.ndarray]:
            rows = np.array(bm25[:n], dtype=np.int64)
            return rows, np.linspace(9.0, 1.0, len(rows), dtype=np.float32)

        with (
            patch.object(backend, "dense_ranking", dense_ranking),
            patch.object(backend, "bm25_ranking", bm25_ranking),
        ):
            hits = retriever.search("công tác tổ chức", k=k, mode=Mode.HYBRID)
        return [(h.chunk_id, h.score) for h in hits]

    return search


@SLOWER
@given(st.data())
def test_hybrid_fusion_order(seed_hashing_qa: QA, data: st.DataObject) -> None:
    n_rows = len(local_backend(seed_hashing_qa).store.chunks)
    dense = data.draw(rankings_of(n_rows))
    bm25 = data.draw(rankings_of(n_rows))
    k = data.draw(st.integers(1, n_rows + 5))
    hits = _with_rankings(seed_hashing_qa, dense, bm25)(k)
    ids = [cid for cid, _ in hits]
    assert len(ids) == len(set(ids)) == min(k, len(set(dense) | set(bm25)))  # each id once
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)  # best first
    # Ties are broken by chunk id (in every backend), so the order is deterministic and does not
    # depend on which retriever found what (equal weights): swapping the two rankings changes nothing.
    for (a, sa), (b, sb) in itertools.pairwise(hits):
        if sa == sb:
            assert a < b
    assert _with_rankings(seed_hashing_qa, bm25, dense)(k) == hits
    assert _with_rankings(seed_hashing_qa, dense, bm25)(k) == hits
