"""Checks of what callers pass in: the question (cleaned of control characters) and ``k``."""

from __future__ import annotations

from ttqa.errors import InvalidKError, InvalidQuestionError


def check_k(k: object) -> int:
    """``k`` as an ``int`` >= 1, or :class:`InvalidKError` (``True``, ``2.5``, ``"3"`` are refused)."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise InvalidKError(f"k must be a whole number of passages >= 1, not {type(k).__name__} {k!r}")
    if k < 1:
        raise InvalidKError(f"k must be >= 1, not {k}")
    return k


MAX_QUESTION_CHARS = 1000


def _clean_char(ch: str) -> str:
    if ch.isprintable() or ch in "\n\t":
        return ch
    return " " if ch.isspace() else ""


def check_question(question: object, *, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Return the question cleaned and stripped, or raise :class:`InvalidQuestionError`.

    Control and format characters (NUL, escape sequences' ``ESC``, zero-width and bidi
    overrides such as U+202E, lone surrogates) are dropped; other white space (no-break,
    ideographic, line separators, ``\\r``) becomes a plain space, so words stay apart.
    """
    if not isinstance(question, str):
        raise InvalidQuestionError(f"the question must be text, not {type(question).__name__}")
    if len(question) > 16 * max_chars:  # far too long: refused without cleaning megabytes first
        raise _too_long(len(question), max_chars)
    cleaned = "".join(_clean_char(ch) for ch in question).strip()
    if not cleaned:
        raise InvalidQuestionError("the question is empty (câu hỏi trống)")
    if len(cleaned) > max_chars:
        raise _too_long(len(cleaned), max_chars)
    return cleaned


def _too_long(length: int, max_chars: int) -> InvalidQuestionError:
    return InvalidQuestionError(
        f"the question is {length} characters long; the limit is {max_chars} "
        f"(câu hỏi dài quá {max_chars} ký tự)"
    )
