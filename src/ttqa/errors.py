"""Errors ttqa raises for bad input (all ``ValueError`` subclasses)."""

from __future__ import annotations


class TTQAInputError(ValueError):
    """Invalid input to the library; the message says what is wrong."""


class InvalidQuestionError(TTQAInputError):
    """The question is empty, too long or otherwise unusable."""


class InvalidModeError(TTQAInputError):
    """Unknown retrieval mode."""


MAX_QUESTION_CHARS = 1000


def check_question(question: object, *, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Return the question stripped, or raise :class:`InvalidQuestionError`."""
    if not isinstance(question, str):
        raise InvalidQuestionError(f"the question must be text, not {type(question).__name__}")
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise InvalidQuestionError("the question is empty (câu hỏi trống)")
    if len(cleaned) > max_chars:
        raise InvalidQuestionError(
            f"the question is {len(cleaned)} characters long; the limit is {max_chars} "
            f"(câu hỏi dài quá {max_chars} ký tự)"
        )
    return cleaned
