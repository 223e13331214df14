"""``ttqa api``: the HTTP API (registered on the main CLI app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ttqa.interfaces.cli.options import LOAD_ERRORS, BackendOpt, MilvusCollectionOpt, MilvusUriOpt, load_qa
from ttqa.validation import MAX_QUESTION_CHARS

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    """Add the ``api`` command to ``app``."""

    @app.command("api")
    def api(
        index: Annotated[Path, typer.Option("--index", "-i", help="Index directory.")] = Path(
            "indexes/default"
        ),
        host: Annotated[
            str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
        max_question_chars: Annotated[
            int,
            typer.Option(min=1, max=MAX_QUESTION_CHARS, help="Longest question accepted (characters)."),
        ] = MAX_QUESTION_CHARS,
        threads: Annotated[
            int | None,
            typer.Option(
                "--threads",
                "--torch-threads",
                min=0,
                help="Threads per encode and per reader run (default: $TTQA_THREADS, else all cores). "
                "Under concurrent load 1 avoids oversubscribing the cores.",
            ),
        ] = None,
        max_body_bytes: Annotated[
            int,
            typer.Option(min=1024, help="Largest request body accepted (bytes); larger ones get a 413."),
        ] = 64 * 1024,
        cors_origin: Annotated[
            list[str] | None,
            typer.Option(
                "--cors-origin",
                help="Browser origin allowed to call the API (repeatable, e.g. https://app.example). "
                "Default: none, no CORS headers.",
            ),
        ] = None,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
        backend: BackendOpt = None,
        milvus_uri: MilvusUriOpt = None,
        milvus_collection: MilvusCollectionOpt = None,
    ) -> None:
        """Serve the HTTP API (POST /ask, POST /search, GET /documents/{id}, /health, /ready, /info).

        One QA object and one model, loaded once; the model is warmed up at startup and
        /ready answers 503 until it is. OpenAPI docs at /docs and /openapi.json.

        Set TTQA_API_KEY to require that key (header X-API-Key or Authorization: Bearer) on
        every endpoint except /health.

        With --backend milvus the server keeps no index of its own: any number of replicas can
        serve the same Milvus collection, and an article added through one is found by all.
        """
        import uvicorn

        from ttqa.interfaces.http import ApiSettings, create_app

        try:
            qa = load_qa(index, backend, milvus_uri, milvus_collection, threads=threads)
        except LOAD_ERRORS as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        api_key = qa.settings.api_key
        if host not in LOOPBACK:
            guard = "" if api_key else "; set TTQA_API_KEY to require an API key"
            typer.echo(f"warning: binding {host}: the API is reachable from other machines{guard}", err=True)
        settings = ApiSettings(
            max_question_chars=max_question_chars,
            max_body_bytes=max_body_bytes,
            api_key=api_key,
            cors_origins=tuple(cors_origin or ()),
        )
        application = create_app(qa, settings)
        uvicorn.run(application, host=host, port=port, log_level=log_level)
