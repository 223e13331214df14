"""Bad corpus input: every file is either ingested as the right NFC Vietnamese text or skipped
with a reason that names it, and ``ttqa index`` finishes and reports the skips.

The articles are real (the bundled seed corpus and the shared party-organisation news set);
legacy encodings are produced by encoders written here from the encodings' definitions.
The index builds use the deterministic ``hashing-64`` embedder: only the plumbing is tested.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tracemalloc
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import TONES, local_backend, to_cp1258
from ttqa import QA
from ttqa.index.layout import current_version_dir
from ttqa.ingest.cleaning import clean_article
from ttqa.ingest.loader import MAX_FILE_BYTES, MAX_RECORD_BYTES, decode_bytes, html_to_text, load_documents
from ttqa.schema import Document
from ttqa.text.legacy_encodings import decode_tcvn3, decode_vni, guess_legacy_encoding

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
PARTY_ORG = ROOT.parent / "shared" / "data" / "news_vi" / "party_org_606.jsonl"

pytestmark = pytest.mark.skipif(not PARTY_ORG.exists(), reason="shared news data set not available")


# --------------------------------------------------------------------------- real articles


def _records() -> list[dict[str, str]]:
    if not PARTY_ORG.exists():
        return []
    with PARTY_ORG.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


_RECORDS = _records()


def article(i: int) -> str:
    """Title line, blank line, body: a real article as it would be saved to a .txt file."""
    rec = _RECORDS[i]
    return f"{rec['title']}\n\n{rec['text']}\n"


def cleaned(text: str) -> str:
    return clean_article(text).text


# --------------------------------------------------------------------------- encoders

# Punctuation the 8-bit TCVN3 table has no room for: such files were typed with ASCII.
ASCII_PUNCT = {"–": "-", "—": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "…": "...", "•": "-", "\xa0": " "}


def ascii_punct(text: str) -> str:
    return "".join(ASCII_PUNCT.get(ch, ch) for ch in text)


# VNI-Windows: ASCII base letter + one mark byte (cp1252 glyph); upper-case marks are 0x20 lower.
_VNI_TONE = {"\u0301": 0xF9, "\u0300": 0xF8, "\u0309": 0xFB, "\u0303": 0xF5, "\u0323": 0xEF}
_VNI_CIRC = {"": 0xE2, "\u0301": 0xE1, "\u0300": 0xE0, "\u0309": 0xE5, "\u0303": 0xE3, "\u0323": 0xE4}
_VNI_BREVE = {"": 0xEA, "\u0301": 0xE9, "\u0300": 0xE8, "\u0309": 0xFA, "\u0303": 0xFC, "\u0323": 0xEB}
_VNI_I = {"\u0301": 0xED, "\u0300": 0xEC, "\u0309": 0xE6, "\u0303": 0xF3, "\u0323": 0xF2}


def to_vni(text: str) -> bytes:
    out = bytearray()
    for ch in text:
        nfd = unicodedata.normalize("NFD", ch)
        base, marks = nfd[0], nfd[1:]
        if ch.isascii() or (ch not in "đĐ" and not (base.isascii() and base.isalpha())):
            out += ch.encode("cp1252")
            continue
        shift = 0x20 if ch.isupper() else 0
        tone = next((m for m in marks if m in TONES), "")
        if ch in "đĐ":
            out.append(0xF1 - shift)
        elif "\u031b" in marks:  # horn: ơ ư are one byte, the tone mark follows
            out.append((0xF4 if base in "oO" else 0xF6) - shift)
            if tone:
                out.append(_VNI_TONE[tone] - shift)
        elif "\u0302" in marks:
            out += base.encode() + bytes([_VNI_CIRC[tone] - shift])
        elif "\u0306" in marks:
            out += base.encode() + bytes([_VNI_BREVE[tone] - shift])
        elif base in "iI":
            out.append(_VNI_I[tone] - shift)
        elif base in "yY" and tone == "\u0323":
            out.append(0xEE - shift)
        else:
            out += base.encode() + bytes([_VNI_TONE[tone] - shift])
    return bytes(out)


def _tcvn3_encoder() -> dict[str, int]:
    table: dict[str, int] = {}
    for b in range(255, -1, -1):
        ch = decode_tcvn3(bytes([b]))
        if len(ch) == 1:
            table[ch] = b
    return table


_TCVN3 = _tcvn3_encoder()


def to_tcvn3(text: str) -> bytes:
    return bytes(_TCVN3[ch] if ch in _TCVN3 else ord(ch) for ch in text)  # ValueError if not encodable


def to_unknown_8bit(text: str) -> bytes:
    """Vietnamese in an 8-bit code page ttqa does not know (stands in for VISCII, VPS, ...)."""
    chars = sorted({ch for ch in text if not ch.isascii()})
    assert len(chars) <= 128
    page = {ch: 0x80 + n for n, ch in enumerate(chars)}
    return bytes(page[ch] if ch in page else ord(ch) for ch in text)


# --------------------------------------------------------------------------- binary files


def pdf_bytes() -> bytes:
    """A small but well-formed PDF 1.4 (one page, a compressed content stream, xref table)."""
    content = zlib.compress(b"BT /F1 12 Tf 72 720 Td (Bao cao tong ket cong tac to chuc) Tj ET")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_bytes() -> bytes:
    """A valid 16x16 RGB PNG (signature, IHDR, IDAT, IEND with CRCs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(
        b"\x00" + bytes((x * 16, y * 16, 128)[c] for x in range(16) for c in range(3)) for y in range(16)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", "<w:document><w:t>Công tác tổ chức</w:t></w:document>")
    return buf.getvalue()


# --------------------------------------------------------------------------- the bad corpus


class BadCorpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.expected: dict[str, str] = {}  # doc_id -> stored text
        self.skips: dict[str, str] = {}  # where -> reason (a prefix for long messages)

    def ingest(self, name: str, data: bytes, text: str, *, doc_id: str | None = None) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.expected[doc_id or Path(name).stem] = text
        return path

    def skip(self, name: str, data: bytes | None, reason: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            path.write_bytes(data)
        self.skips[str(path)] = reason
        return path


def make_bad_corpus(root: Path) -> BadCorpus:
    c = BadCorpus(root)
    root.mkdir(parents=True)
    rng = random.Random(1258)

    c.ingest("a_utf8.txt", article(0).encode(), cleaned(article(0)))
    # UTF-16, with and without byte-order mark, both byte orders.
    c.ingest("b_utf16_bom.txt", article(1).encode("utf-16"), cleaned(article(1)))
    c.ingest("b_utf16be_bom.txt", b"\xfe\xff" + article(2).encode("utf-16-be"), cleaned(article(2)))
    c.ingest("b_utf16le_nobom.txt", article(3).encode("utf-16-le"), cleaned(article(3)))
    c.ingest("b_utf16be_nobom.txt", article(4).encode("utf-16-be"), cleaned(article(4)))
    # Windows-1258 with combining tone marks: composed to NFC.
    cp = to_cp1258(article(5))
    assert b"\xec" in cp and b"\xf2" in cp  # combining acute and dot below really are in the bytes
    c.ingest("c_cp1258.txt", cp, cleaned(article(5)))
    # TCVN3 (ABC) and VNI-Windows: converted.
    c.ingest("c_tcvn3.txt", to_tcvn3(ascii_punct(article(6))), cleaned(ascii_punct(article(6))))
    c.ingest("c_vni.txt", to_vni(article(7)), cleaned(article(7)))
    # Vietnamese in an 8-bit encoding nothing reads: skipped, not indexed as mojibake.
    c.skip("c_unknown_8bit.txt", to_unknown_8bit(article(8)), "unrecognised 8-bit encoding")
    # NFD (decomposed) UTF-8: stored NFC.
    nfd = unicodedata.normalize("NFD", article(9))
    assert nfd != article(9)
    c.ingest("d_nfd.txt", nfd.encode(), cleaned(article(9)))
    # UTF-8 with one stray byte, and UTF-8 cut inside the last character: UTF-8 kept.
    text = article(10)
    cut = text.index(" ", 300) + 1
    c.ingest(
        "e_stray_byte.txt",
        text[:cut].encode() + b"\xff" + text[cut:].encode(),
        cleaned(text[:cut] + "\ufffd" + text[cut:]),
    )
    data = article(11).encode()
    end = max(i for i in range(len(data) - 40, len(data)) if data[i] >= 0xC0)  # a lead byte
    c.ingest(
        "e_truncated.txt", data[: end + 1], cleaned(data[:end].decode() + "\ufffd")
    )  # lead byte, continuation lost
    # HTML: declared windows-1258; and an old TCVN3 page that claims iso-8859-1.  Both must give
    # what the same page in UTF-8 gives.
    page12 = html_page(article(12), '<meta charset="windows-1258">')
    c.ingest("f_page_cp1258.html", to_cp1258(page12), html_expected(page12))
    page13 = html_page(
        ascii_punct(article(13)), '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    )
    c.ingest("f_page_tcvn3.htm", to_tcvn3(page13), html_expected(page13))

    # Empty, blank, binary.
    c.skip("g_empty.txt", b"", "empty file")
    c.skip("g_blank.md", b"  \n\t\n\r\n", "empty file")
    noise = rng.randbytes(4096)
    c.skip("h_random.txt", noise[:100] + b"\x00" + noise[100:], "binary file (NUL bytes)")
    c.skip("h_random_no_nul.txt", noise.replace(b"\x00", b"\x01"), "binary file (control bytes)")
    c.skip("i_report.pdf", pdf_bytes(), "unsupported file type '.pdf'")
    c.skip("i_scan.txt", pdf_bytes(), "binary file (PDF document)")
    c.skip("i_photo.png", png_bytes(), "unsupported file type '.png'")
    c.skip("i_photo.html", png_bytes(), "binary file (PNG image)")
    c.skip("i_document.txt", docx_bytes(), "binary file (ZIP archive or Office document)")
    c.skip("i_no_extension", article(14).encode(), "unsupported file type '(no extension)'")

    # Same name in another folder: the second is a duplicate id.
    c.skip("z_sub/a_utf8.txt", article(15).encode(), "duplicate doc_id 'a_utf8'")

    # A file name that is not UTF-8 (a legacy-encoded name): ingested, reported names are valid text.
    weird = root / os.fsdecode(b"j_t\xean_b\xe0i.txt")
    weird.write_bytes(article(16).encode())
    c.expected["j_t\ufffdn_b\ufffdi"] = cleaned(article(16))

    # Links and special files.
    links = root / "k_links"
    links.mkdir()
    os.symlink(root, links / "loop_dir", target_is_directory=True)
    c.skips[str(links / "loop_dir")] = "directory already visited (symlink loop or duplicate path)"
    os.symlink("self.txt", links / "self.txt")
    c.skips[str(links / "self.txt")] = "symbolic link loop"
    os.symlink("ping.txt", links / "pong.txt")
    os.symlink("pong.txt", links / "ping.txt")
    c.skips[str(links / "ping.txt")] = "symbolic link loop"
    c.skips[str(links / "pong.txt")] = "symbolic link loop"
    os.symlink("does-not-exist.txt", links / "broken.txt")
    c.skips[str(links / "broken.txt")] = "broken symbolic link"
    os.mkfifo(links / "fifo.txt")  # opening it would block forever
    c.skips[str(links / "fifo.txt")] = "not a regular file (FIFO, socket or device)"

    # JSONL: good and bad records, one file.
    jl = str(root / "l_records.jsonl")
    rec17, rec18, rec19, rec20 = (_RECORDS[i] for i in (17, 18, 19, 20))
    lines: list[bytes] = [
        b"\xef\xbb\xbf" + json.dumps({"id": "r17", "title": rec17["title"], "text": rec17["text"]}).encode(),
        b'{"id": "broken", "text": "thi\xe1\xba\xbfu ngo\xe1\xba\xb7c"',
        json.dumps({"id": "notext", "title": rec18["title"]}, ensure_ascii=False).encode(),
        b'{"id": "nulltext", "text": null}',
        b'{"id": "numtext", "text": 42}',
        json.dumps({"id": ["r", 1], "text": rec18["text"]}, ensure_ascii=False).encode(),
        json.dumps({"id": "r17", "text": rec18["text"]}, ensure_ascii=False).encode(),
        json.dumps(
            {
                "id": "r18_nfd",
                "title": unicodedata.normalize("NFD", rec18["title"]),
                "text": unicodedata.normalize("NFD", rec18["text"]),
                "source": unicodedata.normalize("NFD", "Báo Đảng bộ tỉnh"),
            },
            ensure_ascii=False,
        ).encode(),
        # A broken emoji: a lone surrogate escape, in the text, the title and an extra field.
        json.dumps(
            {
                "id": "r19",
                "title": "\ud83d" + rec19["title"],
                "text": rec19["text"] + " \ud83d",
                "tag": "x\udc00",
            }
        ).encode(),
        b"[" * 100_000,
        b"[1, 2, 3]",
        to_cp1258(json.dumps({"id": "r20_cp1258", "text": rec20["text"]}, ensure_ascii=False)),
        b"\x00\x01\x02 not json \x00",
    ]
    (root / "l_records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    c.expected["r17"] = cleaned_record(rec17)
    c.expected["r18_nfd"] = cleaned_record(rec18)
    c.expected["r19"] = cleaned_record(rec19)
    c.expected["r20_cp1258"] = cleaned(rec20["text"])
    c.skips.update(
        {
            f"{jl}#2": "malformed JSON",
            f"{jl}#3": "record has no text",
            f"{jl}#4": "record has no text",
            f"{jl}#5": "record has no text",
            f"{jl}#6": "record id must be a string or a number, not list",
            f"{jl}#7": "duplicate doc_id 'r17'",
            f"{jl}#10": "malformed JSON: nested too deeply",
            f"{jl}#11": "malformed JSON: expected an object, got list",
            f"{jl}#13": "malformed JSON: binary file (NUL bytes)",
        }
    )
    # JSONL in UTF-16 (BOM), gzip data named .jsonl, an image named .jsonl, an empty one.
    rec21, rec22 = _RECORDS[21], _RECORDS[22]
    c.ingest(
        "m_utf16.jsonl",
        (
            json.dumps({"id": "r21", "title": rec21["title"], "text": rec21["text"]}, ensure_ascii=False)
            + "\n"
        ).encode("utf-16"),
        cleaned_record(rec21),
        doc_id="r21",
    )
    c.ingest(
        "m_gzipped.jsonl",
        gzip.compress(json.dumps({"id": "r22", "title": rec22["title"], "text": rec22["text"]}).encode()),
        cleaned_record(rec22),
        doc_id="r22",
    )
    c.skip("m_picture.jsonl", png_bytes(), "binary file (PNG image)")
    c.skip("m_empty.jsonl", b"\n\n", "empty file")
    return c


def html_page(text: str, meta: str) -> str:
    title, body = text.split("\n\n", 1)
    paragraphs = "".join(f"<p>{line}</p>\n" for line in body.splitlines() if line.strip())
    return (
        f"<html><head>{meta}<title>{title}</title></head><body><h1>{title}</h1>\n{paragraphs}</body></html>"
    )


def html_expected(page: str) -> str:
    text, meta = html_to_text(page)
    return clean_article(text, title=meta.get("og:title")).text


def cleaned_record(rec: dict[str, str]) -> str:
    return clean_article(rec["text"], title=rec["title"]).text


@pytest.fixture()
def bad_corpus(tmp_path: Path) -> BadCorpus:
    return make_bad_corpus(tmp_path / "corpus")


def _load(paths: list[Path]) -> tuple[dict[str, Document], dict[str, str]]:
    skipped: dict[str, str] = {}

    def on_skip(where: str, reason: str) -> None:
        assert where not in skipped, f"{where} reported twice"
        skipped[where] = reason

    docs: dict[str, Document] = {}
    for doc in load_documents(paths, on_skip=on_skip):
        assert doc.doc_id not in docs
        docs[doc.doc_id] = doc
    return docs, skipped


def _assert_reasons(skipped: dict[str, str], expected: dict[str, str]) -> None:
    assert set(skipped) == set(expected)
    for where, reason in expected.items():
        assert skipped[where].startswith(reason), (where, skipped[where], reason)


def _assert_valid_text(value: str) -> None:
    assert unicodedata.is_normalized("NFC", value)
    value.encode("utf-8")  # no lone surrogates


# --------------------------------------------------------------------------- tests


def test_known_legacy_spellings() -> None:
    # Published examples of each encoding, read as Latin-1 / cp1252 glyphs.
    assert decode_tcvn3("B¶o Th¾ng, M\xadêng Kh\xad¬ng, B¸t X¸t".encode("latin-1")) == (
        "Bảo Thắng, Mường Khương, Bát Xát"
    )
    assert decode_tcvn3("§¶ng bé tØnh".encode("latin-1")) == "Đảng bộ tỉnh"
    assert decode_vni("Vieät Nam, Ñaûng Coäng saûn, Thöôøng vuï Tænh uûy".encode("cp1252")) == (
        "Việt Nam, Đảng Cộng sản, Thường vụ Tỉnh ủy"
    )
    # cp1258 stores the tone as a combining mark after the vowel: decoding composes it.
    assert decode_bytes(b"Vi\xea\xf2t Nam") == "Việt Nam"


@pytest.mark.skipif(shutil.which("iconv") is None, reason="iconv not installed")
def test_tcvn3_table_matches_glibc() -> None:
    for b in range(256):
        ref = subprocess.run(
            ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=bytes([b]), capture_output=True, check=False
        )
        if ref.returncode == 0 and ref.stdout:
            assert decode_tcvn3(bytes([b])) == unicodedata.normalize("NFC", ref.stdout.decode()), hex(b)


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
def test_legacy_encodings_are_told_apart(index: int) -> None:
    text = next(CORPUS.glob(f"00{index}_*.txt")).read_text(encoding="utf-8")
    assert guess_legacy_encoding(to_cp1258(text)) == "cp1258"
    assert guess_legacy_encoding(to_tcvn3(ascii_punct(text))) == "tcvn3"
    assert guess_legacy_encoding(to_vni(text)) == "vni"
    assert guess_legacy_encoding(to_unknown_8bit(text)) is None
    assert decode_bytes(to_cp1258(text)) == text
    assert decode_bytes(to_tcvn3(ascii_punct(text))) == ascii_punct(text)
    assert decode_bytes(to_vni(text)) == text


def test_bad_corpus_is_ingested_or_skipped(bad_corpus: BadCorpus) -> None:
    docs, skipped = _load([bad_corpus.root])
    _assert_reasons(skipped, bad_corpus.skips)
    assert set(docs) == set(bad_corpus.expected)
    for doc_id, text in bad_corpus.expected.items():
        doc = docs[doc_id]
        assert doc.text == text, doc_id
        for value in (doc.doc_id, doc.text, doc.title or "", doc.source or "", doc.path or ""):
            _assert_valid_text(value)
        assert all(m not in doc.text for m in TONES), doc_id  # no loose combining tone marks
    # Metadata survives the damage too.
    assert docs["r18_nfd"].title == _RECORDS[18]["title"]
    assert docs["r18_nfd"].source == "Báo Đảng bộ tỉnh"
    assert docs["r19"].title == _RECORDS[19]["title"]  # the broken emoji is gone
    assert docs["r19"].extra == {"tag": "x\ufffd"}
    assert docs["f_page_cp1258"].title == _RECORDS[12]["title"]
    assert docs["f_page_tcvn3"].title == ascii_punct(_RECORDS[13]["title"])
    assert docs["j_t\ufffdn_b\ufffdi"].path == str(bad_corpus.root / "j_t\ufffdn_b\ufffdi.txt")


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "10000", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "ttqa.interfaces.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_cli_build_reports_skips_and_stores_the_right_text(bad_corpus: BadCorpus, tmp_path: Path) -> None:
    index = tmp_path / "index"
    run = _run_cli(
        "index",
        "--corpus",
        str(bad_corpus.root),
        "--index",
        str(index),
        "--embedder",
        "hashing-64",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    stderr = _flat(run.stderr)
    for where, reason in bad_corpus.skips.items():
        assert f"skipped {where}: {reason}" in stderr, where
    n_docs, n_skips = len(bad_corpus.expected), len(bad_corpus.skips)
    assert f"{n_docs} documents" in _flat(run.stdout)
    assert f"skipped {n_skips} input(s)" in _flat(run.stdout)

    qa = QA.load(index)
    assert {d.doc_id for d in local_backend(qa)} == set(bad_corpus.expected)
    for doc_id, text in bad_corpus.expected.items():
        assert qa.document(doc_id).text == text
    # The converted legacy articles are found by their (Unicode) words.
    tcvn3_title = ascii_punct(_RECORDS[6]["title"])
    assert qa.search(tcvn3_title, k=3, mode="bm25")[0].doc_id == "c_tcvn3"
    assert qa.search(_RECORDS[7]["title"], k=3, mode="bm25")[0].doc_id == "c_vni"


def test_cli_build_of_nothing_but_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "scan.pdf").write_bytes(pdf_bytes())
    (bad / "photo.txt").write_bytes(png_bytes())
    (bad / "records.jsonl").write_text('{"id": 1}\n{"text": \n', encoding="utf-8")
    index = tmp_path / "index"
    run = _run_cli(
        "index", "--corpus", str(bad), "--index", str(index), "--embedder", "hashing-64", cwd=tmp_path
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    stderr = _flat(run.stderr)
    assert "no documents to index" in stderr
    assert f"skipped {bad / 'photo.txt'}: binary file (PNG image)" in stderr
    assert not (index / "CURRENT").exists()
    # The chat builds a missing index first: the same bad corpus is a clear error there too.
    serve = _run_cli("serve", "--corpus", str(bad), "--index", str(index), "--port", "9", cwd=tmp_path)
    assert serve.returncode == 2 and "Traceback" not in serve.stderr
    assert "no documents to index" in _flat(serve.stderr)
    assert not (index / "CURRENT").exists()

    # With a live index, a build from nothing leaves it as it was.
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text(article(30), encoding="utf-8")
    assert (
        _run_cli(
            "index", "-c", str(good), "-i", str(index), "--embedder", "hashing-64", cwd=tmp_path
        ).returncode
        == 0
    )
    live = current_version_dir(index)
    run = _run_cli("index", "-c", str(bad), "-i", str(index), "--embedder", "hashing-64", cwd=tmp_path)
    assert run.returncode == 2 and "the index is unchanged" in _flat(run.stderr)
    assert current_version_dir(index) == live
    assert [d.doc_id for d in local_backend(QA.load(index))] == ["a"]


def test_unreadable_file(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    locked = root / "locked.txt"
    locked.write_text(article(40), encoding="utf-8")
    locked.chmod(0)
    try:
        docs, skipped = _load([root])
        if os.access(locked, os.R_OK):  # root reads anything: then it is simply ingested
            assert os.geteuid() == 0
            assert docs["locked"].text == cleaned(article(40)) and skipped == {}
        else:
            assert docs == {}
            assert skipped == {str(locked): "unreadable: Permission denied"}
    finally:
        locked.chmod(0o644)


def test_read_errors_are_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever runs the tests (root reads chmod-000 files), a failing read is a skip, not a crash."""
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text(article(41), encoding="utf-8")
    (root / "b.txt").write_text(article(42), encoding="utf-8")
    (root / "c.jsonl").write_text(
        json.dumps({"id": "c", "text": _RECORDS[43]["text"]}) + "\n", encoding="utf-8"
    )
    real_open: Callable[..., object] = Path.open

    def failing_open(self: Path, *args: object, **kwargs: object) -> object:
        if self.name in ("b.txt", "c.jsonl"):
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", failing_open)
    docs, skipped = _load([root])
    assert list(docs) == ["a"]
    assert skipped[str(root / "b.txt")] == "unreadable: Permission denied"
    assert skipped[str(root / "c.jsonl")].startswith("unreadable: ")


def _write_huge_text(path: Path, size: int) -> None:
    block = (article(50) * 4).encode()
    with path.open("wb") as fh:
        written = 0
        while written < size:
            fh.write(block)
            written += len(block)


def test_huge_files_are_skipped_without_reading_them(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    _write_huge_text(root / "dump.txt", 50 << 20)
    (root / "small.txt").write_text(article(51), encoding="utf-8")
    # One 50 MB JSONL line between two normal records.
    with (root / "records.jsonl").open("wb") as fh:
        fh.write(json.dumps({"id": "before", "text": _RECORDS[52]["text"]}).encode() + b"\n")
        fh.write(b'{"id": "huge", "text": "')
        chunk = ("Công tác tổ chức xây dựng Đảng. " * 4096).encode()
        for _ in range((50 << 20) // len(chunk) + 1):
            fh.write(chunk)
        fh.write(b'"}\n')
        fh.write(json.dumps({"id": "after", "text": _RECORDS[53]["text"]}).encode() + b"\n")
    assert (root / "dump.txt").stat().st_size > MAX_FILE_BYTES
    tracemalloc.start()
    try:
        docs, skipped = _load([root])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(docs) == ["before", "after", "small"]
    assert skipped[str(root / "dump.txt")].startswith("file too large (50.")
    assert skipped[f"{root / 'records.jsonl'}#2"] == "record too large (line over 16.0 MiB)"
    # Neither 50 MB input was held in memory (the JSONL line is read in 1 MiB pieces).
    assert peak < MAX_RECORD_BYTES + (8 << 20)


def test_huge_jsonl_is_streamed(tmp_path: Path) -> None:
    """50 MB of real records in one JSONL file: every one loaded, memory stays flat."""
    path = tmp_path / "big.jsonl"
    size = 0
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        while size < 50 << 20:
            rec = _RECORDS[n % len(_RECORDS)]
            line = (
                json.dumps({"id": f"r{n}", "title": rec["title"], "text": rec["text"]}, ensure_ascii=False)
                + "\n"
            )
            fh.write(line)
            size += len(line.encode())
            n += 1
    script = (
        "import resource, sys\n"
        "from ttqa.ingest.loader import load_documents\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "count = sum(1 for _ in load_documents([sys.argv[1]]))\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(count, before, after)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    count, before, after = (int(x) for x in run.stdout.split())
    assert count == n
    assert (after - before) * 1024 < 100 << 20  # ru_maxrss is in KiB on Linux; the file is 50 MiB
