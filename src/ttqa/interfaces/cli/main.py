"""Command line: ``ttqa index``, ``ttqa search``, ``ttqa info``.

The CLI only parses arguments, calls the library and prints; no logic lives here.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ttqa.embedding.factory import DEFAULT_EMBEDDER
from ttqa.errors import TTQAInputError
from ttqa.ingest.chunking import ChunkingParams
from ttqa.interfaces.cli import api as cli_api
from ttqa.interfaces.cli import serve as cli_serve
from ttqa.interfaces.cli.options import (
    LOAD_ERRORS,
    BackendOpt,
    MilvusCollectionOpt,
    MilvusUriOpt,
    cli_settings,
    load_qa,
)
from ttqa.interfaces.labels import format_date, relevance_text
from ttqa.qa import DEFAULT_INDEX, QA, backend_name
from ttqa.retrieval.retriever import Mode
from ttqa.schema import Answer

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


def _load(
    index: Path, backend: str | None = None, uri: str | None = None, collection: str | None = None
) -> QA:
    try:
        return load_qa(index, backend, uri, collection)
    except LOAD_ERRORS as exc:
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
    embedder: Annotated[
        str,
        typer.Option(
            help="Embedding model: e5-small-int8 (ONNX int8), e5-small-onnx, e5-small (fp32) or st:/path."
        ),
    ] = DEFAULT_EMBEDDER,
    chunk_size: Annotated[int, typer.Option(min=100, max=8000)] = ChunkingParams().chunk_size,
    chunk_overlap: Annotated[int, typer.Option(min=0, max=4000)] = ChunkingParams().chunk_overlap,
    batch_size: Annotated[int, typer.Option(min=1, max=1024)] = 32,
    backend: BackendOpt = None,
    milvus_uri: MilvusUriOpt = None,
    milvus_collection: MilvusCollectionOpt = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="With --backend milvus: embed on this Ray cluster (ray://host:10001, or 'local' to start "
            "one on this machine).",
        ),
    ] = None,
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
            ray_address=ray_address,
            settings=cli_settings(backend, milvus_uri, milvus_collection),
        )
    except LOAD_ERRORS as exc:  # TTQAInputError: nothing to index
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
    backend: BackendOpt = None,
    milvus_uri: MilvusUriOpt = None,
    milvus_collection: MilvusCollectionOpt = None,
) -> None:
    """Show the passages that best match a question."""
    qa = _load(index, backend, milvus_uri, milvus_collection)
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


def _print_answer(answer: Answer) -> None:
    if answer.abstained:
        out.print("[bold yellow]Không tìm thấy câu trả lời trong kho bài viết.[/]")
        if answer.citations:
            out.print("Có thể liên quan:")
    else:
        out.print(f"[bold green]{escape(answer.text or '')}[/]  [dim](độ tin cậy {answer.confidence:.2f})[/]")
        if answer.sentence and answer.sentence_start is not None and answer.start is not None:
            a = answer.start - answer.sentence_start
            b = a + len(answer.text or "")
            s = answer.sentence
            out.print(f"  {escape(s[:a])}[reverse]{escape(s[a:b])}[/reverse]{escape(s[b:])} [1]")
    for c in answer.citations:
        meta = " · ".join(x for x in (c.doc_id, format_date(c.date), c.source, f"{c.start}-{c.end}") if x)
        out.print(
            f"[bold][{c.n}][/] {escape(c.display_title)} "
            f"[dim]({escape(meta)} · {relevance_text(c, answer.citations)})[/]"
        )
        out.print(f"    “{escape(c.quote)}”")


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question, in Vietnamese (accents optional).")
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", "-q", help="JSONL file of {question} (or {id, question}) to answer."),
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Passages to read.")] = 8,
    mode: ModeOpt = Mode.HYBRID,
    index: IndexOpt = DEFAULT_INDEX,
    as_json: JsonOpt = False,
    backend: BackendOpt = None,
    milvus_uri: MilvusUriOpt = None,
    milvus_collection: MilvusCollectionOpt = None,
) -> None:
    """Answer a question (or a batch with --questions) with an extractive answer and citations."""
    if (question is None) == (questions is None):
        _fail("give either a QUESTION or --questions FILE.jsonl")
    qa = _load(index, backend, milvus_uri, milvus_collection)
    if question is not None:
        try:
            answer = qa.ask(question, k=k, mode=mode)
        except TTQAInputError as exc:
            _fail(str(exc))
        if as_json:
            sys.stdout.write(json.dumps(answer.to_dict(), ensure_ascii=False) + "\n")
        else:
            _print_answer(answer)
        return
    assert questions is not None
    if not questions.is_file():
        _fail(f"questions file not found: {questions}")
    with questions.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row: object = None
            answer_n: Answer | None = None
            try:
                row = json.loads(line)
                if isinstance(row, dict) and "question" not in row:
                    raise ValueError('no "question" field')
                text = row["question"] if isinstance(row, dict) else str(row)
                answer_n = qa.ask(text, k=k, mode=mode)
                result: dict[str, object] = answer_n.to_dict()
            except (ValueError, TypeError) as exc:  # bad JSON, bad question
                result = {"error": f"line {n}: {exc}"}
            if isinstance(row, dict) and "id" in row:  # kept on errors too
                result = {"id": row["id"], **result}
            if as_json:
                sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
                sys.stdout.flush()
            elif answer_n is None:
                err.print(f"[red]{escape(str(result['error']))}[/]")
            else:
                out.rule(escape(answer_n.question))
                _print_answer(answer_n)


@app.command("eval")
def eval_(
    sets: Annotated[
        list[Path], typer.Argument(help="Evaluation sets: ttqa JSONL or SQuAD JSON (file or dir).")
    ],
    index: Annotated[Path | None, typer.Option("--index", "-i", help="Index to evaluate.")] = None,
    corpus: Annotated[
        list[Path] | None, typer.Option("--corpus", "-c", help="Build/update an index of this corpus first.")
    ] = None,
    mode: Annotated[str, typer.Option("--mode", "-m", help="hybrid, dense, bm25 or all.")] = "hybrid",
    k: KOpt = 10,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write report.json and report.md here.")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Evaluate a random sample of N questions.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the --limit sample.")] = 0,
    compare_to: Annotated[
        Path | None, typer.Option("--compare", help="An older report.json to compare with.")
    ] = None,
    no_answers: Annotated[bool, typer.Option("--no-answers", help="Retrieval metrics only.")] = False,
    backend: BackendOpt = None,
    milvus_uri: MilvusUriOpt = None,
    milvus_collection: MilvusCollectionOpt = None,
) -> None:
    """Evaluate retrieval, answers and abstention; print a table and write a report."""
    from ttqa.evaluation.report import metric_table, rc_line, tag_table, to_markdown, tradeoff_table
    from ttqa.evaluation.suite import EvalOptions, evaluate_set, is_eval_set
    from ttqa.index.builder import tqdm_progress

    corpus = list(corpus or [])
    missing = [str(p) for p in [*sets, *corpus] if not p.exists()]
    if missing:
        _fail(f"not found: {', '.join(missing)}")
    previous = _read_reports(compare_to) if compare_to is not None else None  # before the long run
    # `--corpus A B`: B arrives as a positional argument; a corpus file is not an eval set.
    eval_sets = [p for p in sets if is_eval_set(p)]
    if corpus:
        corpus += [p for p in sets if not is_eval_set(p)]
    elif len(eval_sets) != len(sets):
        _fail(f"not an evaluation set: {', '.join(str(p) for p in sets if p not in eval_sets)}")
    modes: tuple[Mode, ...]
    if mode == "all":
        modes = (Mode.HYBRID, Mode.DENSE, Mode.BM25)
    else:
        try:
            modes = (Mode.parse(mode),)
        except TTQAInputError as exc:
            _fail(str(exc))
    options = EvalOptions(modes=modes, k=k, limit=limit, seed=seed, answers=not no_answers)

    def progress(total: int, desc: str) -> Callable[[int], None]:
        bar = tqdm_progress(total, desc, unit="q")
        return bar.update

    served = None
    try:
        if backend_name(backend) == "milvus":
            if corpus:
                _fail(
                    "--corpus builds a local index; build the Milvus one with `ttqa index --backend milvus`"
                )
            served = load_qa(index or DEFAULT_INDEX, "milvus", milvus_uri, milvus_collection)
    except LOAD_ERRORS as exc:
        _fail(str(exc))
    reports = []
    for path in eval_sets:
        try:
            report = evaluate_set(
                path,
                index_dir=index,
                corpus=corpus,
                options=options,
                progress=progress,
                log=lambda m: err.print(escape(m)),
                qa=served,
            )
        except (*LOAD_ERRORS, ValueError) as exc:
            _fail(f"{path}: {exc}")
        reports.append(report)
        if line := rc_line(report):
            out.print(escape(line))
        for title, (header, rows) in (
            (f"{path} ({report['questions']} questions)", metric_table(report)),
            (f"{path}: by tag", tag_table(report)),
            (f"{path}: answers against abstention, by confidence threshold", tradeoff_table(report)),
        ):
            if rows:
                _print_table(title, header, rows)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.json").write_text(
            json.dumps(reports, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        (out_dir / "report.md").write_text(to_markdown(reports), encoding="utf-8")
        out.print(f"wrote {out_dir / 'report.json'} and {out_dir / 'report.md'}")
    if previous is not None:
        _print_comparison(previous, reports, f"compared with {compare_to}")


def _read_reports(path: Path) -> list[dict[str, Any]]:
    """The reports of a ``report.json`` that ``ttqa eval --out`` wrote, or a clear exit."""
    if not path.is_file():
        _fail(f"not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {path}: {exc}")
    if not isinstance(data, list) or not all(isinstance(r, dict) and "set" in r for r in data):
        _fail(f"not a ttqa evaluation report (the report.json of `ttqa eval --out`): {path}")
    return data


def _print_comparison(old: list[dict[str, Any]], new: list[dict[str, Any]], title: str) -> None:
    from ttqa.evaluation.report import compare, paired

    rows = compare(old, new)
    if not rows:
        out.print(escape(f"{title}: no set and mode in common"))
        return
    _print_table(title, ["set [mode]", "metric", "old", "new", "delta"], rows)
    pairs = paired(old, new)
    if pairs:
        _print_table(
            "question by question (exact match)",
            ["set [mode]", "questions", "right now only", "right before only", "p"],
            pairs,
            caption="p: two-sided exact sign test over the questions only one run gets right; "
            "p >= 0.05: the difference may be chance",
        )


def _print_table(title: str, header: list[str], rows: list[list[str]], caption: str | None = None) -> None:
    """A table of plain text (nothing read as markup): the first column left, the others right."""
    table = Table(title=escape(title), caption=escape(caption) if caption else None)
    for col in header:
        table.add_column(escape(col), justify="right" if col != header[0] else "left")
    for row in rows:
        table.add_row(*[escape(c) for c in row])
    out.print(table)


@app.command("compare")
def compare_(
    old: Annotated[Path, typer.Argument(help="The earlier report.json (`ttqa eval --out`).")],
    new: Annotated[Path, typer.Argument(help="The later report.json.")],
) -> None:
    """Compare two evaluation reports: each metric's change, and question by question."""
    _print_comparison(_read_reports(old), _read_reports(new), f"{new} compared with {old}")


@app.command()
def prepare(
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="Embedder to make ready (default e5-small-int8).")
    ] = None,
) -> None:
    """Convert and export the models once, ahead of the first question (for images and replicas)."""
    from ttqa.embedding.factory import UnknownEmbedderError
    from ttqa.prepare import prepare_models

    try:
        cache, done = prepare_models(embedder)
    except UnknownEmbedderError as exc:
        _fail(str(exc))
    for step in done:
        out.print(f"ready: {escape(step.name)} ({step.seconds:.1f} s)", soft_wrap=True)
    out.print(f"model cache: {escape(str(cache))}", soft_wrap=True)


@app.command()
def info(
    index: IndexOpt = DEFAULT_INDEX,
    backend: BackendOpt = None,
    milvus_uri: MilvusUriOpt = None,
    milvus_collection: MilvusCollectionOpt = None,
) -> None:
    """Describe an index: size, model, chunking, version."""
    qa = _load(index, backend, milvus_uri, milvus_collection)
    sys.stdout.write(json.dumps(qa.info(), ensure_ascii=False, indent=1) + "\n")


cli_serve.register(app)
cli_api.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
