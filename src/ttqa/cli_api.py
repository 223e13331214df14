"""``ttqa api``: the HTTP API (registered on the main CLI app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``api`` command to ``app`` (filled in by the HTTP API work)."""
