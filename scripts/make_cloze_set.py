#!/usr/bin/env python
"""Self-supervised reading-comprehension questions from news articles (cloze spans).

    .venv/bin/python scripts/make_cloze_set.py ../shared/data/news_vi/news_35k.jsonl.gz \
        --exclude ../shared/data/news_vi/party_org_606.jsonl ../shared/seeds \
        --n 6000 --per-article 2 --out /tmp/cloze_news.json

In a sentence of an article, a span of a kind news questions ask for is replaced in place by
the Vietnamese question phrase for it (Vietnamese keeps question words in situ: "Hội thảo do
ai chủ trì?"):

* a person named after "đồng chí / ông / bà" -> "ai" (answer: the name);
* a number with its unit ("6.666 biên chế", "8,1%") -> "bao nhiêu biên chế" / "bao nhiêu phần
  trăm" (answer: the number with its unit);
* a date after "ngày" ("ngày 19/11/2020") -> "ngày nào" (answer: the date);
* a capitalised place after "tại / ở" -> "ở đâu" (answer: the place).

The question keeps at most ``--window`` words on each side of the question phrase and loses a
share (``--drop``) of the others, so that it shares fewer words with its sentence, as a
person's question does. The context is the paragraph (often the whole article: the ranker learns
to pick the sentence too; ``--context-chars 800``, passages of the index's size, did worse on
every held-out set). Articles of ``--exclude`` (the evaluation
corpora) and any article sharing a run of 8 words with them (syndicated copies) are skipped.
Writes a SQuAD-format JSON file (for ``scripts/train_span_ranker.py --train``); the data stays
outside the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

from ttqa.answering.reader import _is_person
from ttqa.answering.sentences import sentence_spans
from ttqa.answering.spans import bigram_levels
from ttqa.textnorm import _fold_word_tones, nfc

UPPER = "A-ZÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
LOWER = "a-zàáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
NAME_WORD = f"[{UPPER}][{LOWER}]+"
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ai", re.compile(rf"\b(?:[Đđ]ồng chí|[Ôô]ng|[Bb]à)\s+(?P<a>{NAME_WORD}(?:\s+{NAME_WORD}){{1,3}})")),
    ("pct", re.compile(r"(?<![\d/.,])(?P<a>\d+(?:,\d+)?\s?%)")),
    (
        "num",
        re.compile(
            rf"(?<![\d/.,:-])(?P<a>(?P<n>\d{{1,3}}(?:\.\d{{3}})*|\d+)(?:,\d+)?\s+(?P<u>[{LOWER}]+(?:\s[{LOWER}]+)?))"
        ),
    ),
    ("date", re.compile(r"\bngày\s+(?P<a>\d{1,2}/\d{1,2}(?:/\d{4})?)(?![\d/])")),
    ("place", re.compile(rf"\b(?:tại|ở)\s+(?P<a>{NAME_WORD}(?:\s+{NAME_WORD}){{1,3}})(?![\w])")),
]
_UNIT_STOP = {
    *("năm", "tháng", "ngày", "giờ", "phút", "h", "và", "là", "của", "lần", "trên", "so", "với", "từ"),
    *("đến", "tới", "qua", "vừa", "này", "đó", "trước", "sau", "chiều", "sáng", "tối", "trưa", "đêm"),
    *("thì", "mà", "đã", "sẽ", "được", "bị", "có", "không", "cho", "tại", "ở", "trong", "ngoài", "theo"),
}
_PAIRS = bigram_levels()


def _unit(words: str) -> str | None:
    """The unit noun after a number: its first syllable, and the second when the two make one
    word (the syllable-pair table); None for words that are not a unit."""
    parts = words.split()
    if not parts or parts[0] in _UNIT_STOP or (len(parts[0]) < 2 and parts[0] not in {"m", "ha"}):
        return None
    if len(parts) > 1 and _PAIRS.get((_fold_word_tones(parts[0]), _fold_word_tones(parts[1])), 0) >= 1:
        return " ".join(parts[:2])
    return parts[0]


def _articles(path: Path) -> Iterator[dict[str, str]]:
    if path.is_dir():
        for f in sorted(path.glob("*")):
            if f.suffix in {".txt", ".md"}:
                yield {"id": f.stem, "text": f.read_text(encoding="utf-8")}
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _shingles(text: str, n: int = 8) -> set[int]:
    words = nfc(text).lower().split()
    return {hash(tuple(words[i : i + n])) for i in range(0, max(0, len(words) - n + 1))}


def _question(
    sentence: str, start: int, end: int, phrase: str, rng: random.Random, window: int, drop: float
) -> str:
    left = sentence[:start].split()
    right = sentence[end:].split()
    left, right = left[-window:], right[:window]
    keep = [w for w in left if rng.random() >= drop or not w[:1].isalnum()]
    keep_r = [w for w in right if rng.random() >= drop or not w[:1].isalnum()]
    text = " ".join([*keep, phrase, *keep_r]).strip(" ,;:–-")
    text = re.sub(r"\s+([,;:.])", r"\1", text).rstrip(".") + "?"
    return text[:1].upper() + text[1:]


def cloze(sentence: str, rng: random.Random, window: int, drop: float) -> tuple[str, str] | None:
    """One (question, answer) of ``sentence``, or None when it holds no span of a known kind."""
    found: list[tuple[str, re.Match[str]]] = []
    for kind, pat in PATTERNS:
        for m in pat.finditer(sentence):
            found.append((kind, m))
    rng.shuffle(found)
    for kind, m in found:
        answer = m.group("a")
        if kind == "ai":
            if not _is_person(answer):
                continue
            return _question(sentence, m.start(), m.end(), "ai", rng, window, drop), answer
        if kind == "pct":
            return _question(
                sentence, m.start("a"), m.end("a"), "bao nhiêu phần trăm", rng, window, drop
            ), answer
        if kind == "num":
            number, unit = m.group("n"), _unit(m.group("u"))
            if re.fullmatch(r"(19|20)\d\d", number) or unit is None:
                continue
            end = m.start("u") + len(unit)
            answer = sentence[m.start("a") : end]
            return _question(sentence, m.start("a"), end, f"bao nhiêu {unit}", rng, window, drop), answer
        if kind == "date":
            return _question(sentence, m.start(), m.end(), "ngày nào", rng, window, drop), answer
        if kind == "place":
            return _question(sentence, m.start(), m.end(), "ở đâu", rng, window, drop), answer
    return None


def _window(text: str, start: int, end: int, chars: int) -> tuple[int, int]:
    """Whole sentences of ``text`` around ``[start, end)``, about ``chars`` characters in all
    (a passage of the size the index chunks articles into)."""
    spans = sentence_spans(text)
    k = next(i for i, (s, e) in enumerate(spans) if s <= start < e or s >= start)
    lo_i = hi_i = k
    while spans[hi_i][1] - spans[lo_i][0] < chars and (lo_i > 0 or hi_i < len(spans) - 1):
        if hi_i < len(spans) - 1:
            hi_i += 1
        if spans[hi_i][1] - spans[lo_i][0] < chars and lo_i > 0:
            lo_i -= 1
    return spans[lo_i][0], spans[hi_i][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--exclude", type=Path, nargs="*", default=[])
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--per-article", type=int, default=2)
    ap.add_argument("--window", type=int, default=10, help="question words kept on each side")
    ap.add_argument("--drop", type=float, default=0.1, help="share of the other words dropped")
    ap.add_argument(
        "--context-chars",
        type=int,
        default=0,
        help="context: the sentences around, ~this long (0: the paragraph)",
    )
    ap.add_argument("--topic", default="đảng|cán bộ|tỉnh ủy|huyện ủy|bộ máy|biên chế|đại hội")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    excluded_ids: set[str] = set()
    excluded_sh: set[int] = set()
    for path in args.exclude:
        for art in _articles(path):
            excluded_ids.add(str(art.get("id")))
            excluded_sh |= _shingles(art["text"])
    topic = re.compile(args.topic, re.IGNORECASE)
    data, skipped, seen = [], 0, 0
    for art in _articles(args.corpus):
        if len(data) >= args.n:
            break
        text = nfc(art["text"])
        if str(art.get("id")) in excluded_ids or not topic.search(text[:2000]):
            continue
        seen += 1
        if len(_shingles(text) & excluded_sh) > 0:
            skipped += 1
            continue
        made = 0
        paragraphs = [p for p in text.split("\n") if len(p) > 80]
        rng.shuffle(paragraphs)
        for para in paragraphs:
            if made >= args.per_article:
                break
            for s, e in sentence_spans(para):  # the first sentence of the paragraph with a span
                got = cloze(para[s:e], rng, args.window, args.drop)
                if got is None:
                    continue
                question, answer = got
                lo, hi = _window(para, s, e, args.context_chars) if args.context_chars else (0, len(para))
                context = para[lo:hi]
                start = context.index(answer, s - lo)
                qid = f"{art.get('id')}-{made}"
                qas = [
                    {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": start}]}
                ]
                data.append({"title": art.get("title", ""), "paragraphs": [{"context": context, "qas": qas}]})
                made += 1
                break
    args.out.write_text(
        json.dumps({"version": "cloze-1", "data": data}, ensure_ascii=False), encoding="utf-8"
    )
    print(
        f"{len(data)} questions from {seen} topical articles ({skipped} skipped as copies of excluded ones)"
    )


if __name__ == "__main__":
    main()
