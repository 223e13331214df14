"""The browser chat in Debian chromium (playwright): answers, citations, article panel, safety.

One app (``chat_app``, over the seed index) and one page serve the whole module; the tests
run in file order on that page. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import pytest

from ttqa import QA

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} not found: install Debian chromium (apt-get install chromium) for browser tests",
    ),
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),
]

VINH_TUONG = "Hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường diễn ra ngày nào?"
VINH_TUONG_DOC = "000_7c61923aec2bb611"
UNACCENTED_EXAMPLE = 2  # "ai chu tri hoi nghi so ket cong tac to chuc xay dung dang 6 thang dau nam 2020"
UNACCENTED_DOC = "001_af4427a512693819"  # seed-028/seed-030: the BTC Tỉnh ủy mid-2020 review
UNANSWERABLE = "Giá vàng hôm nay bao nhiêu?"
EVIL = "<img src=x onerror=alert(1)> [x](javascript:alert(2)) <script>alert(3)</script>"
ABSTAIN = "Không tìm thấy câu trả lời trong kho bài viết"
ANSWER_TIMEOUT_MS = 90_000


def _is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in {"data", "blob", "about"} or parsed.hostname in {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def _new_page(browser: Any, log: SimpleNamespace) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.on("request", lambda req: None if _is_local(req.url) else log.external.append(req.url))

    def on_dialog(dialog: Any) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


def _wait_ready(page: Any) -> None:
    page.locator("#ttqa-question textarea").wait_for(state="visible", timeout=60_000)
    page.locator("#ttqa-chat .ttqa-chat").wait_for(state="visible", timeout=60_000)


@pytest.fixture(scope="module")
def ui(browser: Any, chat_app: Any) -> Iterator[SimpleNamespace]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = SimpleNamespace(external=[], dialogs=[])
    page = _new_page(browser, log)
    page.goto(chat_app.url, wait_until="load")
    _wait_ready(page)
    yield SimpleNamespace(page=page, app=chat_app, log=log)
    page.context.close()


def _turns(page: Any) -> Any:
    return page.locator("#ttqa-chat .ttqa-turn")


def _wait_turns(page: Any, n: int) -> Any:
    from playwright.sync_api import expect

    expect(_turns(page)).to_have_count(n, timeout=ANSWER_TIMEOUT_MS)
    return _turns(page).nth(n - 1)


def _ask(page: Any, question: str) -> Any:
    before = _turns(page).count()
    box = page.locator("#ttqa-question textarea")
    box.fill(question)
    box.press("Enter")
    return _wait_turns(page, before + 1)


def _citations(turn: Any) -> list[dict[str, Any]]:
    items = turn.locator("li.ttqa-citation")
    return [
        {
            "n": int(items.nth(i).get_attribute("data-n")),
            "doc_id": items.nth(i).get_attribute("data-doc"),
            "start": int(items.nth(i).get_attribute("data-start")),
            "end": int(items.nth(i).get_attribute("data-end")),
            "quote": items.nth(i).locator(".ttqa-quote").text_content(),
        }
        for i in range(items.count())
    ]


def _check_answer(turn: Any, qa: QA) -> list[dict[str, Any]]:
    """The shown answer is a span of citation 1's passage, and every quote is its article's text."""
    cites = _citations(turn)
    assert cites, "no citations shown"
    for c in cites:
        assert c["quote"] == qa.document(c["doc_id"]).text[c["start"] : c["end"]]
    if turn.locator(".ttqa-abstain-msg").count() == 0:
        answer = turn.locator(".ttqa-answer-span").text_content()
        assert answer and answer in cites[0]["quote"]
        highlighted = turn.locator(".ttqa-sentence mark.ttqa-span").text_content()
        assert highlighted == answer
        assert turn.locator(".ttqa-quote").first.locator("mark.ttqa-span").text_content() == answer
    return cites


def _open_citation(page: Any, turn: Any, n: int, qa: QA, cite: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    turn.locator(f'button.ttqa-marker[data-ttqa-action$=":{n}"]').first.click()
    article = page.locator("#ttqa-article article.ttqa-article")
    expect(article).to_have_attribute("data-doc", cite["doc_id"], timeout=30_000)
    expect(article).to_have_attribute("data-start", str(cite["start"]))
    cited = page.locator("#ttqa-article #ttqa-cited")
    assert cited.text_content() == qa.document(cite["doc_id"]).text[cite["start"] : cite["end"]]
    expect(cited).to_be_in_viewport(timeout=10_000)
    assert page.locator("#ttqa-article .ttqa-article-text").text_content() == qa.document(cite["doc_id"]).text


def test_start_screen_and_unaccented_example(ui: SimpleNamespace, seed_qa: QA) -> None:
    page = ui.page
    examples = page.locator("#ttqa-chat button.ttqa-example")
    assert examples.count() == 3
    assert "Vĩnh Tường" in examples.nth(0).text_content()
    page.screenshot(path=str(SHOTS / "01-start.png"))
    question = examples.nth(UNACCENTED_EXAMPLE).text_content()
    examples.nth(UNACCENTED_EXAMPLE).click()
    turn = _wait_turns(page, 1)
    assert turn.locator(".ttqa-question-text").text_content() == question
    cites = _check_answer(turn, seed_qa)
    assert UNACCENTED_DOC in [c["doc_id"] for c in cites]


def test_accented_question_and_citation_opens_article(ui: SimpleNamespace, seed_qa: QA) -> None:
    page = ui.page
    turn = _ask(page, VINH_TUONG)
    assert turn.locator(".ttqa-question-text").text_content() == VINH_TUONG
    assert turn.locator(".ttqa-abstain-msg").count() == 0
    cites = _check_answer(turn, seed_qa)
    assert cites[0]["doc_id"] == VINH_TUONG_DOC
    assert turn.locator(".ttqa-sentence button.ttqa-marker").text_content() == "[1]"
    _open_citation(page, turn, 1, seed_qa, cites[0])
    # the answer span is highlighted inside the cited passage too
    answer = turn.locator(".ttqa-answer-span").text_content()
    assert page.locator("#ttqa-article #ttqa-cited mark.ttqa-span").text_content() == answer
    page.screenshot(path=str(SHOTS / "02-answer-and-article.png"))
    # another citation: the panel follows
    _open_citation(page, turn, 2, seed_qa, cites[1])


def test_unanswerable_question_abstains(ui: SimpleNamespace, seed_qa: QA) -> None:
    page = ui.page
    turn = _ask(page, UNANSWERABLE)
    turn.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "03-unanswerable.png"))
    assert seed_qa.ask(UNANSWERABLE).abstained  # the library abstains; the page must show it
    assert ABSTAIN in turn.locator(".ttqa-abstain-msg").text_content()
    assert "Có thể liên quan" in turn.text_content()
    assert turn.locator(".ttqa-answer-span, .ttqa-sentence").count() == 0
    _check_answer(turn, seed_qa)


def test_injected_markup_is_shown_as_text(ui: SimpleNamespace) -> None:
    page = ui.page
    turn = _ask(page, EVIL)
    assert turn.locator(".ttqa-question-text").text_content() == EVIL
    page.wait_for_timeout(500)  # give a broken image's onerror a chance to fire
    assert ui.log.dialogs == []
    assert page.locator("#ttqa-chat img, #ttqa-chat script, #ttqa-chat svg").count() == 0
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
    turn.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "04-injection-as-text.png"))


def test_mode_and_k_controls(ui: SimpleNamespace, seed_qa: QA) -> None:
    page = ui.page
    page.locator("#ttqa-mode").get_by_text("Từ khóa (BM25)").click()
    k_box = page.locator("#ttqa-k input[type=number]")
    k_box.fill("3")
    k_box.press("Enter")
    turn = _ask(page, "Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?")
    assert "Từ khóa (BM25)" in turn.locator(".ttqa-settings").text_content()
    assert "k = 3" in turn.locator(".ttqa-settings").text_content()
    assert 1 <= len(_check_answer(turn, seed_qa)) <= 3
    page.locator("#ttqa-mode").get_by_text("Kết hợp (hybrid)").click()


def test_feedback_is_recorded(ui: SimpleNamespace) -> None:
    from playwright.sync_api import expect

    page = ui.page
    first = _turns(page).nth(0)
    question = first.locator(".ttqa-question-text").text_content()
    first.locator('button.ttqa-vote[data-ttqa-action$=":up"]').click()
    first = _turns(page).nth(0)
    expect(first.locator(".ttqa-thanks")).to_be_visible(timeout=30_000)
    expect(first.locator('button.ttqa-vote[data-ttqa-action$=":up"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    path = Path(ui.app.data_dir) / "feedback.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records[-1]["question"] == question and records[-1]["vote"] == "up"
    assert records[-1]["mode"] == "hybrid" and records[-1]["citations"]
    assert {"answer", "time"} <= set(records[-1])


def test_history_survives_a_refresh(ui: SimpleNamespace, seed_qa: QA) -> None:
    page = ui.page
    before = [t.text_content() for t in _turns(page).all()]
    cites_before = _citations(_turns(page).nth(1))
    page.reload(wait_until="load")
    _wait_ready(page)
    turns = _wait_turns(page, len(before))
    assert [t.text_content() for t in _turns(page).all()] == before
    assert turns.page is page
    second = _turns(page).nth(1)
    assert _citations(second) == cites_before
    assert second.locator(".ttqa-question-text").text_content() == VINH_TUONG
    _open_citation(page, second, 1, seed_qa, cites_before[0])
    # the vote survived too
    assert _turns(page).nth(0).locator(".ttqa-thanks").count() == 1
    page.screenshot(path=str(SHOTS / "05-after-refresh.png"))


def test_nothing_left_127_0_0_1(ui: SimpleNamespace) -> None:
    assert ui.log.external == [], ui.log.external
    assert ui.log.dialogs == []


def test_serve_command_time_to_ready_page(
    browser: Any, chat_app: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ttqa serve`` on an existing index, in a subprocess: time until the page is usable."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = Path(sys.executable).with_name("ttqa")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ttqa.interfaces.cli.main"]
    cmd += ["serve", "--index", str(chat_app.service.qa.index_dir), "--port", str(port)]
    cmd += ["--data-dir", str(tmp_path / "data")]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ), cwd=tmp_path
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        url = None
        while url is None:
            try:
                line = lines.get(timeout=max(0.1, 120 - (time.perf_counter() - t0)))
            except queue.Empty:
                pytest.fail(f"ttqa serve did not get ready in 120 s: {''.join(output)}")
            output.append(line)
            if "sẵn sàng" in line:
                url = line.split("sẵn sàng:", 1)[1].split()[0]
        t_server = time.perf_counter() - t0
        assert url == f"http://127.0.0.1:{port}/"
        log = SimpleNamespace(external=[], dialogs=[])
        page = _new_page(browser, log)
        page.goto(url, wait_until="load")
        _wait_ready(page)
        page.locator("#ttqa-chat button.ttqa-example").first.wait_for(state="visible")
        t_page = time.perf_counter() - t0
        page.screenshot(path=str(SHOTS / "00-serve-ready.png"))
        page.context.close()
        assert log.external == []
        with capsys.disabled():
            print(f"\n[ttqa serve] server ready {t_server:.1f}s, page ready {t_page:.1f}s after launch")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
