"""``ttqa serve``: the browser chat (registered on the main CLI app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app`` (filled in by the browser-chat work)."""
