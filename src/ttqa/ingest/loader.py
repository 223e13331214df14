"""Load articles from files and directories as cleaned :class:`~ttqa.schema.Document` objects.

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
  of the SHA-1 of the text when it has none); ``path`` = ``file#line``.  A
  ``.jsonl`` file that is really gzip data, or UTF-16/32 text with a BOM, is
  read as such; a line that is not UTF-8 is decoded like a legacy text file.

Every text goes through :func:`ttqa.ingest.cleaning.clean_article`.  Nothing raises on
bad input: unsupported or unreadable files, empty and binary files, malformed
JSON lines, records without text, articles that clean to nothing and
duplicate ``doc_id`` values are skipped and reported through ``on_skip(where,
reason)`` (or a ``ttqa.ingest.loader`` warning when no callback is given).

Text decoding (:func:`decode_bytes`): a BOM decides (UTF-8, UTF-16, UTF-32);
UTF-16 without a BOM is recognised by its NUL bytes; otherwise UTF-8 (a file
that is UTF-8 but for a few bad bytes, or cut in the middle of a character,
keeps its UTF-8 reading with U+FFFD for the bad bytes), then the page's
``<meta charset>`` (HTML only), then the legacy Vietnamese 8-bit encodings
Windows-1258, TCVN3 (ABC) and VNI-Windows, told apart by
:mod:`ttqa.text.legacy_encodings`; the result is NFC.  Files that are not text are
skipped as ``binary file (...)``: known formats by their signature (PDF, PNG,
JPEG, GIF, ZIP/Office, gzip, ...), others by their NUL or control bytes.
Vietnamese text in an 8-bit encoding none of these reads is skipped as
``unrecognised 8-bit encoding`` rather than indexed as mojibake.

Limits: a text/HTML file larger than :data:`MAX_FILE_BYTES` and a JSONL line
longer than :data:`MAX_RECORD_BYTES` are skipped (``file too large``,
``record too large``) without being read into memory; JSONL files are
streamed, so their total size is not limited.

Stored strings are NFC and valid Unicode: lone surrogates (from an
undecodable file name or a broken ``\\ud83d`` escape in JSON) become U+FFFD in
ids, paths and metadata and are dropped from the text and the title.

Duplicates: a second document with the same ``doc_id`` is skipped as
``duplicate doc_id``.  The same text under two ids (one article from two
outlets) is kept twice: both are real sources to cite.

Directory walks are sorted by name (deterministic), follow symbolic links,
visit each real directory once (symlink loops are reported, not followed),
report broken links, link loops and special files (FIFOs are never opened) and
skip hidden entries (names starting with ``.``) silently.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import gzip
import hashlib
import io
import json
import logging
import os
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ttqa.errors import TTQAInputError
from ttqa.ingest.cleaning import clean_article
from ttqa.schema import Document
from ttqa.text.legacy_encodings import decode_legacy, guess_legacy_encoding, vietnamese_score

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_RECORD_BYTES",
    "SUPPORTED_SUFFIXES",
    "BinaryFileError",
    "SkipCallback",
    "TextDecodeError",
    "UnknownEncodingError",
    "clean_str",
    "count_documents_hint",
    "decode_bytes",
    "html_to_text",
    "load_documents",
    "record_document",
    "sniff_binary",
]

logger = logging.getLogger("ttqa.ingest.loader")

SkipCallback = Callable[[str, str], None]

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, *JSONL_SUFFIXES)

_RECORD_FIELDS = frozenset({"id", "title", "text", "date", "url", "source", "author"})


# --------------------------------------------------------------------------- decoding


MAX_FILE_BYTES = 16 << 20
"""A .txt/.md/.html file larger than this is not one article: skipped unread."""
MAX_RECORD_BYTES = 16 << 20
"""A JSONL line longer than this is skipped without being held in memory."""


class TextDecodeError(TTQAInputError):
    """The bytes cannot be read as text; the message is the skip reason."""


class BinaryFileError(TextDecodeError):
    """The bytes are not text (a known binary format, NUL or control bytes)."""


class UnknownEncodingError(TextDecodeError):
    """Vietnamese text in an 8-bit encoding that ttqa cannot read (would be mojibake)."""


_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"PK\x03\x04", "ZIP archive or Office document"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "MS Office document"),
    (b"{\\rtf", "RTF document"),
    (b"\x7fELF", "executable"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg media"),
    (b"\x1aE\xdf\xa3", "Matroska/WebM video"),
    (b"SQLite format 3\x00", "SQLite database"),
)
_RIFF_KINDS = {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}
# C0 bytes no text file has (tab, newlines, form feed, ESC and the TCVN3 upper-case letters allowed).
_CONTROL_BYTES = bytes(b for b in [*range(0x20), 0x7F] if b not in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B))
_TCVN3_LETTER_BYTES = b"\x01\x02\x04\x05\x06\x11\x12\x13\x14\x15\x16\x17"
_BINARY_CONTROLS = bytes(b for b in _CONTROL_BYTES if b not in _TCVN3_LETTER_BYTES)
_SAMPLE = 1 << 16


def sniff_binary(data: bytes) -> str | None:
    """The kind of a known binary format ("PDF document", ...) from the first bytes, else ``None``."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(b"BZh") and data[3:4].isdigit() and data[4:10] == b"1AY&SY":
        return "bzip2 data"
    if data.startswith(b"RIFF") and data[8:12] in _RIFF_KINDS:
        return _RIFF_KINDS[data[8:12]]
    if data[4:8] == b"ftyp":
        return "MP4/QuickTime media"
    return None


def _sniff_utf16(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` for BOM-less UTF-16 text (NUL high bytes on one side), else ``None``."""
    sample = data[: _SAMPLE - (_SAMPLE % 2)]
    sample = sample[: len(sample) - len(sample) % 2]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    nul_even, nul_odd = sample[0::2].count(0), sample[1::2].count(0)
    if nul_odd >= 0.3 * pairs and nul_even <= 0.02 * pairs:
        encoding = "utf-16-le"
    elif nul_even >= 0.3 * pairs and nul_odd <= 0.02 * pairs:
        encoding = "utf-16-be"
    else:
        return None
    text = sample.decode(encoding, errors="replace")
    good = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r\f")
    return encoding if good >= 0.98 * len(text) and text.count("\ufffd") <= 0.01 * len(text) else None


def _mostly_utf8(data: bytes, exc: UnicodeDecodeError) -> bool:
    """UTF-8 but for a cut last character or a few bad bytes (not a legacy 8-bit file)."""
    if exc.start >= len(data) - 3 and "unexpected end" in exc.reason:
        return True
    text = data[:_SAMPLE].decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    return good >= 20 and bad * 50 <= good


def decode_bytes(data: bytes, *, html: bool = False) -> str:
    """Decode the bytes of a text file (see the module docstring for the order); NFC result.

    Raises :class:`BinaryFileError` for data that is not text and
    :class:`UnknownEncodingError` for Vietnamese in an unsupported 8-bit encoding;
    never raises on a few bad bytes (they become U+FFFD).
    """
    if data.startswith(codecs.BOM_UTF8):
        return _nfc(data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"))
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _nfc(data.decode("utf-32", errors="replace"))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _nfc(data.decode("utf-16", errors="replace"))
    kind = sniff_binary(data)
    if kind is not None:
        raise BinaryFileError(f"binary file ({kind})")
    if b"\x00" in data:
        encoding = _sniff_utf16(data)
        if encoding is None:
            raise BinaryFileError("binary file (NUL bytes)")
        return _nfc(data[: len(data) - len(data) % 2].decode(encoding, errors="replace"))
    sample = data[:_SAMPLE]
    controls = len(sample) - len(sample.translate(None, _BINARY_CONTROLS))
    if controls > max(4, len(sample) // 100):
        raise BinaryFileError("binary file (control bytes)")
    try:
        return _nfc(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        if _mostly_utf8(data, exc):
            return _nfc(data.decode("utf-8", errors="replace"))
    declared: str | None = None
    if html:
        m = _META_CHARSET_RE.search(data[:4096])
        if m is not None:
            with contextlib.suppress(LookupError):
                declared = _nfc(data.decode(m.group(1).decode("ascii"), errors="replace"))
    encoding = guess_legacy_encoding(data)
    if encoding is None:
        if declared is not None:
            return declared
        raise UnknownEncodingError(
            "unrecognised 8-bit encoding (Vietnamese, but not UTF-8, UTF-16, Windows-1258, TCVN3 or VNI); "
            "convert the file to UTF-8"
        )
    text, _ = decode_legacy(data, encoding)
    if declared is not None and vietnamese_score(declared[:_SAMPLE]) >= vietnamese_score(text[:_SAMPLE]):
        return declared
    return text


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


_SURROGATES_RE = re.compile("[\ud800-\udfff]")


def clean_str(value: str) -> str:
    """NFC with lone surrogates (undecodable file names, broken JSON escapes) replaced by U+FFFD."""
    return _nfc(_SURROGATES_RE.sub("\ufffd", value))


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_str(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean_str(str(k)): _clean_json(v) for k, v in value.items()}
    return value


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


def _where(path: str | Path) -> str:
    """A path as reported and stored: valid Unicode even for an undecodable file name."""
    return clean_str(str(path))


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _not_regular(path: Path) -> str:
    """Why ``path`` (not a directory, not a regular file) is skipped."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if os.path.islink(path):
            return "broken symbolic link"
        if exc.errno == errno.ENOENT:
            return "not found"
        return f"unreadable: {exc.strerror or exc}"
    return "not a regular file (FIFO, socket or device)"


def _walk(paths: Sequence[str | Path], on_skip: SkipCallback) -> Iterator[Path]:
    visited: set[tuple[int, int]] = set()

    def walk_dir(directory: Path) -> Iterator[Path]:
        try:
            st = directory.stat()
        except OSError as exc:
            on_skip(_where(directory), f"unreadable directory: {exc.strerror or exc}")
            return
        key = (st.st_dev, st.st_ino)
        if key in visited:
            on_skip(_where(directory), "directory already visited (symlink loop or duplicate path)")
            return
        visited.add(key)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            on_skip(_where(directory), f"unreadable directory: {exc.strerror or exc}")
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
                on_skip(_where(path), _not_regular(path))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from walk_dir(path)
        elif path.is_file():
            yield path
        else:
            on_skip(_where(path), _not_regular(path))


# --------------------------------------------------------------------------- loading


def _accept(doc: Document, where: str, seen: set[str], on_skip: SkipCallback) -> bool:
    """Record ``doc``'s id, or report it as a duplicate id and return False."""
    if doc.doc_id in seen:
        on_skip(where, f"duplicate doc_id {doc.doc_id!r}")
        return False
    seen.add(doc.doc_id)
    return True


def _read_file(path: Path, where: str, on_skip: SkipCallback) -> bytes | None:
    """The file's bytes, or ``None`` (reported) when unreadable or over :data:`MAX_FILE_BYTES`."""
    too_large = f"file too large (over {_mib(MAX_FILE_BYTES)}; one article is expected per file)"
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_FILE_BYTES:
                on_skip(where, f"file too large ({_mib(size)}; one article is expected per file)")
                return None
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        on_skip(where, f"unreadable: {exc.strerror or exc}")
        return None
    if len(data) > MAX_FILE_BYTES:  # grew while being read
        on_skip(where, too_large)
        return None
    return data


def _load_text_file(path: Path, suffix: str, on_skip: SkipCallback) -> Document | None:
    where = _where(path)
    data = _read_file(path, where, on_skip)
    if data is None:
        return None
    if not data.strip():
        on_skip(where, "empty file")
        return None
    try:
        text = decode_bytes(data, html=suffix in HTML_SUFFIXES)
    except TextDecodeError as exc:
        on_skip(where, str(exc))
        return None
    del data
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
        doc_id=clean_str(path.stem),
        text=cleaned.text,
        title=clean_str(title) if title else None,
        date=date,
        source=cleaned.source,
        author=cleaned.author,
        url=clean_str(url) if url else None,
        path=where,
    )


def _text_id(text: str) -> str:
    return "h" + hashlib.sha1(clean_str(text).encode("utf-8")).hexdigest()[:16]


def _str_field(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if isinstance(value, str) and value.strip():
        return clean_str(value.strip())
    return None


def _open_jsonl(path: Path, suffix: str) -> io.BufferedIOBase:
    """Binary stream of a JSONL file (gzip-compressed when named .gz or when it starts like gzip)."""
    if suffix != ".jsonl.gz":
        with path.open("rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        if not gzipped:
            return path.open("rb")
    return gzip.open(path, "rb")


def _jsonl_lines(fh: io.BufferedIOBase) -> Iterator[tuple[int, Any]]:
    """``(line number, line)``: bytes, or str for a UTF-16/32 file (BOM), or ``None`` for a
    line over :data:`MAX_RECORD_BYTES` (read past in pieces, never held whole)."""
    peek = getattr(fh, "peek", None)
    head = peek(4)[:4] if peek is not None else b""
    stream: Any = fh
    newline: Any = b"\n"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        stream, newline = io.TextIOWrapper(fh, encoding="utf-32", errors="replace"), "\n"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        stream, newline = io.TextIOWrapper(fh, encoding="utf-16", errors="replace"), "\n"
    piece = 1 << 20
    lineno = 0
    while line := stream.readline(piece):
        lineno += 1
        if not line.endswith(newline):  # a long line (or the last one): read on in pieces
            parts, size = [line], len(line)
            while size <= MAX_RECORD_BYTES and (more := stream.readline(piece)):
                parts.append(more)
                size += len(more)
                if more.endswith(newline):
                    break
            if size > MAX_RECORD_BYTES:
                complete = parts[-1].endswith(newline)
                del parts
                while not complete and (more := stream.readline(piece)):
                    complete = more.endswith(newline)
                yield lineno, None
                continue
            line = parts[0][:0].join(parts)
        yield lineno, line


def _parse_json_line(line: bytes | str) -> Any:
    if isinstance(line, str):
        return json.loads(line)
    try:
        return json.loads(line)
    except UnicodeDecodeError:
        return json.loads(decode_bytes(line))  # not UTF-8: a legacy 8-bit line


def _load_jsonl(path: Path, suffix: str, seen: set[str], on_skip: SkipCallback) -> Iterator[Document]:
    file_where = _where(path)
    lines_seen = 0
    try:
        with _open_jsonl(path, suffix) as fh:
            peek = getattr(fh, "peek", None)
            kind = sniff_binary(peek(16)[:16]) if peek is not None else None
            if kind is not None:
                on_skip(file_where, f"binary file ({kind})")
                return
            for lineno, line in _jsonl_lines(fh):
                where = f"{file_where}#{lineno}"
                if line is None:
                    lines_seen += 1
                    on_skip(where, f"record too large (line over {_mib(MAX_RECORD_BYTES)})")
                    continue
                if not line.strip():
                    continue
                lines_seen += 1
                try:
                    record = _parse_json_line(line)
                except BinaryFileError as exc:
                    on_skip(where, f"malformed JSON: {exc}")
                    continue
                except TextDecodeError as exc:
                    on_skip(where, str(exc))
                    continue
                except RecursionError:
                    on_skip(where, "malformed JSON: nested too deeply")
                    continue
                except ValueError as exc:
                    on_skip(where, f"malformed JSON: {exc}")
                    continue
                if not isinstance(record, dict):
                    on_skip(where, f"malformed JSON: expected an object, got {type(record).__name__}")
                    continue
                doc = record_document(record, where, seen, on_skip)
                if doc is not None and _accept(doc, where, seen, on_skip):
                    yield doc
    except (OSError, EOFError, zlib.error) as exc:
        on_skip(file_where, f"unreadable: {exc}")
        return
    if lines_seen == 0:
        on_skip(file_where, "empty file")


def record_document(
    record: dict[str, Any], where: str, seen: set[str], on_skip: SkipCallback
) -> Document | None:
    """The cleaned :class:`Document` of one JSONL record, or ``None`` (reported through ``on_skip``)."""
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        on_skip(where, "record has no text")
        return None
    raw_id = record.get("id")
    if raw_id is None or isinstance(raw_id, bool) or (isinstance(raw_id, str) and not raw_id.strip()):
        doc_id = _text_id(text)
    elif isinstance(raw_id, str | int | float):
        doc_id = clean_str(str(raw_id).strip())
    else:
        on_skip(where, f"record id must be a string or a number, not {type(raw_id).__name__}")
        return None
    if doc_id in seen:
        on_skip(where, f"duplicate doc_id {doc_id!r}")
        return None
    title = record.get("title")
    cleaned = clean_article(text, title=title if isinstance(title, str) and title.strip() else None)
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
        extra={clean_str(str(k)): _clean_json(v) for k, v in record.items() if k not in _RECORD_FIELDS},
    )


def load_documents(paths: Sequence[str | Path], *, on_skip: SkipCallback | None = None) -> Iterator[Document]:
    """Stream cleaned documents from files and directories (see the module docstring).

    Lazily yields documents in a deterministic order; every skipped input is
    reported as ``on_skip(where, reason)`` (``where`` = path, or ``path#line``
    for a JSONL record), or logged as a ``ttqa.ingest.loader`` warning.
    """
    report: SkipCallback = on_skip or _log_skip
    seen: set[str] = set()
    for path in _walk(paths, report):
        suffix = _suffix(path)
        if suffix in JSONL_SUFFIXES:
            yield from _load_jsonl(path, suffix, seen, report)
            continue
        where = _where(path)
        if suffix not in TEXT_SUFFIXES and suffix not in HTML_SUFFIXES:
            report(where, f"unsupported file type {clean_str(suffix) or '(no extension)'!r}")
            continue
        doc_id = clean_str(path.stem)
        if doc_id in seen:
            report(where, f"duplicate doc_id {doc_id!r}")
            continue
        doc = _load_text_file(path, suffix, report)
        if doc is not None and _accept(doc, where, seen, report):
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
