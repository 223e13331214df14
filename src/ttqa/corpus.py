"""Load articles from files and directories as cleaned :class:`~ttqa.types.Document` objects.

Supported inputs (a path may be a file or a directory, walked recursively):

* ``.txt`` / ``.md`` — one article per file, ``doc_id`` = file stem (Markdown
  heading markers ``#`` are stripped so "# Title" reads as a title line);
* ``.html`` / ``.htm`` — tags, scripts, styles and ``<nav>`` dropped with the
  stdlib :mod:`html.parser`, block elements become line breaks, entities are
  unescaped; ``og:title`` / ``article:published_time`` / canonical URL are used
  when the page has them;
* ``.jsonl`` / ``.jsonl.gz`` — one record per line ``{id, title, text, date?,
  url?, source?, author?, ...}``, streamed line by line; other keys go to
  ``Document.extra``; ``doc_id`` = the record's ``id`` (or ``h`` + 16 hex digits
  of the SHA-1 of the text when it has none); ``path`` = ``file#line``.

Every text goes through :func:`ttqa.cleaning.clean_article`.  Nothing raises on
bad input: unsupported or unreadable files, empty and binary files, malformed
JSON lines, records without text, articles that clean to nothing and
duplicate ``doc_id`` values are skipped and reported through ``on_skip(where,
reason)`` (or a ``ttqa.corpus`` warning when no callback is given).

Text decoding: a BOM decides (UTF-8, UTF-16, UTF-32); otherwise UTF-8, and
when that fails the page's ``<meta charset>`` (HTML only) or cp1258
(Vietnamese Windows), with undecodable bytes replaced, never an error.
Files containing NUL bytes without a UTF-16/32 BOM are binary.

Directory walks are sorted by name (deterministic), follow symbolic links,
visit each real directory once (symlink loops are reported, not followed) and
skip hidden entries (names starting with ``.``) silently.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import json
import logging
import os
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ttqa.cleaning import clean_article
from ttqa.types import Document

__all__ = [
    "SUPPORTED_SUFFIXES",
    "BinaryFileError",
    "SkipCallback",
    "count_documents_hint",
    "decode_bytes",
    "html_to_text",
    "load_documents",
]

logger = logging.getLogger("ttqa.corpus")

SkipCallback = Callable[[str, str], None]

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, *JSONL_SUFFIXES)

_RECORD_FIELDS = frozenset({"id", "title", "text", "date", "url", "source", "author"})


# --------------------------------------------------------------------------- decoding


class BinaryFileError(ValueError):
    """The bytes are not text (NUL bytes without a UTF-16/32 byte-order mark)."""


_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)


def decode_bytes(data: bytes, *, html: bool = False) -> str:
    """Decode file bytes: BOM → UTF-8 → (HTML meta charset) → cp1258; never raises on bad bytes.

    Raises :class:`BinaryFileError` for data with NUL bytes and no UTF-16/32 BOM.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data:
        raise BinaryFileError("binary file (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if html:
        m = _META_CHARSET_RE.search(data[:4096])
        if m is not None:
            try:
                return data.decode(m.group(1).decode("ascii"), errors="replace")
            except LookupError:
                pass
    return data.decode("cp1258", errors="replace")


# --------------------------------------------------------------------------- HTML


_PARAGRAPH_TAGS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "figure",
        "figcaption",
        "table",
        "ul",
        "ol",
        "pre",
        "hr",
    }
)
_BLOCK_TAGS = _PARAGRAPH_TAGS | {
    "address", "article", "aside", "body", "caption", "dd", "details", "div", "dl", "dt", "fieldset",
    "footer", "form", "header", "li", "main", "section", "summary", "tbody", "thead", "tfoot", "tr",
}  # fmt: skip
_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas", "nav", "select"}
)
_WS_RE = re.compile(r"[ \t\r\n\f]+")


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pending = 0  # newlines owed before the next text: 1 = line break, 2 = paragraph
        self.skip: dict[str, int] = {}
        self.meta: dict[str, str] = {}
        self._in_title = False
        self.page_title = ""

    def _skipping(self) -> bool:
        return any(self.skip.values())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("meta", "link"):
            a = {k.lower(): (v or "") for k, v in attrs}
            key = (a.get("property") or a.get("name") or "").lower()
            if tag == "link" and "canonical" in a.get("rel", "").lower():
                key, a["content"] = "canonical", a.get("href", "")
            if key and a.get("content"):
                self.meta.setdefault(key, a["content"].strip())
            return
        if tag == "title":
            self._in_title = True
            return
        if tag == "body":
            self.skip.pop("head", None)  # a page that never closed <head>
        if tag in _SKIP_TAGS:
            self.skip[tag] = self.skip.get(tag, 0) + 1
        elif tag == "br":
            self.pending = min(2, self.pending + 1)
        elif tag in _BLOCK_TAGS:
            self.pending = max(self.pending, 2 if tag in _PARAGRAPH_TAGS else 1)
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP_TAGS:  # "<nav/>" opens nothing
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP_TAGS:
            if self.skip.get(tag):
                self.skip[tag] -= 1
        elif tag in _BLOCK_TAGS:
            self.pending = max(self.pending, 2 if tag in _PARAGRAPH_TAGS else 1)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.page_title += data
            return
        if self._skipping():
            return
        text = _WS_RE.sub(" ", data)
        if not text.strip() and (self.pending or not self.parts):
            return  # indentation between block tags
        if self.pending:
            if self.parts:
                self.parts.append("\n" * self.pending)
            self.pending = 0
        self.parts.append(text)


def html_to_text(markup: str) -> tuple[str, dict[str, str]]:
    """Visible text of an HTML page (block elements → newlines) and its metadata.

    The metadata dict holds ``<meta property/name=... content=...>`` values by
    lower-cased key, ``canonical`` (``<link rel=canonical>``) and ``title``
    (``<title>``), when present.
    """
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    meta = dict(parser.meta)
    page_title = " ".join(parser.page_title.split())
    if page_title:
        meta.setdefault("title", page_title)
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip(), meta


_ISO_PREFIX_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?")
_MD_HEADING_RE = re.compile(r"^#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)


# --------------------------------------------------------------------------- walking


def _log_skip(where: str, reason: str) -> None:
    logger.warning("skipped %s: %s", where, reason)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".jsonl.gz"):
        return ".jsonl.gz"
    return path.suffix.lower()


def _walk(paths: Sequence[str | Path], on_skip: SkipCallback) -> Iterator[Path]:
    visited: set[tuple[int, int]] = set()

    def walk_dir(directory: Path) -> Iterator[Path]:
        try:
            st = directory.stat()
        except OSError as exc:
            on_skip(str(directory), f"unreadable directory: {exc.strerror or exc}")
            return
        key = (st.st_dev, st.st_ino)
        if key in visited:
            on_skip(str(directory), "directory already visited (symlink loop or duplicate path)")
            return
        visited.add(key)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            on_skip(str(directory), f"unreadable directory: {exc.strerror or exc}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = directory / entry.name
            try:
                is_dir = entry.is_dir()  # follows symlinks
                is_file = not is_dir and entry.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                yield from walk_dir(path)
            elif is_file:
                yield path
            else:
                on_skip(str(path), "not a regular file (broken link or special file)")

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from walk_dir(path)
        elif path.is_file():
            yield path
        else:
            on_skip(str(path), "not found")


# --------------------------------------------------------------------------- loading


def _read_bytes(path: Path, on_skip: SkipCallback) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        on_skip(str(path), f"unreadable: {exc.strerror or exc}")
        return None


def _load_text_file(path: Path, suffix: str, on_skip: SkipCallback) -> Document | None:
    data = _read_bytes(path, on_skip)
    if data is None:
        return None
    where = str(path)
    if not data.strip():
        on_skip(where, "empty file")
        return None
    try:
        text = decode_bytes(data, html=suffix in HTML_SUFFIXES)
    except BinaryFileError:
        on_skip(where, "binary file (NUL bytes)")
        return None
    meta: dict[str, str] = {}
    given_title: str | None = None
    if suffix in HTML_SUFFIXES:
        text, meta = html_to_text(text)
        given_title = meta.get("og:title") or None
    elif suffix == ".md":
        text = _MD_HEADING_RE.sub(r"\1", text)
    if not text.strip():
        on_skip(where, "empty file")
        return None
    cleaned = clean_article(text, title=given_title)
    if not cleaned.text:
        on_skip(where, "empty after cleaning")
        return None
    title, date, url = cleaned.title, cleaned.date, None
    if meta:
        title = title or (" ".join(meta["title"].split()) if meta.get("title") else None)
        published = meta.get("article:published_time") or meta.get("date") or ""
        m = _ISO_PREFIX_RE.match(published.strip())
        if date is None and m is not None:
            date = m.group(0)
        url = meta.get("og:url") or meta.get("canonical") or None
    return Document(
        doc_id=path.stem,
        text=cleaned.text,
        title=title,
        date=date,
        source=cleaned.source,
        author=cleaned.author,
        url=url,
        path=where,
    )


def _text_id(text: str) -> str:
    return "h" + hashlib.sha1(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


def _str_field(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _open_jsonl(path: Path, suffix: str) -> io.BufferedIOBase:
    if suffix == ".jsonl.gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _load_jsonl(path: Path, suffix: str, seen: set[str], on_skip: SkipCallback) -> Iterator[Document]:
    lines_seen = 0
    try:
        with _open_jsonl(path, suffix) as fh:
            for lineno, raw_line in enumerate(fh, start=1):
                if not raw_line.strip():
                    continue
                lines_seen += 1
                where = f"{path}#{lineno}"
                try:
                    try:
                        record = json.loads(raw_line)
                    except UnicodeDecodeError:
                        record = json.loads(raw_line.decode("cp1258", errors="replace"))
                except ValueError as exc:
                    on_skip(where, f"malformed JSON: {exc}")
                    continue
                if not isinstance(record, dict):
                    on_skip(where, f"malformed JSON: expected an object, got {type(record).__name__}")
                    continue
                doc = record_document(record, where, seen, on_skip)
                if doc is not None:
                    seen.add(doc.doc_id)
                    yield doc
    except (OSError, EOFError, zlib.error) as exc:
        on_skip(str(path), f"unreadable: {exc}")
        return
    if lines_seen == 0:
        on_skip(str(path), "empty file")


def record_document(
    record: dict[str, Any], where: str, seen: set[str], on_skip: SkipCallback
) -> Document | None:
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        on_skip(where, "record has no text")
        return None
    raw_id = record.get("id")
    if raw_id is None or isinstance(raw_id, bool) or (isinstance(raw_id, str) and not raw_id.strip()):
        doc_id = _text_id(text)
    else:
        doc_id = str(raw_id).strip()
    if doc_id in seen:
        on_skip(where, f"duplicate doc_id {doc_id!r}")
        return None
    cleaned = clean_article(text, title=_str_field(record, "title"))
    if not cleaned.text:
        on_skip(where, "empty after cleaning")
        return None
    return Document(
        doc_id=doc_id,
        text=cleaned.text,
        title=cleaned.title,
        date=_str_field(record, "date") or cleaned.date,
        source=_str_field(record, "source") or cleaned.source,
        author=_str_field(record, "author") or cleaned.author,
        url=_str_field(record, "url"),
        path=where,
        extra={k: v for k, v in record.items() if k not in _RECORD_FIELDS},
    )


def load_documents(paths: Sequence[str | Path], *, on_skip: SkipCallback | None = None) -> Iterator[Document]:
    """Stream cleaned documents from files and directories (see the module docstring).

    Lazily yields documents in a deterministic order; every skipped input is
    reported as ``on_skip(where, reason)`` (``where`` = path, or ``path#line``
    for a JSONL record), or logged as a ``ttqa.corpus`` warning.
    """
    report: SkipCallback = on_skip or _log_skip
    seen: set[str] = set()
    for path in _walk(paths, report):
        suffix = _suffix(path)
        if suffix in JSONL_SUFFIXES:
            yield from _load_jsonl(path, suffix, seen, report)
            continue
        if suffix not in TEXT_SUFFIXES and suffix not in HTML_SUFFIXES:
            report(str(path), f"unsupported file type {suffix or '(no extension)'!r}")
            continue
        if path.stem in seen:
            report(str(path), f"duplicate doc_id {path.stem!r}")
            continue
        doc = _load_text_file(path, suffix, report)
        if doc is not None:
            seen.add(doc.doc_id)
            yield doc


def _count_lines(path: Path, suffix: str) -> int:
    count = 0
    last = b"\n"
    with _open_jsonl(path, suffix) as fh:
        while chunk := fh.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def count_documents_hint(paths: Sequence[str | Path]) -> int | None:
    """Rough number of documents (files + JSONL lines), for progress bars; ``None`` if unknown."""

    def ignore(where: str, reason: str) -> None:
        return None

    total = 0
    try:
        for path in _walk(paths, ignore):
            suffix = _suffix(path)
            if suffix in JSONL_SUFFIXES:
                total += _count_lines(path, suffix)
            elif suffix in SUPPORTED_SUFFIXES:
                total += 1
    except (OSError, EOFError, zlib.error):
        return None
    return total
