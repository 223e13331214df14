"""The Gradio chat page over a :class:`ttqa.QA`, and how it is launched.

Design:

* :class:`ChatService` holds the QA, the feedback log and a lock (one ``qa.ask`` at a
  time). Its handlers take and return plain values (HTML strings, the browser-kept
  history as JSON); answering is ``qa.ask``, articles are ``qa.document``.
* :func:`build_app` lays out the page: the conversation and the article panel are
  ``gr.HTML`` whose content is built by :mod:`ttqa.interfaces.chat.rendering` (everything
  escaped). Clicks on ``[n]`` markers, titles, 👍/👎 and example questions are
  delegated by a small ``js_on_load`` to one ``click`` event carrying the element's
  ``data-ttqa-action``.
* The history lives in the browser (``gr.BrowserState``, encrypted in
  localStorage with a secret kept in the data dir) as offsets plus hashes
  (:mod:`ttqa.interfaces.chat.history`): a refreshed page re-renders every turn from the stored
  documents.
* The ``ask`` API endpoint returns ``qa.ask(question).to_dict()``.
* :func:`launch` binds 127.0.0.1 by default, never creates a share link, and uses
  system fonts so the page loads nothing from outside the server.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.events import api as gr_api

from ttqa.errors import TTQAInputError
from ttqa.index.backend import UnknownDocumentError
from ttqa.interfaces.chat.feedback import FeedbackLog, feedback_record
from ttqa.interfaces.chat.history import (
    Turn,
    dump_history,
    find_turn,
    make_turn,
    restore_history,
)
from ttqa.interfaces.chat.rendering import (
    ARTICLE_PLACEHOLDER,
    CSS,
    EXAMPLES,
    LOW_CONFIDENCE,
    MODE_LABELS,
    answer_span_in,
    render_article,
    render_chat,
    render_missing_article,
)
from ttqa.qa import QA
from ttqa.retrieval.retriever import Mode
from ttqa.schema import Answer, Document

TITLE = "ttqa · Hỏi đáp công tác tổ chức xây dựng Đảng"
DEFAULT_K = 8
MAX_K = 20
STORAGE_KEY = "ttqa-history"
SECRET_FILE = ".browser_state_secret"

SYSTEM_FONTS = (
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Noto Sans",
    "Helvetica Neue",
    "Arial",
    "sans-serif",
)
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")

_ACTION_RE = re.compile(r"^(cite|vote|example|reask):([0-9a-f]{1,32})(?::(up|down|\d{1,3}))?$")

# Delegated clicks: every element with data-ttqa-action sends its action to the server.
CHAT_JS = """
element.addEventListener('click', (event) => {
  const el = event.target.closest('[data-ttqa-action]');
  if (!el || !element.contains(el)) return;
  event.preventDefault();
  trigger('click', {action: el.getAttribute('data-ttqa-action')});
});
watch('value', () => {
  const root = element.querySelector('[data-ttqa-focus]');
  const id = root && root.getAttribute('data-ttqa-focus');
  if (!id) return;
  const turn = element.querySelector('[data-turn="' + CSS.escape(id) + '"]');
  if (turn) turn.scrollIntoView({block: 'start', behavior: 'smooth'});
});
"""

# Bring the highlighted passage into view whenever another article (or passage) opens.
ARTICLE_JS = """
watch('value', () => {
  const cited = element.querySelector('#ttqa-cited');
  if (cited) cited.scrollIntoView({block: 'center', behavior: 'smooth'});
});
"""


@dataclass(frozen=True, slots=True)
class View:
    """What a handler changes on the page (``None``: leave as it is)."""

    chat: str | None = None
    article: str | None = None
    state: list[dict[str, Any]] | None = None
    question: str | None = None
    notice: str | None = None


class ChatService:
    """The chat's behaviour, independent of Gradio (handlers return :class:`View`)."""

    def __init__(
        self,
        qa: QA,
        *,
        data_dir: str | Path = "data",
        examples: Sequence[str] = EXAMPLES,
        low_confidence: float = LOW_CONFIDENCE,
    ) -> None:
        self.qa = qa
        self.data_dir = Path(data_dir)
        self.feedback = FeedbackLog.in_dir(self.data_dir)
        self.examples = tuple(examples)
        self.low_confidence = low_confidence
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the library
    def lookup(self, doc_id: str) -> Document | None:
        try:
            return self.qa.document(doc_id)
        except UnknownDocumentError:
            return None

    def answer(self, question: str, *, mode: str = "hybrid", k: int = DEFAULT_K) -> Answer:
        with self._lock:
            return self.qa.ask(question, k=int(k), mode=mode)

    def warm_up(self) -> None:
        """Load the model and the answerer before the first question (run in a thread)."""
        with self._lock:
            self.qa.warm_up()

    def api_ask(self, question: str, mode: str = "hybrid", k: int = DEFAULT_K) -> dict[str, Any]:
        """The ``ask`` endpoint: ``qa.ask(question, k=k, mode=mode).to_dict()``.

        Bad input (empty or over-long question, unknown mode, ``k`` not a whole number >= 1)
        is a ``gr.Error`` with a plain message.
        """
        k_int = _whole_k(k)
        if k_int is None:
            raise gr.Error("k must be a whole number >= 1 (k phải là số nguyên dương)")
        try:
            return self.answer(question, mode=mode, k=k_int).to_dict()
        except TTQAInputError as exc:
            raise gr.Error(str(exc)) from None

    # ------------------------------------------------------------------ page handlers
    @property
    def documents(self) -> int:
        return len(self.qa.store)

    def chat_html(self, turns: Sequence[Turn], focus: str | None = None) -> str:
        return render_chat(
            turns,
            examples=self.examples,
            focus=focus,
            documents=self.documents,
            low_confidence=self.low_confidence,
        )

    def restore(self, state: Any) -> list[Turn]:
        """The browser-kept history, every text re-read from the index."""
        return restore_history(state, self.lookup)

    def on_load(self, state: Any) -> View:
        turns = self.restore(state)
        focus = turns[-1].turn_id if turns else None
        return View(chat=self.chat_html(turns, focus), state=dump_history(turns))

    def on_ask(self, question: str, mode: str, k: float, state: Any) -> View:
        turns = self.restore(state)
        if not (question or "").strip():
            return View(notice="Vui lòng nhập câu hỏi.")
        try:
            mode = Mode.parse(mode).value
            k_int = max(1, min(MAX_K, int(k)))
        except (TTQAInputError, TypeError, ValueError):
            return View(notice="Cách tìm đoạn văn hoặc số đoạn văn không hợp lệ.")
        try:
            answer = self.answer(question, mode=mode, k=k_int)
        except TTQAInputError as exc:
            return View(notice=_vietnamese_error(exc))
        turn = make_turn(answer, mode=mode, k=k_int)
        turns.append(turn)
        return View(chat=self.chat_html(turns, turn.turn_id), state=dump_history(turns), question="")

    def on_clear(self) -> View:
        return View(chat=self.chat_html([]), article=ARTICLE_PLACEHOLDER, state=[], question="")

    def on_action(self, action: Any, mode: str, k: float, state: Any) -> View:
        m = _ACTION_RE.match(action) if isinstance(action, str) else None
        if m is None:
            return View()
        kind, ref, arg = m.groups()
        if kind == "example":
            i = int(ref) if ref.isdigit() else -1
            if not 0 <= i < len(self.examples):
                return View()
            return self.on_ask(self.examples[i], mode, k, state)
        turns = self.restore(state)
        turn = find_turn(turns, ref)
        if turn is None:
            return View(notice="Câu hỏi này không còn trong lịch sử.")
        if kind == "reask":
            return self.on_ask(turn.question, turn.mode, turn.k, state)
        if kind == "cite" and arg is not None and arg.isdigit():
            return View(article=self.article_html(turn, int(arg)))
        if kind == "vote" and arg in ("up", "down"):
            self.feedback.append(feedback_record(turn, arg))
            turns = [t.with_vote(arg) if t.turn_id == turn.turn_id else t for t in turns]
            return View(chat=self.chat_html(turns), state=dump_history(turns))
        return View()

    def article_html(self, turn: Turn, n: int) -> str:
        answer = turn.answer
        if answer is None or not 1 <= n <= len(answer.citations):
            return ARTICLE_PLACEHOLDER
        c = answer.citations[n - 1]
        doc = self.lookup(c.doc_id)
        if doc is None:
            return render_missing_article(c.doc_id)
        span = answer_span_in(answer, c)
        answer_span = (c.start + span[0], c.start + span[1]) if span and n == 1 else None
        return render_article(doc, c.start, c.end, n=n, answer_span=answer_span)


def _whole_k(k: object) -> int | None:
    """``k`` as an int when it is a whole number >= 1 (``3`` or ``3.0``), else ``None``."""
    if isinstance(k, bool) or not isinstance(k, int | float):
        return None
    if isinstance(k, float) and not k.is_integer():
        return None
    return int(k) if k >= 1 else None


def _vietnamese_error(exc: TTQAInputError) -> str:
    text = str(exc)
    if m := re.search(r"\(([^()]*)\)\s*$", text):  # the library's messages end with "(Vietnamese)"
        return m.group(1)[:1].upper() + m.group(1)[1:] + "."
    return text


# ---------------------------------------------------------------------------- the page
def browser_secret(data_dir: Path) -> str:
    """The key that encrypts the history in the browser, kept across restarts in ``data_dir``."""
    path = data_dir / SECRET_FILE
    try:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) >= 16:
            return secret
    except (OSError, UnicodeDecodeError):
        pass
    secret = secrets.token_urlsafe(24)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secret, encoding="ascii")
        path.chmod(0o600)
    except OSError:
        pass  # a read-only data dir: history then lasts until the server restarts
    return secret


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts: nothing is fetched from font services."""
    return gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))


def _out(value: Any) -> Any:
    return gr.skip() if value is None else value


def build_app(service: ChatService) -> gr.Blocks:
    """The chat page (launch it with :func:`launch`, or ``demo.launch(**launch_kwargs())``)."""
    demo = gr.Blocks(title=TITLE, analytics_enabled=False)
    with demo:
        history = gr.BrowserState([], storage_key=STORAGE_KEY, secret=browser_secret(service.data_dir))
        gr.HTML(
            f'<div class="ttqa-header"><h2 style="margin:0">{TITLE}</h2>'
            '<p class="ttqa-settings">Câu trả lời được trích nguyên văn từ kho bài viết, '
            "kèm nguồn; khi bài viết không có câu trả lời, ttqa sẽ nói rõ.</p></div>",
            js_on_load=None,
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chat = gr.HTML(service.chat_html([]), elem_id="ttqa-chat", js_on_load=CHAT_JS)
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="Nhập câu hỏi (có dấu hoặc không dấu) rồi nhấn Enter…",
                        lines=1,
                        max_lines=4,
                        max_length=1000,
                        scale=6,
                        autofocus=True,
                        elem_id="ttqa-question",
                    )
                    ask = gr.Button("Hỏi", variant="primary", scale=1, min_width=80, elem_id="ttqa-ask")
                with gr.Row():
                    mode = gr.Radio(
                        [(label, value) for value, label in MODE_LABELS.items()],
                        value="hybrid",
                        label="Cách tìm đoạn văn",
                        elem_id="ttqa-mode",
                        scale=3,
                    )
                    k = gr.Slider(
                        1,
                        MAX_K,
                        value=DEFAULT_K,
                        step=1,
                        label="Số đoạn văn đọc (k)",
                        elem_id="ttqa-k",
                        scale=2,
                    )
                clear = gr.Button("Xóa lịch sử hỏi đáp", size="sm", variant="secondary", elem_id="ttqa-clear")
            with gr.Column(scale=2, min_width=320, elem_id="ttqa-article-col"):
                gr.HTML("<h3 style='margin:0'>Bài viết nguồn</h3>", js_on_load=None)
                article = gr.HTML(
                    ARTICLE_PLACEHOLDER,
                    elem_id="ttqa-article",
                    js_on_load=ARTICLE_JS,
                    max_height="80vh",  # type: ignore[arg-type]  # CSS units are accepted (see docstring)
                )

        def _ask(q: str, m: str, kk: float, state: Any) -> tuple[Any, Any, Any]:
            view = service.on_ask(q, m, kk, state)
            if view.notice:
                gr.Warning(html.escape(view.notice))  # toasts render HTML
            return _out(view.chat), _out(view.state), _out(view.question)

        def _action(m: str, kk: float, state: Any, evt: gr.EventData) -> tuple[Any, Any, Any]:
            data = evt._data if isinstance(evt._data, dict) else {}
            view = service.on_action(data.get("action"), m, kk, state)
            if view.notice:
                gr.Warning(html.escape(view.notice))  # toasts render HTML
            return _out(view.chat), _out(view.article), _out(view.state)

        def _load(state: Any) -> tuple[Any, Any]:
            view = service.on_load(state)
            return _out(view.chat), _out(view.state)

        def _clear() -> tuple[Any, Any, Any]:
            view = service.on_clear()
            return view.chat, view.article, view.state

        private: dict[str, Any] = {"api_visibility": "private"}
        for trigger in (ask.click, question.submit):
            trigger(_ask, [question, mode, k, history], [chat, history, question], **private)
        chat.click(_action, [mode, k, history], [chat, article, history], show_progress="minimal", **private)
        clear.click(_clear, None, [chat, article, history], **private)
        demo.load(_load, [history], [chat, history], **private)

        def ask_api(question: str, mode: str = "hybrid", k: int = DEFAULT_K) -> dict[str, Any]:
            """Answer a question: the JSON of ``qa.ask(question, k=k, mode=mode).to_dict()``.

            mode: hybrid, dense or bm25; k: passages to read. From Python use
            ``gradio_client.Client(url, download_files=False)``: citations carry a "path" key
            that gradio_client would otherwise try to download as a file.
            """
            return service.api_ask(question, mode, k)

        gr_api(ask_api, api_name="ask")
    return demo


def launch_kwargs(host: str = "127.0.0.1", port: int | None = 7860) -> dict[str, Any]:
    """``demo.launch`` settings: local only, no share link, no telemetry, system fonts."""
    return {
        "server_name": host,
        "server_port": port,
        "share": False,
        "inbrowser": False,
        "prevent_thread_lock": True,
        "quiet": True,
        "ssr_mode": False,
        "mcp_server": False,
        "pwa": False,
        "show_error": True,
        "footer_links": ["api"],
        "theme": theme(),
        "css": CSS,
    }


def launch(
    service: ChatService,
    *,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    block: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> tuple[gr.Blocks, str]:
    """Start the server; call ``on_ready(url)`` once it answers; block unless ``block=False``."""
    demo = build_app(service)
    demo.queue(default_concurrency_limit=1)
    _, local_url, _ = demo.launch(**launch_kwargs(host, port))
    url = str(local_url)
    if on_ready is not None:
        on_ready(url)
    if block:
        try:
            demo.block_thread()
        finally:
            demo.close()
    return demo, url
