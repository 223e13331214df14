"""👍/👎 on answers, appended as one JSON line each to ``<data-dir>/feedback.jsonl``."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any

from ttqa.interfaces.chat.history import VOTES, Turn, now_iso

FEEDBACK_FILE = "feedback.jsonl"


def feedback_record(turn: Turn, vote: str, *, time: str | None = None) -> dict[str, Any]:
    """The JSON line for a vote on ``turn``: question, answer, citations, vote, time, mode."""
    if vote not in VOTES:
        raise ValueError(f"unknown vote {vote!r}")
    a = turn.answer
    answer: dict[str, Any] | None = None
    citations: list[dict[str, Any]] = []
    if a is not None:
        answer = {
            "text": a.text,
            "sentence": a.sentence,
            "abstained": a.abstained,
            "confidence": a.confidence,
            "doc_id": a.doc_id,
            "start": a.start,
            "end": a.end,
            "qtype": a.qtype,
        }
        citations = [
            {
                "n": c.n,
                "doc_id": c.doc_id,
                "title": c.title,
                "start": c.start,
                "end": c.end,
                "score": c.score,
                "quote": c.quote,
            }
            for c in a.citations
        ]
    return {
        "time": time or now_iso(),
        "turn_id": turn.turn_id,
        "question": turn.question,
        "answer": answer,
        "citations": citations,
        "vote": vote,
        "mode": turn.mode,
        "k": turn.k,
        "asked_at": turn.asked_at,
    }


class FeedbackLog:
    """Appends records to a JSONL file, one complete line per ``write`` under a lock.

    A thread lock serialises writers in this process and ``flock`` serialises
    processes sharing the file; the file is opened with ``O_APPEND`` so a line is
    never interleaved with another.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    @classmethod
    def in_dir(cls, data_dir: str | Path) -> FeedbackLog:
        return cls(Path(data_dir) / FEEDBACK_FILE)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                view = memoryview(line)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        """Every record written so far (a torn last line, if any, is skipped)."""
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
        return records
