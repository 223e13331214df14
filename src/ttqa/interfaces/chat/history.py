"""The conversation as the browser keeps it, and its restoration after a page refresh.

The browser stores, per turn, the question, the settings, the vote and the answer's
*offsets* (``doc_id``/``start``/``end`` of the answer, its sentence and every
citation) with a short hash of each quoted text, never the article text itself.
After a refresh every text is cut again from the stored document
(``qa.document(doc_id).text[start:end]``), so citations stay exact; a hash that no
longer matches (the index was rebuilt with changed articles) marks the turn stale
instead of showing a wrong passage.

Whatever comes back from the browser is untrusted: :func:`restore_turn` validates
every field and returns ``None`` for anything malformed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ttqa.schema import Answer, Citation, Document

STATE_VERSION = 1
MAX_TURNS = 50
"""The browser keeps the latest turns only."""
VOTES = ("up", "down")
_TURN_ID_RE = re.compile(r"^[0-9a-f]{8,32}$")

DocumentLookup = Callable[[str], Document | None]
"""``doc_id`` -> the stored article, or ``None`` when the index no longer has it."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One question and its answer in the conversation."""

    turn_id: str
    question: str
    answer: Answer | None
    """``None`` when the stored turn could not be re-read from the index (``stale``)."""
    mode: str
    k: int
    asked_at: str
    vote: str | None = None
    stale: bool = False
    """The index changed since: the stored offsets no longer point at the same text."""

    def with_vote(self, vote: str) -> Turn:
        if vote not in VOTES:
            raise ValueError(f"unknown vote {vote!r}")
        return replace(self, vote=vote)


def new_turn_id() -> str:
    return uuid.uuid4().hex


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    """A short fingerprint of a quoted text (to detect a changed article)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def make_turn(answer: Answer, *, mode: str, k: int) -> Turn:
    return Turn(new_turn_id(), answer.question, answer, str(mode), int(k), now_iso())


# --------------------------------------------------------------------------- to the browser
def dump_turn(turn: Turn) -> dict[str, Any]:
    """The JSON the browser keeps for ``turn`` (a stale turn keeps its question only)."""
    base: dict[str, Any] = {
        "v": STATE_VERSION,
        "id": turn.turn_id,
        "question": turn.question,
        "mode": turn.mode,
        "k": turn.k,
        "time": turn.asked_at,
        "vote": turn.vote,
    }
    a = turn.answer
    if a is None:
        return {**base, "stale": True}
    cites = [
        {
            "n": c.n,
            "doc_id": c.doc_id,
            "start": c.start,
            "end": c.end,
            "score": c.score,
            "sha": text_hash(c.quote),
        }
        for c in a.citations
    ]
    answer: dict[str, Any] = {
        "abstained": a.abstained,
        "confidence": a.confidence,
        "qtype": a.qtype,
        "doc_id": a.doc_id,
        "start": a.start,
        "end": a.end,
        "sentence_start": a.sentence_start,
        "sentence_end": a.sentence_end,
        "sha": text_hash(a.text) if a.text is not None else None,
        "citations": cites,
    }
    return {**base, "answer": answer}


def dump_history(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    return [dump_turn(t) for t in turns[-MAX_TURNS:]]


# --------------------------------------------------------------------------- from the browser
def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _str(value: Any, max_len: int = 2000) -> str | None:
    return value if isinstance(value, str) and len(value) <= max_len else None


class _Stale(Exception):
    """The stored offsets no longer match the index."""


def _cut(lookup: DocumentLookup, doc_id: Any, start: Any, end: Any, sha: Any) -> tuple[Document, str]:
    doc_id, s, e = _str(doc_id, 200), _int(start), _int(end)
    if doc_id is None or s is None or e is None or not s <= e:
        raise ValueError("bad offsets")
    doc = lookup(doc_id)
    if doc is None or e > len(doc.text):
        raise _Stale(doc_id)
    text = doc.text[s:e]
    if sha is not None and text_hash(text) != sha:
        raise _Stale(doc_id)
    return doc, text


def _restore_answer(question: str, d: dict[str, Any], lookup: DocumentLookup) -> Answer:
    abstained = d.get("abstained")
    confidence = _float(d.get("confidence"))
    raw_cites = d.get("citations")
    if not isinstance(abstained, bool) or confidence is None or not isinstance(raw_cites, list):
        raise ValueError("bad answer")
    citations: list[Citation] = []
    for i, rc in enumerate(raw_cites[:100], start=1):
        if not isinstance(rc, dict) or rc.get("n") != i:
            raise ValueError("bad citation")
        score = _float(rc.get("score"))
        if score is None:
            raise ValueError("bad citation score")
        doc, _ = _cut(lookup, rc.get("doc_id"), rc.get("start"), rc.get("end"), rc.get("sha"))
        citations.append(Citation.of(i, doc, int(rc["start"]), int(rc["end"]), score))
    qtype = _str(d.get("qtype"), 50)
    if abstained:
        return Answer(question, None, None, True, confidence, citations, qtype=qtype)
    doc, text = _cut(lookup, d.get("doc_id"), d.get("start"), d.get("end"), d.get("sha"))
    _, sentence = _cut(lookup, doc.doc_id, d.get("sentence_start"), d.get("sentence_end"), None)
    start, end = int(d["start"]), int(d["end"])
    s_start, s_end = int(d["sentence_start"]), int(d["sentence_end"])
    if not s_start <= start <= end <= s_end:
        raise ValueError("answer outside its sentence")
    return Answer(
        question,
        text,
        sentence,
        False,
        confidence,
        citations,
        doc_id=doc.doc_id,
        start=start,
        end=end,
        sentence_start=s_start,
        sentence_end=s_end,
        qtype=qtype,
    )


def restore_turn(d: Any, lookup: DocumentLookup) -> Turn | None:
    """The turn stored as ``d``, its texts re-read from the index; ``None`` if malformed."""
    if not isinstance(d, dict) or d.get("v") != STATE_VERSION:
        return None
    turn_id, question = _str(d.get("id"), 32), _str(d.get("question"))
    mode, k, asked_at = _str(d.get("mode"), 20), _int(d.get("k")), _str(d.get("time"), 40)
    vote = d.get("vote")
    if (
        turn_id is None
        or not _TURN_ID_RE.match(turn_id)
        or question is None
        or mode is None
        or k is None
        or asked_at is None
        or (vote is not None and vote not in VOTES)
    ):
        return None
    if d.get("stale") is True:
        return Turn(turn_id, question, None, mode, k, asked_at, vote, stale=True)
    if not isinstance(d.get("answer"), dict):
        return None
    try:
        answer: Answer | None = _restore_answer(question, d["answer"], lookup)
        stale = False
    except _Stale:
        answer, stale = None, True
    except (ValueError, KeyError, TypeError):
        return None
    return Turn(turn_id, question, answer, mode, k, asked_at, vote, stale)


def restore_history(state: Any, lookup: DocumentLookup) -> list[Turn]:
    """Every valid turn of a stored history (malformed entries are dropped)."""
    if not isinstance(state, list):
        return []
    turns = (restore_turn(d, lookup) for d in state[-MAX_TURNS:])
    return [t for t in turns if t is not None]


def find_turn(turns: Sequence[Turn], turn_id: str) -> Turn | None:
    return next((t for t in turns if t.turn_id == turn_id), None)
