from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttqa.ingest.chunking import Chunker, ChunkingParams
from ttqa.schema import Document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def _check(doc: Document, chunker: Chunker) -> None:
    chunks = chunker.split(doc)
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.doc_id == doc.doc_id
        assert len(chunk.text) <= chunker.params.chunk_size
    # Every non-space character of the document is in some chunk.
    covered = [False] * len(doc.text)
    for chunk in chunks:
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(c or ch.isspace() for c, ch in zip(covered, doc.text, strict=True))


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.stem)
@pytest.mark.parametrize("size,overlap", [(800, 120), (300, 50), (120, 0)])
def test_offsets_on_real_articles(path: Path, size: int, overlap: int) -> None:
    doc = Document(doc_id=path.stem, text=path.read_text(encoding="utf-8"))
    _check(doc, Chunker(ChunkingParams(size, overlap)))


def test_chunk_ids_are_stable_and_distinct() -> None:
    path = sorted(CORPUS.glob("*.txt"))[0]
    doc = Document(doc_id=path.stem, text=path.read_text(encoding="utf-8"))
    a = Chunker(ChunkingParams(300, 50)).split(doc)
    b = Chunker(ChunkingParams(300, 50)).split(doc)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert len({c.chunk_id for c in a}) == len(a)


def test_chunks_end_on_sentence_boundaries_when_possible() -> None:
    path = CORPUS / "004_bc7b2e738a1e378f.txt"
    doc = Document(doc_id=path.stem, text=path.read_text(encoding="utf-8"))
    chunks = Chunker(ChunkingParams(400, 60)).split(doc)
    ends_clean = sum(
        c.text.rstrip()[-1] in '.!?…”"' or doc.text[c.end : c.end + 1] in ("\n", "") for c in chunks
    )
    assert ends_clean >= len(chunks) * 0.6


def test_bad_params_are_refused() -> None:
    with pytest.raises(ValueError):
        Chunker(ChunkingParams(100, 100))


_vi_text = st.text(
    alphabet=st.sampled_from(list('aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặ .,;:!?\n–-"0123456789')),
    max_size=3000,
)


@settings(max_examples=150, deadline=None)
@given(_vi_text, st.integers(min_value=20, max_value=600), st.integers(min_value=0, max_value=19))
def test_offsets_property(text: str, size: int, overlap: int) -> None:
    _check(Document(doc_id="x", text=text), Chunker(ChunkingParams(size, overlap)))
