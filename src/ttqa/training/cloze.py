"""Self-supervised reading questions from news articles (cloze spans, asked in place).

Vietnamese keeps its question words where the answer would stand ("Hội thảo do ai chủ trì?"),
so replacing a span of a sentence by the question phrase for it makes a question whose answer is
that span:

* a person after "đồng chí / ông / bà" -> "ai"; the post after a name ("ông X, Phó Chủ tịch
  UBND tỉnh,") -> "giữ chức vụ gì";
* a number with its unit ("6.666 biên chế", "8,1%") -> "bao nhiêu biên chế" / "bao nhiêu phần
  trăm"; a date after "ngày" -> "ngày nào"; a year after "năm" -> "năm nào"; a span of years
  ("nhiệm kỳ 2020 – 2025", "từ 2015 - 2018") -> "nhiệm kỳ nào" / "trong giai đoạn nào";
* a capitalised place after "tại / ở" -> "ở đâu"; an organisation ("Ban Tổ chức Tỉnh ủy",
  "Sở Nội vụ") -> "cơ quan nào";
* a document ("Nghị quyết số 18-NQ/TW") -> "nghị quyết nào"; what something is about ("về
  công tác cán bộ") -> "về vấn đề gì".

The question keeps up to ``window`` words on each side and drops a share of them, so that it
shares fewer words with its sentence, as a person's question does. The text is the whole cleaned
article, so that the reader also learns which of its windows holds the answer. Articles of the
evaluation corpora and any article sharing a run of 8 words with them (syndicated copies) are
left out.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ttqa.reading.sentences import sentence_spans
from ttqa.text.normalize import nfc
from ttqa.text.words import DOCUMENT_KINDS, LOWER_LETTERS, ORG_HEADS, POST_TITLES, UPPER_LETTERS
from ttqa.training.examples import Example

NAME_WORD = f"[{UPPER_LETTERS}][{LOWER_LETTERS}]+"
CAP_WORD = f"(?:[{UPPER_LETTERS}][{LOWER_LETTERS}{UPPER_LETTERS}]*|[{UPPER_LETTERS}]+|\\d+)"
_NAME = rf"{NAME_WORD}(?:\s+{NAME_WORD}){{1,3}}"

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ai", re.compile(rf"\b(?:[Đđ]ồng chí|[Ôô]ng|[Bb]à)\s+(?P<a>{_NAME})(?![\w])")),
    (
        "post",
        re.compile(
            rf"\b(?P<who>(?:[Đđ]ồng chí|[Ôô]ng|[Bb]à)\s+{_NAME}),\s+"
            rf"(?P<a>(?:{POST_TITLES})\b[^,;:()“”\"]{{2,80}}?)"
            r"(?=,|\s+(?:đã|cho|đề|phát|chủ|nhấn|yêu|khẳng|trao|và)\b)"
        ),
    ),
    ("pct", re.compile(r"(?<![\d/.,])(?P<a>\d+(?:,\d+)?\s?%)")),
    (
        "num",
        re.compile(
            rf"(?<![\d/.,:-])(?P<a>(?P<n>\d{{1,3}}(?:\.\d{{3}})+|\d+)(?:,\d+)?\s+(?P<u>[{LOWER_LETTERS}]+(?:\s[{LOWER_LETTERS}]+)?))"
        ),
    ),
    ("date", re.compile(r"\bngày\s+(?P<a>\d{1,2}[/-]\d{1,2}(?:[/-]\d{4})?)(?![\d/])")),
    ("year", re.compile(r"\b(?:vào |trong |từ )?năm\s+(?P<a>(?:19|20)\d\d)(?![\d/-])(?!\s?[-–]\s?\d)")),
    (
        "term",
        re.compile(
            r"\b(?P<k>[Nn]hiệm kỳ|[Gg]iai đoạn|[Tt]hời kỳ|[Tt]ừ năm|[Tt]ừ)\s+"
            r"(?P<a>(?:19|20)\d\d\s?[-–]\s?(?:19|20)\d\d)(?![\d/])"
        ),
    ),
    ("place", re.compile(rf"\b(?:tại|ở)\s+(?P<a>{_NAME})(?![\w])(?!\s*[.!?]\s)")),
    ("org", re.compile(rf"(?<![\w])(?P<a>(?:{ORG_HEADS})(?:\s+{CAP_WORD}){{1,5}})(?![\w])")),
    (
        "doc",
        re.compile(
            rf"(?<![\w])(?P<a>(?P<k>{DOCUMENT_KINDS})\s+(?:số\s+)?\d+[\w/.-]*(?:-[A-ZĐ]+(?:/[A-ZĐ]+)?)?)"
        ),
    ),
    (
        "about",
        re.compile(
            rf"\bvề\s+(?P<a>[{LOWER_LETTERS}][{LOWER_LETTERS}\s]{{8,70}}?)(?=[,.;:]|\s+(?:của|tại|ở|trong|cho|và|với)\b)"
        ),
    ),
]
_UNIT_STOP = {
    *("năm", "tháng", "ngày", "giờ", "phút", "h", "và", "là", "của", "lần", "trên", "so", "với", "từ"),
    *("đến", "tới", "qua", "vừa", "này", "đó", "trước", "sau", "chiều", "sáng", "tối", "trưa", "đêm"),
    *("thì", "mà", "đã", "sẽ", "được", "bị", "có", "không", "cho", "tại", "ở", "trong", "ngoài", "theo"),
    *("người", "đồng", "triệu", "tỷ", "nghìn", "ngàn", "trăm"),
}
_NOT_UNITS = {
    *("vẫn", "nhưng", "cũng", "đều", "đang", "còn", "nên", "vì", "nếu", "khi", "lại", "rồi", "ra", "vào"),
    *("lên", "xuống", "về", "đi", "nay", "kia", "hay", "hoặc", "thêm", "mới", "đạt", "gồm", "tăng", "giảm"),
    *("như", "các", "những", "mỗi", "một", "hai", "ba", "bốn", "năm", "chỉ", "gần", "hơn", "khoảng", "tuổi"),
}
Pairs = Callable[[str, str], bool]


def _unit(words: str, pairs: Pairs) -> str | None:
    """The unit after a number: its first word, and the second when the two make one word
    (``pairs``: "biên chế", "đảng viên", "điểm cầu")."""
    parts = words.split()
    if not parts or parts[0] in _UNIT_STOP or parts[0] in _NOT_UNITS or len(parts[0]) < 2:
        return None if not parts or parts[0] not in {"người", "đồng"} else parts[0]
    if len(parts) > 1 and pairs(parts[0], parts[1]):
        return " ".join(parts[:2])
    return parts[0]


def syllable_pairs(
    texts: Iterable[str], *, min_count: int = 20, min_pmi: float = 3.0
) -> set[tuple[str, str]]:
    """Lower-case syllable pairs that occur together far more often than apart (two-syllable
    words: "biên chế", "đảng viên"), counted in ``texts``."""
    import math
    from collections import Counter

    uni: Counter[str] = Counter()
    bi: Counter[tuple[str, str]] = Counter()
    for text in texts:
        words = re.findall(rf"[{LOWER_LETTERS}]+", text.lower())
        uni.update(words)
        bi.update(itertools.pairwise(words))
    total = sum(uni.values()) or 1
    out = set()
    for (a, b), n in bi.items():
        if n >= min_count and math.log(n * total / (uni[a] * uni[b])) >= min_pmi:
            out.add((a, b))
    return out


def _question(
    sentence: str, start: int, end: int, phrase: str, rng: random.Random, window: int, drop: float
) -> str:
    left = sentence[:start].split()[-window:]
    right = sentence[end:].split()[:window]
    keep = [w for w in left if rng.random() >= drop or not w[:1].isalnum()]
    keep_r = [w for w in right if rng.random() >= drop or not w[:1].isalnum()]
    text = " ".join([*keep, phrase, *keep_r]).strip(" ,;:–-")
    text = re.sub(r"\s+([,;:.])", r"\1", text).rstrip(".") + "?"
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class Cloze:
    question: str
    start: int  # of the answer, in the sentence
    end: int
    kind: str


def cloze(
    sentence: str,
    rng: random.Random,
    *,
    window: int = 10,
    drop: float = 0.1,
    pairs: Pairs = lambda a, b: False,
) -> Cloze | None:
    """One question about ``sentence`` (a span of a kind listed in the module notes), or None."""
    found = [(kind, m) for kind, pat in PATTERNS for m in pat.finditer(sentence)]
    rng.shuffle(found)
    for kind, m in found:
        a, b = m.start("a"), m.end("a")
        if kind == "ai":
            return Cloze(_question(sentence, m.start(), m.end(), "ai", rng, window, drop), a, b, kind)
        if kind == "post":
            who = m.group("who")
            right = sentence[b:].split()[: window // 2]
            q = f"{who} giữ chức vụ gì " + " ".join(right)
            q = re.sub(r"\s+([,;:.])", r"\1", q.strip(" ,;:–-")).rstrip(".") + "?"
            return Cloze(q[:1].upper() + q[1:], a, b, kind)
        if kind == "pct":
            return Cloze(_question(sentence, a, b, "bao nhiêu phần trăm", rng, window, drop), a, b, kind)
        if kind == "num":
            number, unit = m.group("n"), _unit(m.group("u"), pairs)
            if unit is None or re.fullmatch(r"(19|20)\d\d", number):
                continue
            b = m.start("u") + len(unit)
            return Cloze(_question(sentence, a, b, f"bao nhiêu {unit}", rng, window, drop), a, b, kind)
        if kind == "date":
            return Cloze(_question(sentence, m.start(), m.end(), "ngày nào", rng, window, drop), a, b, kind)
        if kind == "year":
            return Cloze(_question(sentence, m.start(), m.end(), "năm nào", rng, window, drop), a, b, kind)
        if kind == "term":
            k = m.group("k").lower()
            phrase = f"{k} nào" if k in ("nhiệm kỳ", "giai đoạn", "thời kỳ") else "trong giai đoạn nào"
            return Cloze(_question(sentence, m.start(), m.end(), phrase, rng, window, drop), a, b, kind)
        if kind == "place":
            return Cloze(_question(sentence, m.start(), m.end(), "ở đâu", rng, window, drop), a, b, kind)
        if kind == "org":
            phrase = rng.choice(["cơ quan nào", "đơn vị nào", "cơ quan nào"])
            return Cloze(_question(sentence, a, b, phrase, rng, window, drop), a, b, kind)
        if kind == "doc":
            phrase = f"{m.group('k').lower()} nào"
            return Cloze(_question(sentence, a, b, phrase, rng, window, drop), a, b, kind)
        if kind == "about":
            phrase = rng.choice(["vấn đề gì", "nội dung gì", "việc gì"])
            return Cloze(_question(sentence, a, b, phrase, rng, window, drop), a, b, kind)
    return None


def shingles(text: str, n: int = 8) -> set[int]:
    words = nfc(text).lower().split()
    return {hash(tuple(words[i : i + n])) for i in range(0, max(0, len(words) - n + 1))}


def cloze_examples(
    articles: Iterable[tuple[str, str]],
    *,
    n: int,
    per_article: int = 3,
    excluded: Callable[[str, str], bool] = lambda doc_id, text: False,
    seed: int = 0,
    window: int = 10,
    drop: float = 0.1,
    pairs: Pairs = lambda a, b: False,
) -> Iterator[Example]:
    """Up to ``n`` cloze questions, at most ``per_article`` from each of ``articles``
    ((doc_id, cleaned text) pairs), each over the whole article."""
    rng = random.Random(seed)
    made_total = 0
    for doc_id, text in articles:
        if made_total >= n:
            return
        if len(text) < 300 or excluded(doc_id, text):
            continue
        sents = [se for se in sentence_spans(text) if 40 <= se[1] - se[0] <= 600]
        rng.shuffle(sents)
        made = 0
        kinds: set[str] = set()
        for s, e in sents:
            if made >= per_article or made_total >= n:
                break
            got = cloze(text[s:e], rng, window=window, drop=drop, pairs=pairs)
            if got is None or got.kind in kinds:
                continue
            kinds.add(got.kind)
            yield Example(
                f"cloze-{doc_id}-{made}",
                got.question,
                text,
                ((s + got.start, s + got.end),),
                "cloze",
                group=doc_id,
            )
            made += 1
            made_total += 1
