"""Metadata filters for search and answers: a date range and a set of outlets.

Filters are applied *before* ranking: an allowed-row mask is computed from the
documents' metadata and used inside FAISS (an ``IDSelector``) and BM25 (scores
of disallowed rows are zeroed), so ``k`` hits still come back when at least
``k`` passages pass the filter.

Semantics
---------
``date_from`` / ``date_to``
    Inclusive ISO dates (``"YYYY-MM-DD"``, or :class:`datetime.date`). A document
    passes when its date lies in the range; ``Document.date`` may carry a time
    (``"2020-07-25T13:05:15"``), which is ignored: only the calendar day counts.
    A document whose date is unknown (``None``), partial (``"--01-03"``, no year)
    or otherwise not a full year-month-day is **excluded** as soon as either
    bound is given: it cannot be shown to fall inside the range.
    ``date_from`` later than ``date_to`` is an error.
``sources``
    Outlet tags (``"ĐTO"``, ``"TGAG"``...), compared after NFC normalisation,
    trimming and case folding. A document passes when its source is one of
    them; a document without a source is excluded when ``sources`` is given.
    An empty list (or ``None``) means no constraint on the outlet.

All given constraints must hold (logical AND). No constraint at all is the
same as no filter.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from ttqa.errors import TTQAInputError
from ttqa.schema import Document

__all__ = [
    "Filters",
    "FiltersLike",
    "InvalidFilterError",
    "MetadataIndex",
    "document_day",
    "normalise_source",
]

_DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")
_FILTER_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEYS = frozenset({"date_from", "date_to", "sources"})
MAX_SOURCES = 100


class InvalidFilterError(TTQAInputError):
    """A filter is malformed (bad date, unknown key, inverted range...).

    ``str(exc)`` is the English message; ``message_vi`` says the same in Vietnamese.
    """

    def __init__(
        self, message_en: str, message_vi: str, *, field: str | None = None, code: str = "invalid_filters"
    ) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_vi = message_vi
        self.field = field
        self.code = code  # "invalid_date" (a malformed date) or "invalid_filters"


def document_day(value: str | None) -> date | None:
    """The calendar day of a ``Document.date``; ``None`` when unknown, partial or malformed."""
    if not value:
        return None
    m = _DAY_RE.match(value.strip())
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def normalise_source(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip().casefold()


def _parse_bound(value: object, name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _FILTER_DATE_RE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidFilterError(
        f"{name} must be a date written YYYY-MM-DD (e.g. 2020-11-19), not {value!r}",
        f"{name} phải là ngày dạng YYYY-MM-DD (ví dụ 2020-11-19), không phải {value!r}",
        field=name,
        code="invalid_date",
    )


def _parse_sources(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items: list[object]
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise InvalidFilterError(
            f"sources must be a list of outlet tags, not {type(value).__name__}",
            f"sources phải là danh sách tên nguồn, không phải {type(value).__name__}",
            field="sources",
        )
    if len(items) > MAX_SOURCES:
        raise InvalidFilterError(
            f"at most {MAX_SOURCES} sources may be given ({len(items)} were)",
            f"chỉ được lọc tối đa {MAX_SOURCES} nguồn (đã gửi {len(items)})",
            field="sources",
        )
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not normalise_source(item):
            raise InvalidFilterError(
                f"every source must be a non-empty text, not {item!r}",
                f"mỗi nguồn phải là một chuỗi không rỗng, không phải {item!r}",
                field="sources",
            )
        key = normalise_source(item)
        if key not in out:
            out.append(key)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Filters:
    """A date range (inclusive) and a set of outlets; see the module docstring."""

    date_from: date | None = None
    date_to: date | None = None
    sources: tuple[str, ...] = ()
    """Normalised (NFC, trimmed, case-folded) outlet tags; empty = any outlet."""

    def __post_init__(self) -> None:
        if self.date_from is not None and self.date_to is not None and self.date_from > self.date_to:
            raise InvalidFilterError(
                f"date_from {self.date_from.isoformat()} is after date_to {self.date_to.isoformat()}",
                f"date_from {self.date_from.isoformat()} sau date_to {self.date_to.isoformat()}",
                field="date_from",
            )

    @classmethod
    def create(
        cls,
        *,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        sources: Iterable[str] | str | None = None,
    ) -> Filters:
        """Validate and normalise; raises :class:`InvalidFilterError`."""
        return cls(
            _parse_bound(date_from, "date_from"),
            _parse_bound(date_to, "date_to"),
            _parse_sources(sources),
        )

    @classmethod
    def parse(cls, value: FiltersLike) -> Filters | None:
        """``None`` (no filter), a :class:`Filters`, or a mapping ``{date_from?, date_to?, sources?}``.

        Returns ``None`` when nothing constrains the result.
        """
        if value is None:
            return None
        if isinstance(value, Filters):
            return None if value.is_empty else value
        if not isinstance(value, Mapping):
            raise InvalidFilterError(
                f"filters must be a mapping {{date_from, date_to, sources}}, not {type(value).__name__}",
                f"filters phải là một đối tượng {{date_from, date_to, sources}}, "
                f"không phải {type(value).__name__}",
                field="filters",
            )
        unknown = sorted(str(k) for k in value if k not in _KEYS)
        if unknown:
            raise InvalidFilterError(
                f"unknown filter(s) {', '.join(unknown)}: use date_from, date_to, sources",
                f"bộ lọc không hỗ trợ: {', '.join(unknown)}; chỉ dùng date_from, date_to, sources",
                field="filters",
            )
        flt = cls(
            _parse_bound(value.get("date_from"), "date_from"),
            _parse_bound(value.get("date_to"), "date_to"),
            _parse_sources(value.get("sources")),
        )
        return None if flt.is_empty else flt

    @property
    def is_empty(self) -> bool:
        return self.date_from is None and self.date_to is None and not self.sources

    @property
    def has_dates(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    def matches(self, doc: Document) -> bool:
        """Whether ``doc`` passes the filter."""
        if self.has_dates:
            day = document_day(doc.date)
            if day is None:
                return False
            if self.date_from is not None and day < self.date_from:
                return False
            if self.date_to is not None and day > self.date_to:
                return False
        if self.sources:
            return doc.source is not None and normalise_source(doc.source) in self.sources
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "sources": list(self.sources),
        }


FiltersLike = Filters | Mapping[str, Any] | None
"""What ``qa.search(..., filters=...)`` accepts."""


class MetadataIndex:
    """Per-row metadata as arrays, so a filter becomes a boolean mask in microseconds.

    Row ``i`` is chunk row ``i`` of the store (= FAISS id ``i`` = BM25 row ``i``).
    """

    def __init__(self, documents: Iterable[Document], row_doc_ids: list[str]) -> None:
        docs = list(documents)
        position = {d.doc_id: i for i, d in enumerate(docs)}
        days = [document_day(d.date) for d in docs]
        self._day = np.array([d.toordinal() if d else -1 for d in days], dtype=np.int64)
        self._source = np.array([normalise_source(d.source) if d.source else "" for d in docs], dtype=object)
        self._row_doc = np.array([position[d] for d in row_doc_ids], dtype=np.int64)
        self.n_rows = len(row_doc_ids)

    def document_mask(self, flt: Filters) -> npt.NDArray[np.bool_]:
        ok = np.ones(len(self._day), dtype=bool)
        if flt.has_dates:
            ok &= self._day >= 0
            if flt.date_from is not None:
                ok &= self._day >= flt.date_from.toordinal()
            if flt.date_to is not None:
                ok &= self._day <= flt.date_to.toordinal()
        if flt.sources:
            ok &= np.isin(self._source, np.array(flt.sources, dtype=object))
        return ok

    def row_mask(self, flt: Filters) -> npt.NDArray[np.bool_]:
        """``mask[row]`` is true when the row's document passes ``flt``."""
        if self.n_rows == 0:
            return np.zeros(0, dtype=bool)
        return self.document_mask(flt)[self._row_doc]


class LazyMetadataIndex:
    """Builds the :class:`MetadataIndex` of a store once, on first use (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: MetadataIndex | None = None

    def get(self, documents: Iterable[Document], row_doc_ids: list[str]) -> MetadataIndex:
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    self._index = MetadataIndex(documents, row_doc_ids)
                index = self._index
        return index
