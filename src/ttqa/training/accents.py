"""Build the syllable model that puts diacritics back on unaccented questions.

``python -m ttqa.training.accents --data-dir ../shared/data`` counts the syllables and syllable
pairs of the 35,440 news articles (less the domain articles, the bundled seed articles and their
syndicated copies, which the evaluation sets ask about) and of the questions of UIT-ViQuAD 1.0
dev and the UIT-ViQuAD 2.0 sample (how Vietnamese questions go), keeps those seen
``--min-count`` times or more, and writes ``ttqa/text/syllables.npz`` with its SHA-256 and
provenance in ``syllables.json``. The evaluation sets are never read.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from ttqa.text.syllable_lm import SyllableLM, bundled_path, checksum, count, meta_path
from ttqa.training.data import Sources, documents, excluded_articles
from ttqa.training.examples import load_squad_like

logger = logging.getLogger(__name__)

MIN_COUNT = 5
"""Syllables and pairs seen fewer times are left out: 1.0 MB, where every pair seen twice makes
it twice as big, for the same 98.4 % of syllables right on the 416 questions of
``evals/party_org_train.jsonl`` typed without diacritics."""
SEED_CORPUS = Path("corpus")


def texts(sources: Sources, exclude: Sequence[Path], *, progress: bool = True) -> Iterator[str]:
    """The news articles not excluded, then the training questions."""
    excluded = excluded_articles([sources.domain_articles, *exclude])
    kept = skipped = 0
    for doc_id, text in tqdm(
        documents([sources.news]), desc="news articles", unit="article", disable=not progress
    ):
        if excluded(doc_id, text):
            skipped += 1
            continue
        kept += 1
        yield text
    logger.info(
        "news: %d articles counted, %d left out (evaluation articles and their copies)", kept, skipped
    )
    for path in (sources.viquad_dev, sources.viquad2):
        questions = load_squad_like(path)
        logger.info("%s: %d questions", path.name, len(questions))
        yield from (q.question for q in questions)


def build(
    texts_: Iterable[str], *, min_count: int = MIN_COUNT, meta: dict[str, object] | None = None
) -> SyllableLM:
    unigrams, bigrams = count(texts_)
    return SyllableLM.from_counts(unigrams, bigrams, min_count=min_count, meta=meta)


def write(model: SyllableLM, out: Path) -> dict[str, object]:
    """Write ``model`` to ``out`` and its metadata (with the file's SHA-256) beside it, both
    atomically; the metadata is returned."""
    from ttqa.index.layout import atomic_write_bytes, atomic_write_text

    data = model.to_bytes()
    meta = {
        **model.meta,
        "sha256": checksum(data),
        "syllables": len(model.vocab) - 1,
        "pairs": len(model.pair_keys),
        "bytes": len(data),
    }
    atomic_write_bytes(out, data)
    atomic_write_text(meta_path(out), json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ttqa.training.accents", description=(__doc__ or "").split("\n\n")[0]
    )
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"), help="the shared data folder")
    ap.add_argument(
        "--exclude",
        type=Path,
        nargs="*",
        default=[SEED_CORPUS],
        help="more corpora whose articles (and copies) are left out (default: the seed corpus)",
    )
    ap.add_argument("--min-count", type=int, default=MIN_COUNT)
    ap.add_argument("--out", type=Path, default=None, help="default: the bundled ttqa/text/syllables.npz")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    sources = Sources(args.data_dir)
    needed = (sources.news, sources.domain_articles, sources.viquad_dev, sources.viquad2, *args.exclude)
    missing = [p for p in needed if not p.exists()]
    if missing:
        ap.error(f"not found: {', '.join(map(str, missing))}")
    meta: dict[str, object] = {
        "built_from": "news_35k less the domain and seed articles and their copies; "
        "UIT-ViQuAD 1.0 dev and UIT-ViQuAD 2.0 sample questions",
        "min_count": args.min_count,
        "command": "python -m ttqa.training.accents --data-dir ../shared/data",
    }
    model = build(texts(sources, args.exclude, progress=not args.quiet), min_count=args.min_count, meta=meta)
    out = args.out or bundled_path()
    print(json.dumps(write(model, out), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["MIN_COUNT", "build", "main", "texts", "write"]
