"""``ttqa serve``: the browser chat (registered on the main CLI app)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from ttqa.index.layout import IndexNotFoundError, current_version_dir
from ttqa.interfaces.cli.options import (
    LOAD_ERRORS,
    BackendOpt,
    MilvusCollectionOpt,
    MilvusUriOpt,
    cli_settings,
)
from ttqa.qa import DEFAULT_INDEX, QA


def _index_exists(index: Path) -> bool:
    try:
        current_version_dir(index)
    except IndexNotFoundError:
        return False
    return True


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""

    @app.command()
    def serve(
        index: Annotated[Path, typer.Option("--index", "-i", help="Index directory.")] = DEFAULT_INDEX,
        corpus: Annotated[
            list[Path] | None,
            typer.Option("--corpus", "-c", help="Corpus to index first when the index does not exist yet."),
        ] = None,
        host: Annotated[
            str, typer.Option(help="Address to bind (127.0.0.1: this machine only).")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 7860,
        data_dir: Annotated[
            Path, typer.Option("--data-dir", help="Where feedback.jsonl (👍/👎) is written.")
        ] = Path("data"),
        backend: BackendOpt = None,
        milvus_uri: MilvusUriOpt = None,
        milvus_collection: MilvusCollectionOpt = None,
    ) -> None:
        """Start the browser chat (builds the index from the corpus first if it is missing)."""
        from ttqa.index.builder import tqdm_progress
        from ttqa.interfaces.chat.ui import ChatService, launch

        err = Console(stderr=True)

        def fail(message: str) -> NoReturn:
            err.print(f"[bold red]error:[/] {escape(message)}")
            raise typer.Exit(2)

        try:
            settings = cli_settings(backend, milvus_uri, milvus_collection)
            if settings.backend == "milvus" or _index_exists(index):
                qa = QA.load(index, settings=settings)
            else:
                sources = corpus or [Path("corpus")]
                missing = [str(p) for p in sources if not p.exists()]
                if missing:
                    fail(f"no index in {index} and corpus path not found: {', '.join(missing)}")
                names = ", ".join(map(str, sources))
                err.print(f"no index in {escape(str(index))}: building it from {escape(names)}")
                qa = QA.build(
                    sources,
                    index,
                    progress=tqdm_progress,
                    settings=settings,
                    on_skip=lambda where, why: err.print(
                        f"[yellow]skipped[/] {escape(where)}: {escape(why)}"
                    ),
                )
        except LOAD_ERRORS as exc:
            fail(str(exc))

        if host not in ("127.0.0.1", "localhost", "::1"):
            err.print(
                f"[yellow]warning:[/] binding {escape(host)}: the chat is reachable from other machines"
            )
        service = ChatService(qa, data_dir=data_dir)
        threading.Thread(target=service.warm_up, name="ttqa-warm-up", daemon=True).start()

        def ready(url: str) -> None:
            print(f"ttqa chat đã sẵn sàng: {url}  (Ctrl+C để dừng)", flush=True)

        try:
            launch(service, host=host, port=port, on_ready=ready)
        except OSError as exc:
            fail(f"cannot start the server on {host}:{port}: {exc}")
        except KeyboardInterrupt:
            pass
