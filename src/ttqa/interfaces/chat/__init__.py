"""The browser chat: ``ttqa serve`` (a Gradio app over :class:`ttqa.QA`).

* :mod:`ttqa.interfaces.chat.rendering`: pure functions that turn answers and articles into safe HTML;
* :mod:`ttqa.interfaces.chat.history`: the conversation as stored in the browser (offsets, not text);
* :mod:`ttqa.interfaces.chat.feedback`: 👍/👎 appended to ``<data-dir>/feedback.jsonl``;
* :mod:`ttqa.interfaces.chat.ui`: the ``gr.Blocks`` and its launch settings (nothing leaves 127.0.0.1).

Gradio is imported only by :mod:`ttqa.interfaces.chat.ui`, after :mod:`ttqa.offline` (imported
first by ``ttqa``) has turned its analytics off.
"""

from __future__ import annotations
