"""Words the interfaces show people, shared by the chat and the command line."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ttqa.schema import Citation

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2})?)?")
_PARTIAL_DATE = re.compile(r"^--(\d{2})-(\d{2})$")


def relevance_text(citation: Citation, citations: Sequence[Citation]) -> str:
    """How the search ranked this source among the answer's, in words: "liên quan nhất", or
    "liên quan thứ 2/5"."""
    rank = citation.relevance_rank(citations)
    return "liên quan nhất" if rank == 1 else f"liên quan thứ {rank}/{len(citations)}"


def format_date(date: str | None) -> str | None:
    """``2020-11-19`` -> ``19/11/2020``; ``2020-07-25T13:05:15`` -> ``25/07/2020 13:05``;
    ``--12-25`` (no year) -> ``25/12``; anything else unchanged."""
    if not date:
        return None
    if m := _ISO_DATE.match(date):
        y, mo, d, hh, mm = m.groups()
        return f"{d}/{mo}/{y}" + (f" {hh}:{mm}" if hh else "")
    if m := _PARTIAL_DATE.match(date):
        return f"{m.group(2)}/{m.group(1)}"
    return date
