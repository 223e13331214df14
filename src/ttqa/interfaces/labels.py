"""Words the interfaces show people, shared by the chat and the command line."""

from __future__ import annotations

from collections.abc import Sequence

from ttqa.schema import Citation


def relevance_text(citation: Citation, citations: Sequence[Citation]) -> str:
    """How the search ranked this source among the answer's, in words: "liên quan nhất", or
    "liên quan thứ 2/5"."""
    rank = citation.relevance_rank(citations)
    return "liên quan nhất" if rank == 1 else f"liên quan thứ {rank}/{len(citations)}"
