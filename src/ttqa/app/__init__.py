"""The browser chat: ``ttqa serve`` (a Gradio app over :class:`ttqa.QA`).

* :mod:`ttqa.app.rendering`: pure functions that turn answers and articles into safe HTML;
* :mod:`ttqa.app.history`: the conversation as stored in the browser (offsets, not text);
* :mod:`ttqa.app.feedback`: 👍/👎 appended to ``<data-dir>/feedback.jsonl``;
* :mod:`ttqa.app.chat`: the ``gr.Blocks`` and its launch settings (nothing leaves 127.0.0.1).

Gradio is imported only by :mod:`ttqa.app.chat`.
"""

from __future__ import annotations

from ttqa import _env  # noqa: F401  (analytics off before gradio is imported)
