#!/usr/bin/env python
"""Count syllable bigrams in a news corpus and write the cohesion table the span features use.

    .venv/bin/python scripts/build_bigram_table.py \
        --corpus ../shared/data/news_vi/news_35k.jsonl.gz \
        --exclude ../shared/data/news_vi/party_org_606.jsonl \
        --out src/ttqa/answering/bigram_pmi.tsv.gz

Vietnamese writes a word as several syllables ("kế hoạch", "Bí thư"); an answer span that starts
or ends inside one ("hoạch sơ kết") is almost never right. The table lists the syllable pairs
that behave like one word — pointwise mutual information log(c(ab)·N / (c(a)·c(b))) of at least
2.5 over at least 10 occurrences — with a level (1: PMI 2.5-4, 2: PMI >= 4). Keys are the
lower-case, tone-folded syllables of :func:`ttqa.answering.spans.tokens_of`. Articles listed in
``--exclude`` (the evaluation domain) are left out of the counts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
from collections import Counter
from itertools import pairwise
from pathlib import Path

from tqdm import tqdm

from ttqa.answering.spans import tokens_of

MIN_COUNT = 10
LEVELS = ((4.0, 2), (2.5, 1))


def open_text(path: Path):  # type: ignore[no-untyped-def]
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, nargs="+", required=True, help="JSONL(.gz) with a 'text' field")
    ap.add_argument("--exclude", type=Path, nargs="*", default=[], help="JSONL whose ids are left out")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    excluded = set()
    for path in args.exclude:
        with open_text(path) as fh:
            excluded |= {json.loads(line)["id"] for line in fh if line.strip()}
    uni: Counter[str] = Counter()
    bi: Counter[tuple[str, str]] = Counter()
    docs = 0
    for path in args.corpus:
        with open_text(path) as fh:
            for line in tqdm(fh, desc=path.name, unit=" articles"):
                record = json.loads(line)
                if record.get("id") in excluded or not record.get("text"):
                    continue
                keys = [t.key if t.is_word and not t.is_digit else None for t in tokens_of(record["text"])]
                uni.update(k for k in keys if k)
                bi.update((a, b) for a, b in pairwise(keys) if a and b)
                docs += 1
    total = sum(uni.values())
    rows = []
    for (a, b), c in bi.items():
        if c < MIN_COUNT:
            continue
        pmi = math.log(c * total / (uni[a] * uni[b]))
        level = next((lv for floor, lv in LEVELS if pmi >= floor), 0)
        if level:
            rows.append(f"{a} {b}\t{level}")
    rows.sort()
    tmp = args.out.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write(f"# syllable bigrams of {docs} articles, {total} syllables; level 1: PMI 2.5-4, 2: >= 4\n")
        out.write("\n".join(rows) + "\n")
    tmp.replace(args.out)
    print(f"{len(rows)} bigrams from {docs} articles -> {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
