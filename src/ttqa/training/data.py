"""The training set: every source read, cloze questions made, near misses retrieved, cached.

``build_examples`` writes ``examples.jsonl.gz`` in the work directory (outside the repository)
and reads it back on later runs with the same sources and settings.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from ttqa.training.cloze import cloze_examples, shingles, syllable_pairs
from ttqa.training.examples import Example, TrainingDataError, load_squad_like, load_ttqa_questions
from ttqa.training.nonsense import nonsense_examples
from ttqa.training.swapped import swapped_examples
from ttqa.training.withheld import withheld_examples

logger = logging.getLogger(__name__)

NewsWho = Literal["", "all", "answerable"]
"""Which news "who" snippets to train on: none, all of them, or only the answerable ones."""

EXAMPLES_FILE = "examples.jsonl.gz"
FINGERPRINT_FILE = "examples.fingerprint"
TOPIC = re.compile(
    r"đảng|cán bộ|tỉnh ủy|tỉnh uỷ|huyện ủy|huyện uỷ|bộ máy|biên chế|đại hội|hội nghị|ubnd|hđnd"
    r"|quốc hội|chính phủ",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Sources:
    """Where the training data is (``data_dir`` is the shared data folder)."""

    data_dir: Path
    party_org_questions: Path | None = None
    """ttqa JSONL questions over the domain articles (``evals/party_org_train.jsonl``)."""
    negatives_index: Path | None = None
    """An index of the domain articles: retrieved passages without the answer become near misses."""
    exclude: tuple[Path, ...] = ()
    """Corpora whose articles (and syndicated copies) cloze questions must not come from."""
    cloze: int = 12000
    cloze_per_article: int = 3
    news_who: NewsWho = ""
    nonsense: int = 0
    """Unanswerable examples with a question that asks nothing (:mod:`ttqa.training.nonsense`)."""
    withheld: int = 0
    """Unanswerable examples: a real question over its text with the answer taken out
    (:mod:`ttqa.training.withheld`)."""
    swapped: int = 0
    """Unanswerable examples: a real question with a name or number its article lacks
    (:mod:`ttqa.training.swapped`)."""
    seed: int = 0
    holdout: int = 4
    """One article in ``holdout`` of the domain questions is kept out of training: those
    questions calibrate the confidence (:func:`held_out`)."""

    def fingerprint(self) -> str:
        data = {k: str(v) for k, v in asdict(self).items()}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def viquad_dev(self) -> Path:
        return self.data_dir / "viquad_dev" / "viquad1_dev.json"

    @property
    def viquad2(self) -> Path:
        return self.data_dir / "qa_train" / "viquad2_train_sample.jsonl"

    @property
    def news_who_file(self) -> Path:
        return self.data_dir / "qa_train" / "news_who_snippets.jsonl"

    @property
    def news(self) -> Path:
        return self.data_dir / "news_vi" / "news_35k.jsonl.gz"

    @property
    def domain_articles(self) -> Path:
        return self.data_dir / "news_vi" / "party_org_606.jsonl"


def held_out(doc_id: str, every: int = 4) -> bool:
    """The domain articles whose questions are kept out of training for calibration."""
    return every > 0 and int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % every == 0


def documents(paths: Sequence[Path]) -> Iterator[tuple[str, str]]:
    """``(doc_id, cleaned text)`` of every article of ``paths`` (files or folders ttqa indexes)."""
    from ttqa.ingest.loader import load_documents

    for doc in load_documents(list(paths), on_skip=lambda where, why: None):
        yield doc.doc_id, doc.text


def excluded_articles(paths: Sequence[Path]) -> Callable[[str, str], bool]:
    """Whether an article ``(doc_id, text)`` is one of ``paths``' articles or a syndicated copy
    of one (it shares an 8-word shingle with one)."""
    ids: set[str] = set()
    seen: set[int] = set()
    for doc_id, text in documents(paths):
        ids.add(doc_id)
        seen |= shingles(text)

    def excluded(doc_id: str, text: str) -> bool:
        return doc_id in ids or bool(shingles(text) & seen)

    return excluded


def _near_misses(examples: list[Example], index: Path, per_question: int = 3) -> list[Example]:
    """Each answerable example with the passages ttqa retrieves for it that hold none of its
    answer text (other articles, or other parts of its own)."""
    from ttqa.qa import QA

    qa = QA.load(index)
    out = []
    for ex in examples:
        golds = {ex.text[a:b] for a, b in ex.answers}
        hits = qa.search(ex.question, k=8)
        negs = [h.text for h in hits if not any(g in h.text for g in golds)][:per_question]
        out.append(ex.with_negatives(negs))
    return out


def _make(sources: Sources) -> list[Example]:
    out: list[Example] = []
    for path in (sources.viquad_dev, sources.viquad2):
        got = load_squad_like(path)
        logger.info("%s: %d questions", path.name, len(got))
        out += got
    if sources.news_who:
        got = load_squad_like(sources.news_who_file)
        if sources.news_who == "answerable":
            got = [ex for ex in got if ex.answerable]
        logger.info("%s: %d questions", sources.news_who_file.name, len(got))
        out += got
    if sources.party_org_questions is not None:
        articles = dict(documents([sources.domain_articles]))
        got = load_ttqa_questions(sources.party_org_questions, articles, source="party_org")
        got = [ex for ex in got if not held_out(ex.group, sources.holdout)]
        if sources.negatives_index is not None:
            got = _near_misses(got, sources.negatives_index)
        logger.info("%s: %d questions", sources.party_org_questions.name, len(got))
        out += got
    if sources.cloze > 0:
        excluded = excluded_articles([sources.domain_articles, *sources.exclude])
        news = list(documents([sources.news]))
        pairs = syllable_pairs(text for _, text in news)
        # Articles on public affairs first (the domain's vocabulary), the rest of the news after.
        topical = [d for d in news if TOPIC.search(d[1][:2000])]
        rest = [d for d in news if not TOPIC.search(d[1][:2000])]
        random.Random(sources.seed).shuffle(topical)
        random.Random(sources.seed + 1).shuffle(rest)
        got = list(
            cloze_examples(
                [*topical, *rest],
                n=sources.cloze,
                per_article=sources.cloze_per_article,
                excluded=excluded,
                seed=sources.seed,
                pairs=lambda a, b: (a, b) in pairs,
            )
        )
        logger.info("cloze: %d questions", len(got))
        out += got
    made: list[Example] = []  # drawn from the sources' examples only, each kind apart from the other
    if sources.withheld > 0:
        got = withheld_examples(out, sources.withheld, sources.seed)
        logger.info("withheld: %d questions", len(got))
        made += got
    if sources.swapped > 0:
        got = swapped_examples(out, sources.swapped, sources.seed)
        logger.info("swapped: %d questions", len(got))
        made += got
    if sources.nonsense > 0:
        got = nonsense_examples(out, sources.nonsense, sources.seed)
        logger.info("nonsense: %d questions", len(got))
        made += got
    out += made
    return out


def _to_json(ex: Example) -> str:
    return json.dumps(
        {
            "id": ex.id,
            "question": ex.question,
            "text": ex.text,
            "answers": ex.answers,
            "source": ex.source,
            "group": ex.group,
            "negatives": ex.negatives,
        },
        ensure_ascii=False,
    )


def _from_json(line: str) -> Example:
    row = json.loads(line)
    return Example(
        row["id"],
        row["question"],
        row["text"],
        tuple((int(a), int(b)) for a, b in row["answers"]),
        row["source"],
        row.get("group", ""),
        tuple(row.get("negatives", ())),
    )


def read_examples(path: Path) -> list[Example]:
    """The examples of an ``examples.jsonl.gz`` file written by :func:`write_examples`."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [_from_json(line) for line in fh if line.strip()]


def write_examples(examples: Sequence[Example], path: Path) -> None:
    """Write ``examples`` to ``path`` (gzipped JSON lines), atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        for ex in examples:
            fh.write(_to_json(ex) + "\n")
    tmp.replace(path)


def build_examples(sources: Sources, work_dir: Path) -> list[Example]:
    """The training examples of ``sources``, made once and cached in ``work_dir``."""
    if not sources.data_dir.is_dir():
        raise TrainingDataError(f"{sources.data_dir}: no such data folder")
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / EXAMPLES_FILE
    stamp = work_dir / FINGERPRINT_FILE
    if path.exists() and stamp.exists() and stamp.read_text() == sources.fingerprint():
        return read_examples(path)
    examples = _make(sources)
    write_examples(examples, path)
    stamp.write_text(sources.fingerprint())
    return examples
