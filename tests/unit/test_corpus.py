"""load_documents on a messy directory tree built from the real seed articles."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import logging
import os
import unicodedata
from pathlib import Path

import pytest

from conftest import to_cp1258
from ttqa.ingest.cleaning import clean_article
from ttqa.ingest.loader import count_documents_hint, decode_bytes, html_to_text, load_documents
from ttqa.schema import Document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
NEWS_35K = Path(__file__).resolve().parents[3] / "shared" / "data" / "news_vi" / "news_35k.jsonl.gz"


def _seed(prefix: str) -> str:
    (path,) = CORPUS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


SEED_002_LEAD = (
    "Sáng 3/1, Ban Tổ chức Tỉnh ủy tổ chức Hội nghị tổng kết công tác tổ chức xây dựng Đảng năm 2024, "
    "triển khai nhiệm vụ năm 2025."
)
PARAGRAPH = (
    "Phát biểu tại hội nghị, Phó Bí thư Thường trực Tỉnh ủy Nghệ An Nguyễn Xuân Sơn khẳng định, "
    "thời gian qua, cùng với phát triển kinh tế – xã hội, Nghệ An luôn chú trọng triển khai thực hiện "
    "Nghị quyết Đại hội Đảng các cấp."
)
TITLE_003 = "Trao đổi học tập kinh nghiệm trong công tác tổ chức xây dựng Đảng"


HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>Tập trung tham mưu tổ chức Đại hội - Báo Đồng Tháp</title>
<link rel="canonical" href="https://baodongthap.vn/tap-trung-tham-muu.aspx">
<style>p { color: red }</style>
<script>var x = "<p>không phải nội dung</p>";</script>
</head>
<body>
<nav><a href="/">Trang chủ</a> | <a href="/xdd">Xây dựng Đảng</a></nav>
<article>
<h1>Tập trung tham mưu, tổ chức Đại hội cấp trên cơ sở theo đúng kế hoạch đề ra</h1>
<p>Cập nhật ngày: 25/07/2020 13:05:15</p>
<p>ĐTO - Sáng ngày 25/7, Ban Tổ chức (BTC) Tỉnh ủy tổ chức hội nghị sơ kết công tác Tổ chức xây dựng
   Đảng 6 tháng đầu năm 2020. Đồng chí Phan Văn Thắng &ndash; Ủy viên Ban Thường vụ Tỉnh ủy chủ trì
   hội nghị.</p>
<figure><img src="a.jpg" alt="ảnh"><figcaption>Quang cảnh h&#7897;i ngh&#7883;</figcaption></figure>
<p>Từ đầu năm 2020 đến nay, BTC các cấp uỷ đã tập trung công tác tham mưu chuẩn bị Đại hội Đảng bộ
   các cấp.<br>Tính đến ngày 25/6/2020, toàn tỉnh có 497/567 tổ chức cơ sở đảng đã tổ chức đại hội
   (đạt 87,65%) &amp; đúng kế hoạch.</p>
<p>P.L</p>
</article>
<div class="comments"><h3>Gửi bình luận của bạn</h3><form><input name="email"></form></div>
</body></html>
"""


@pytest.fixture()
def messy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    nested = root / "nested"
    (nested / "deeper").mkdir(parents=True)
    (root / "a_seed.txt").write_text(_seed("000"), encoding="utf-8")
    (root / "b_notes.md").write_text(
        f"# {TITLE_003}\n\n{PARAGRAPH}\n\nMai Hương – Cảnh Toàn\n", encoding="utf-8"
    )
    (root / "c_page.html").write_text(HTML_PAGE, encoding="utf-8")
    records = [
        json.dumps(
            {
                "id": "r1",
                "title": "Tổng kết công tác tổ chức xây dựng Đảng năm 2024",
                "text": _seed("002"),
                "url": "https://example.vn/r1",
                "category": "xay-dung-dang",
            },
            ensure_ascii=False,
        ),
        '{"id": "broken", "text": "thiếu ngoặc"',
        json.dumps({"id": "r2", "title": "Không có nội dung", "text": "   "}, ensure_ascii=False),
        json.dumps({"id": "r1", "text": PARAGRAPH}, ensure_ascii=False),
        "",
        "[1, 2, 3]",
        json.dumps({"text": PARAGRAPH, "date": "2019-05-01", "source": "Báo Nghệ An"}, ensure_ascii=False),
    ]
    (root / "d_records.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    with gzip.open(root / "e_more.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "g1", "title": None, "text": _seed("004")}, ensure_ascii=False) + "\n")
    (root / "empty.txt").write_bytes(b"")
    (root / "f_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (root / "g_counter.txt").write_text(
        "Truy cập hiện tại\n\nSố lần xem các bài viết\n18089667\n", encoding="utf-8"
    )
    (root / "report.pdf").write_bytes(b"%PDF-1.4\n")
    (root / ".hidden.txt").write_text(PARAGRAPH, encoding="utf-8")
    (nested / "deeper" / "g_utf16.txt").write_bytes(f"{TITLE_003}\n\n{PARAGRAPH}\n".encode("utf-16"))
    (nested / "h_cp1258.txt").write_bytes(to_cp1258(f"{PARAGRAPH}\n\nVăn Hải\n"))
    os.symlink(root, nested / "loop", target_is_directory=True)
    return root


def _load(paths: list[str | Path]) -> tuple[list[Document], dict[str, str]]:
    skipped: dict[str, str] = {}

    def on_skip(where: str, reason: str) -> None:
        assert where not in skipped
        skipped[where] = reason

    return list(load_documents(paths, on_skip=on_skip)), skipped


def test_messy_tree_documents(messy_tree: Path) -> None:
    docs, _ = _load([messy_tree])
    hashed = "h" + hashlib.sha1(PARAGRAPH.encode("utf-8")).hexdigest()[:16]
    assert [d.doc_id for d in docs] == [
        "a_seed",
        "b_notes",
        "c_page",
        "r1",
        hashed,
        "g1",
        "g_utf16",
        "h_cp1258",
    ]
    by_id = {d.doc_id: d for d in docs}

    seed = by_id["a_seed"]
    assert seed.path == str(messy_tree / "a_seed.txt")
    assert seed.text == clean_article(_seed("000")).text
    assert (seed.date, seed.author) == ("2020-11-19", "Kiều Trang")

    md = by_id["b_notes"]
    assert (md.title, md.author) == (TITLE_003, "Mai Hương – Cảnh Toàn")
    assert md.text == f"{PARAGRAPH}\n\nMai Hương – Cảnh Toàn"  # the signature stays in the text

    html = by_id["c_page"]
    assert html.title == "Tập trung tham mưu, tổ chức Đại hội cấp trên cơ sở theo đúng kế hoạch đề ra"
    assert (html.date, html.source, html.author) == ("2020-07-25T13:05:15", "ĐTO", "P.L")
    assert html.url == "https://baodongthap.vn/tap-trung-tham-muu.aspx"
    # The publication line and the signature are part of the article (ttqa.reading.attribution).
    assert html.text.startswith(
        "Cập nhật ngày: 25/07/2020 13:05:15\n\nĐTO - Sáng ngày 25/7, Ban Tổ chức (BTC) Tỉnh ủy tổ chức"
    )
    assert html.text.endswith("\n\nP.L")
    assert "Đồng chí Phan Văn Thắng – Ủy viên Ban Thường vụ Tỉnh ủy chủ trì hội nghị." in html.text
    assert "\n\nQuang cảnh hội nghị\n\n" in html.text
    assert "các cấp.\nTính đến ngày 25/6/2020" in html.text  # <br> is a line break
    assert "(đạt 87,65%) & đúng kế hoạch." in html.text
    for junk in ["<", "var x", "color", "Trang chủ", "Xây dựng Đảng", "bình luận"]:
        assert junk not in html.text, junk

    r1 = by_id["r1"]
    assert r1.path == f"{messy_tree / 'd_records.jsonl'}#1"
    assert r1.title == "Tổng kết công tác tổ chức xây dựng Đảng năm 2024"
    assert r1.text.startswith(SEED_002_LEAD)
    assert (r1.date, r1.author, r1.url) == ("--01-03", "Văn Hải", "https://example.vn/r1")
    assert r1.extra == {"category": "xay-dung-dang"}

    anonymous = by_id[hashed]
    assert anonymous.path == f"{messy_tree / 'd_records.jsonl'}#7"
    assert (anonymous.date, anonymous.source, anonymous.extra) == ("2019-05-01", "Báo Nghệ An", {})

    g1 = by_id["g1"]
    assert g1.path == f"{messy_tree / 'e_more.jsonl.gz'}#1"
    assert (g1.source, g1.date, g1.author) == ("TGAG", "--12-25", "Song Thư")
    assert (
        g1.title
        == "Thực hiện có hiệu quả các nghị quyết về công tác tổ chức gắn với chuẩn bị Đại hội Đảng các cấp"
    )

    assert (by_id["g_utf16"].title, by_id["g_utf16"].text) == (TITLE_003, PARAGRAPH)
    assert (by_id["h_cp1258"].text, by_id["h_cp1258"].author) == (f"{PARAGRAPH}\n\nVăn Hải", "Văn Hải")
    for doc in docs:
        assert unicodedata.is_normalized("NFC", doc.text)


def test_messy_tree_skips(messy_tree: Path) -> None:
    _, skipped = _load([messy_tree])
    jsonl = str(messy_tree / "d_records.jsonl")
    assert set(skipped) == {
        f"{jsonl}#2",
        f"{jsonl}#3",
        f"{jsonl}#4",
        f"{jsonl}#6",
        str(messy_tree / "empty.txt"),
        str(messy_tree / "f_binary.txt"),
        str(messy_tree / "g_counter.txt"),
        str(messy_tree / "report.pdf"),
        str(messy_tree / "nested" / "loop"),
    }
    assert skipped[f"{jsonl}#2"].startswith("malformed JSON")
    assert skipped[f"{jsonl}#3"] == "record has no text"
    assert skipped[f"{jsonl}#4"] == "duplicate doc_id 'r1'"
    assert skipped[f"{jsonl}#6"].startswith("malformed JSON: expected an object")
    assert skipped[str(messy_tree / "empty.txt")] == "empty file"
    assert skipped[str(messy_tree / "f_binary.txt")].startswith("binary file")
    assert skipped[str(messy_tree / "g_counter.txt")] == "empty after cleaning"
    assert skipped[str(messy_tree / "report.pdf")] == "unsupported file type '.pdf'"
    assert "symlink loop" in skipped[str(messy_tree / "nested" / "loop")]


def test_explicit_paths_missing_paths_and_duplicate_stems(messy_tree: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "a_seed.txt").write_text(_seed("001"), encoding="utf-8")
    docs, skipped = _load(
        [messy_tree / "a_seed.txt", tmp_path / "nope.txt", other, messy_tree / ".hidden.txt"]
    )
    assert [d.doc_id for d in docs] == ["a_seed", ".hidden"]  # a hidden file named explicitly is loaded
    assert skipped == {
        str(tmp_path / "nope.txt"): "not found",
        str(other / "a_seed.txt"): "duplicate doc_id 'a_seed'",
    }


def test_loading_is_deterministic_and_lazy(messy_tree: Path) -> None:
    first, _ = _load([messy_tree])
    again, _ = _load([messy_tree])
    assert first == again
    stream = load_documents([messy_tree], on_skip=lambda where, reason: None)
    assert next(stream).doc_id == "a_seed"


def test_skips_are_logged_without_a_callback(messy_tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ttqa.ingest.loader"):
        docs = list(load_documents([messy_tree]))
    assert len(docs) == 8
    messages = [r.getMessage() for r in caplog.records if r.name == "ttqa.ingest.loader"]
    assert len(messages) == 9
    assert any("report.pdf: unsupported file type" in m for m in messages)


def test_corrupt_gzip_is_reported(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": f"r{i}", "text": f"{PARAGRAPH} ({i})"}, ensure_ascii=False) for i in range(3000)
    ]
    data = gzip.compress("\n".join(lines).encode("utf-8"))
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.jsonl.gz").write_bytes(b"not gzip at all")
    docs, skipped = _load([tmp_path])
    # The readable start of the truncated file is loaded, then the error is reported.
    assert 0 < len(docs) < 3000
    assert [d.doc_id for d in docs] == [f"r{i}" for i in range(len(docs))]
    assert set(skipped) == {str(tmp_path / "cut.jsonl.gz"), str(tmp_path / "junk.jsonl.gz")}
    assert all(reason.startswith("unreadable") for reason in skipped.values())


def test_decode_bytes() -> None:
    text = f"{TITLE_003}\n{PARAGRAPH}"
    assert decode_bytes(text.encode("utf-8")) == text
    assert decode_bytes(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    assert decode_bytes(text.encode("utf-16")) == text
    assert decode_bytes(b"\xfe\xff" + text.encode("utf-16-be")) == text
    cp1258 = to_cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        cp1258.decode("utf-8")
    assert unicodedata.normalize("NFC", decode_bytes(cp1258)) == text
    assert decode_bytes(b"caf\xe9 \x81") == "café \ufffd"  # undefined cp1258 byte: replaced, no error
    html = '<meta charset="iso-8859-1"><p>caf\xe9</p>'.encode("latin-1")
    assert "café" in decode_bytes(html, html=True)


def test_html_to_text_structure() -> None:
    text, meta = html_to_text(
        "<html><head><title>T</title><meta property='og:title' content='Tiêu đề'></head>"
        "<body><p>Một&nbsp;hai</p><ul><li>ba</li><li>bốn</li></ul><table><tr><td>5</td><td>6</td></tr></table>"
        "<nav/>còn lại<script>x()</script></body></html>"
    )
    assert text == "Một hai\n\nba\nbốn\n\n5 6\n\ncòn lại"
    assert meta == {"og:title": "Tiêu đề", "title": "T"}


def test_real_seed_corpus() -> None:
    docs, skipped = _load([CORPUS])
    assert skipped == {}
    assert [d.doc_id for d in docs] == sorted(p.stem for p in CORPUS.glob("*.txt"))
    assert len(docs) == 5
    assert [d.author for d in docs] == ["Kiều Trang", "P.L", "Văn Hải", "Mai Hương – Cảnh Toàn", "Song Thư"]
    assert [d.date for d in docs] == ["2020-11-19", "2020-07-25T13:05:15", "--01-03", None, "--12-25"]
    assert all(d.path and Path(d.path).parent == CORPUS for d in docs)
    assert count_documents_hint([CORPUS]) == 5


def test_count_documents_hint(messy_tree: Path) -> None:
    # 8 text/html files (not the .pdf nor the hidden file) + 7 JSONL lines + 1 gzipped line.
    assert count_documents_hint([messy_tree]) == 8 + 7 + 1
    assert count_documents_hint([]) == 0


@pytest.mark.slow
@pytest.mark.skipif(not NEWS_35K.exists(), reason="shared data set not available")
def test_real_35k_file_streams() -> None:
    skipped: list[tuple[str, str]] = []
    docs = list(
        itertools.islice(load_documents([NEWS_35K], on_skip=lambda w, r: skipped.append((w, r))), 2000)
    )
    assert len(docs) == 2000
    assert len({d.doc_id for d in docs}) == 2000
    assert all(d.text and d.title and d.path and "#" in d.path for d in docs)
    assert all(d.doc_id.startswith("baomoi_") for d in docs)
    assert set(docs[0].extra) >= {"n_chars", "domain_score"}
    assert all(reason == "record has no text" for _, reason in skipped)
