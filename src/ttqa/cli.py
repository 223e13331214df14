"""Command line: ``ttqa index``, ``ttqa search``, ``ttqa info``.

The CLI only parses arguments, calls the library and prints; no logic lives here.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ttqa import _env  # noqa: F401
from ttqa.chunking import ChunkingParams
from ttqa.errors import TTQAInputError
from ttqa.index.layout import IndexLockedError, IndexNotFoundError
from ttqa.index.manifest import IndexCorruptError, IndexMismatchError
from ttqa.qa import DEFAULT_INDEX, QA
from ttqa.retrieval import Mode

app = typer.Typer(
    name="ttqa",
    help="Extractive question answering with citations over Vietnamese news.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

IndexOpt = Annotated[Path, typer.Option("--index", "-i", help="Index directory.")]
KOpt = Annotated[int, typer.Option("-k", "--k", min=1, max=100, help="Number of passages.")]
ModeOpt = Annotated[Mode, typer.Option("--mode", "-m", help="Retrieval mode.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _load(index: Path) -> QA:
    try:
        return QA.load(index)
    except (IndexNotFoundError, IndexMismatchError, IndexCorruptError) as exc:
        _fail(str(exc))


@app.command()
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="More corpus files or directories (same as --corpus).")
    ] = None,
    corpus: Annotated[
        list[Path] | None,
        typer.Option("--corpus", "-c", help="Corpus file or directory (.txt .md .html .jsonl .jsonl.gz)."),
    ] = None,
    index: IndexOpt = DEFAULT_INDEX,
    rebuild: Annotated[
        bool, typer.Option(help="Ignore the previous version and rebuild everything.")
    ] = False,
    embedder: Annotated[str, typer.Option(help="Embedding model: e5-small or st:/path.")] = "e5-small",
    chunk_size: Annotated[int, typer.Option(min=100, max=8000)] = ChunkingParams().chunk_size,
    chunk_overlap: Annotated[int, typer.Option(min=0, max=4000)] = ChunkingParams().chunk_overlap,
    batch_size: Annotated[int, typer.Option(min=1, max=1024)] = 32,
) -> None:
    """Build or update an index. Incremental and resumable: rerun after a stop to continue."""
    from ttqa.index.builder import tqdm_progress

    sources = [*(corpus or []), *(paths or [])] or [Path("corpus")]
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        _fail(f"corpus path not found: {', '.join(missing)}")
    if chunk_overlap >= chunk_size:
        _fail("--chunk-overlap must be smaller than --chunk-size")

    def on_skip(where: str, reason: str) -> None:
        err.print(f"[yellow]skipped[/] {escape(where)}: {escape(reason)}")

    try:
        qa = QA.build(
            sources,
            index,
            embedder=embedder,
            chunking=ChunkingParams(chunk_size, chunk_overlap),
            rebuild=rebuild,
            batch_size=batch_size,
            progress=tqdm_progress,
            on_skip=on_skip,
        )
    except IndexLockedError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        err.print(
            "[yellow]interrupted[/]: embeddings computed so far are kept; rerun the same command to resume"
        )
        raise typer.Exit(130) from None
    report = qa.build_report
    assert report is not None
    out.print(escape(report.summary()))


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="The question, in Vietnamese (accents optional).")],
    k: KOpt = 10,
    mode: ModeOpt = Mode.HYBRID,
    index: IndexOpt = DEFAULT_INDEX,
    as_json: JsonOpt = False,
) -> None:
    """Show the passages that best match a question."""
    qa = _load(index)
    try:
        hits = qa.search(question, k=k, mode=mode)
    except TTQAInputError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1) + "\n")
        return
    if not hits:
        out.print("Không tìm thấy đoạn văn nào phù hợp.")
        return
    table = Table(show_lines=True)
    for col in ("#", "score", "article", "passage"):
        table.add_column(col)
    for h in hits:
        meta = f"{h.title or h.doc_id}\n[dim]{h.doc_id} · {h.date or '?'} · {h.source or '?'}[/]"
        snippet = h.text if len(h.text) <= 300 else h.text[:300] + "…"
        table.add_row(str(h.rank), f"{h.score:.4f}", meta, escape(snippet))
    out.print(table)


@app.command()
def info(index: IndexOpt = DEFAULT_INDEX) -> None:
    """Describe an index: size, model, chunking, version."""
    qa = _load(index)
    sys.stdout.write(json.dumps(qa.info(), ensure_ascii=False, indent=1) + "\n")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
