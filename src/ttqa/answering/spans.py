"""Candidate answer spans inside a sentence, and the features that rank them.

A candidate is a run of 1..MAX_SPAN tokens of one sentence that does not cross
sentence-final punctuation. Its features describe its shape (length, numbers,
capitalised names, dates), its relation to the words of the question (answers
rarely repeat the question, and sit next to the words they share with it), and
the question's type. A linear model over these features (:mod:`ranker`) scores them.
"""

from __future__ import annotations

import functools
import re
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ttqa.answering.qtype import QType
from ttqa.textnorm import _fold_word_accents, _fold_word_tones

MAX_SPAN = 16

_TOKEN_RE = re.compile(r"\d+(?:[.,/:\-]\d+)*%?|[^\W_]+|[^\w\s]", re.UNICODE)
_STRONG_PUNCT = set(".!?;…")
_FUNCTION_WORDS = {
    _fold_word_tones(w)
    for w in [
        "của",
        "và",
        "là",
        "được",
        "các",
        "những",
        "đã",
        "với",
        "cho",
        "trong",
        "về",
        "theo",
        "từ",
        "đến",
        "tại",
        "ở",
        "như",
        "khi",
        "thì",
        "mà",
        "này",
        "đó",
        "có",
        "không",
        "để",
        "một",
        "bị",
        "do",
        "vào",
        "ra",
        "lên",
        "còn",
        "cũng",
        "rất",
        "nhiều",
        "nên",
        "nhằm",
        "gắn",
        "hơn",
    ]
}
_UNIT_WORDS = {
    _fold_word_tones(w)
    for w in [
        "người",
        "đồng",
        "tỷ",
        "triệu",
        "ngàn",
        "nghìn",
        "trăm",
        "đảng",
        "viên",
        "cán",
        "bộ",
        "biên",
        "chế",
        "tổ",
        "chức",
        "đơn",
        "vị",
        "xã",
        "tỉnh",
        "huyện",
        "phòng",
        "ban",
        "cục",
        "vụ",
        "nhiệm",
        "vụ",
        "chỉ",
        "tiêu",
        "năm",
        "tháng",
        "ngày",
        "lần",
        "điểm",
        "phần",
        "nội",
        "dung",
        "km",
        "ha",
    ]
}
_DATE_WORDS = {
    _fold_word_tones(w) for w in ["ngày", "tháng", "năm", "sáng", "chiều", "tối", "trưa", "quý", "thế", "kỷ"]
}
_PLACE_PREP = {_fold_word_tones(w) for w in ["tại", "ở", "trên", "dưới", "trong"]}
_ORG_HEADS = {
    _fold_word_tones(w)
    for w in ["ban", "bộ", "sở", "ủy", "uỷ", "hội", "cục", "vụ", "viện", "trường", "tỉnh", "huyện", "thành"]
}


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int  # offset in the sentence string
    end: int
    key: str  # tone-folded lower-case
    folded: str  # accent-folded lower-case
    is_word: bool
    is_upper: bool
    is_digit: bool


def tokens_of(sentence: str) -> list[Token]:
    out = []
    for m in _TOKEN_RE.finditer(sentence):
        t = m.group(0)
        low = t.lower()
        is_word = t[0].isalnum()
        out.append(
            Token(
                text=t,
                start=m.start(),
                end=m.end(),
                key=_fold_word_tones(low) if is_word else t,
                folded=_fold_word_accents(low) if is_word else t,
                is_word=is_word,
                is_upper=t[0].isupper(),
                is_digit=t[0].isdigit(),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class QuestionView:
    """What span features need to know about the question."""

    keys: frozenset[str]  # content keys (tone-folded, or accent-folded when unaccented)
    accented: bool
    qtype: QType
    wh_pos: float


FEATURE_NAMES: list[str] = []


def _name(*parts: object) -> str:
    return ":".join(str(p) for p in parts)


_LEN_BUCKETS = [1, 2, 3, 4, 6, 9, 12, 16]
_DIST_BUCKETS = [0, 1, 3, 7, 1000]
_QTYPES = list(QType)
_CATS = [
    "digit",
    "upper1",
    "allupper",
    "date",
    "unit",
    "placeprep",
    "org",
    "func_first",
    "func_last",
    "person",
    "num_first",
]
_SURNAMES = {
    _fold_word_tones(w)
    for w in [
        "nguyễn",
        "trần",
        "lê",
        "phạm",
        "hoàng",
        "huỳnh",
        "phan",
        "vũ",
        "võ",
        "đặng",
        "bùi",
        "đỗ",
        "hồ",
        "ngô",
        "dương",
        "lý",
        "đàm",
        "lương",
        "trịnh",
        "đinh",
        "mai",
        "cao",
        "lâm",
        "tạ",
        "hà",
        "chu",
        "tô",
        "kiều",
        "triệu",
        "thái",
        "lưu",
        "quách",
        "la",
        "lục",
        "từ",
        "vương",
        "đoàn",
        "tăng",
    ]
}


def _bucket(value: float, edges: list[int]) -> int:
    for i, edge in enumerate(edges):
        if value <= edge:
            return i
    return len(edges)


def _build_names() -> list[str]:
    names = ["bias"]
    names += [_name("len", i) for i in range(len(_LEN_BUCKETS) + 1)]
    names += [_name("overlap", i) for i in range(4)]
    names += ["inner_comma", "inner_comma2", "at_sent_start", "at_sent_end", "after_punct", "before_punct"]
    names += ["left_in_q", "right_in_q"]
    names += [_name("dist_left", i) for i in range(len(_DIST_BUCKETS) + 1)]
    names += [_name("dist_right", i) for i in range(len(_DIST_BUCKETS) + 1)]
    names += ["no_match_in_sentence", "frac_matches_left", "frac_matches_right"]
    names += list(_CATS)
    names += [_name("wh_start_span_left"), _name("wh_end_span_right")]
    for q in _QTYPES:
        names += [_name(q.value, c) for c in _CATS]
        names += [_name(q.value, "len", i) for i in range(len(_LEN_BUCKETS) + 1)]
        names += [_name(q.value, "dist_left_near"), _name(q.value, "dist_right_near")]
    names += ["sent_lex", "sent_cos", "sent_rank0", "sent_rank1", "sent_rank2plus", "passage_rrf"]
    return names


FEATURE_NAMES.extend(_build_names())
_INDEX = {n: i for i, n in enumerate(FEATURE_NAMES)}
N_FEATURES = len(FEATURE_NAMES)


@functools.cache
def _at(*parts: object) -> int:
    """Column of the feature named by ``parts`` (memoised: called for every candidate span)."""
    return _INDEX[_name(*parts)]


@dataclass(frozen=True, slots=True)
class SentenceContext:
    """Sentence-level evidence shared by every span of a sentence."""

    lex: float  # IDF-weighted share of the question's words found in the sentence
    cos: float  # dense similarity question / sentence
    rank: int  # rank of the sentence among the candidates (0 = best)
    passage: float  # retrieval score of the passage (normalised to [0, 1])


LEX_BUCKETS = 256
LEX_SLOTS = 4  # token before the span, first, last, token after the span


def _lex_id(text: str, slot: int) -> int:
    return slot * LEX_BUCKETS + zlib.crc32(text.encode()) % LEX_BUCKETS


@dataclass(frozen=True, slots=True)
class SpanFeatures:
    """Dense feature rows plus hashed word identities around each span."""

    dense: npt.NDArray[np.float32]  # (n, N_FEATURES)
    lex: npt.NDArray[np.int32]  # (n, LEX_SLOTS) bucket ids in [0, LEX_SLOTS * LEX_BUCKETS)

    def __len__(self) -> int:
        return len(self.dense)

    @classmethod
    def empty(cls) -> SpanFeatures:
        return cls(np.zeros((0, N_FEATURES), np.float32), np.zeros((0, LEX_SLOTS), np.int32))

    @classmethod
    def concat(cls, parts: list[SpanFeatures]) -> SpanFeatures:
        if not parts:
            return cls.empty()
        return cls(np.concatenate([p.dense for p in parts]), np.concatenate([p.lex for p in parts]))


def span_candidates(
    toks: list[Token], q: QuestionView, ctx: SentenceContext
) -> tuple[list[tuple[int, int]], SpanFeatures]:
    """All candidate token spans ``[i, j)`` of a sentence and their features."""
    n = len(toks)
    in_q = [t.is_word and (t.key if q.accented else t.folded) in q.keys for t in toks]
    content_match = [m and toks[i].key not in _FUNCTION_WORDS for i, m in enumerate(in_q)]
    match_pos = [i for i, m in enumerate(content_match) if m]
    total_matches = max(1, len(match_pos))
    spans: list[tuple[int, int]] = []
    rows: list[npt.NDArray[np.float32]] = []
    lex: list[tuple[int, int, int, int]] = []
    keys = [t.key if t.is_word else t.text for t in toks]
    # Prefix counts of words and of question words, to tell spans made only of question words.
    words_in = [0]
    q_words_in = [0]
    for t, m in zip(toks, in_q, strict=True):
        words_in.append(words_in[-1] + t.is_word)
        q_words_in.append(q_words_in[-1] + (t.is_word and m))
    # Hashed identities of the word before / first / last / after, per token (not per span).
    lex_before = [_lex_id(keys[i - 1] if i > 0 else "<s>", 0) for i in range(n)]
    lex_first = [_lex_id(k, 1) for k in keys]
    lex_last = [_lex_id(k, 2) for k in keys]
    lex_after = [_lex_id(keys[j] if j < n else "</s>", 3) for j in range(1, n + 1)]
    for i in range(n):
        if not toks[i].is_word:
            continue
        commas = 0
        for j in range(i + 1, min(n, i + MAX_SPAN) + 1):
            last = toks[j - 1]
            if last.text in _STRONG_PUNCT:
                break
            if not last.is_word:
                commas += 1
                continue  # spans end on a word
            if q_words_in[j] - q_words_in[i] == words_in[j] - words_in[i]:
                continue  # every word is the question's own: never the answer
            spans.append((i, j))
            rows.append(_features(toks, i, j, commas, in_q, match_pos, total_matches, q, ctx))
            lex.append((lex_before[i], lex_first[i], lex_last[j - 1], lex_after[j - 1]))
    if not rows:
        return [], SpanFeatures.empty()
    return spans, SpanFeatures(np.stack(rows), np.asarray(lex, dtype=np.int32))


def _features(
    toks: list[Token],
    i: int,
    j: int,
    commas: int,
    in_q: list[bool],
    match_pos: list[int],
    total_matches: int,
    q: QuestionView,
    ctx: SentenceContext,
) -> npt.NDArray[np.float32]:
    f = np.zeros(N_FEATURES, dtype=np.float32)
    ix = _INDEX
    length = j - i
    words = [t for t in toks[i:j] if t.is_word]
    f[ix["bias"]] = 1.0
    lb = _bucket(length, _LEN_BUCKETS)
    f[_at("len", lb)] = 1.0
    overlap = sum(in_q[i:j]) / max(1, len(words))
    f[_at("overlap", 0 if overlap == 0 else 1 if overlap <= 0.34 else 2 if overlap <= 0.67 else 3)] = 1.0
    f[ix["inner_comma"]] = 1.0 if commas else 0.0
    f[ix["inner_comma2"]] = 1.0 if commas > 1 else 0.0
    f[ix["at_sent_start"]] = 1.0 if i == 0 else 0.0
    f[ix["at_sent_end"]] = 1.0 if j == len(toks) or (j == len(toks) - 1 and not toks[-1].is_word) else 0.0
    f[ix["after_punct"]] = 1.0 if i > 0 and not toks[i - 1].is_word else 0.0
    f[ix["before_punct"]] = 1.0 if j < len(toks) and not toks[j].is_word else 0.0
    f[ix["left_in_q"]] = 1.0 if i > 0 and in_q[i - 1] else 0.0
    f[ix["right_in_q"]] = 1.0 if j < len(toks) and in_q[j] else 0.0
    left = [i - p - 1 for p in match_pos if p < i]
    right = [p - j for p in match_pos if p >= j]
    dl = min(left) if left else 10_000
    dr = min(right) if right else 10_000
    f[_at("dist_left", _bucket(dl, _DIST_BUCKETS))] = 1.0
    f[_at("dist_right", _bucket(dr, _DIST_BUCKETS))] = 1.0
    f[ix["no_match_in_sentence"]] = 1.0 if not match_pos else 0.0
    f[ix["frac_matches_left"]] = len(left) / total_matches
    f[ix["frac_matches_right"]] = len(right) / total_matches
    first, last = words[0], words[-1]
    cats = {
        "digit": any(t.is_digit for t in words),
        "upper1": first.is_upper,
        "allupper": all(t.is_upper or t.is_digit for t in words),
        "date": (any(t.is_digit for t in words) and any(t.key in _DATE_WORDS or "/" in t.text for t in words))
        or any("/" in t.text or ("-" in t.text and t.is_digit) for t in words),
        "unit": any(t.is_digit for t in words)
        and any(t.key in _UNIT_WORDS or t.text.endswith("%") for t in words),
        "placeprep": i > 0 and toks[i - 1].key in _PLACE_PREP,
        "org": first.key in _ORG_HEADS,
        "func_first": first.key in _FUNCTION_WORDS,
        "func_last": last.key in _FUNCTION_WORDS,
        # A Vietnamese personal name: 2-4 capitalised syllables starting with a common surname.
        "person": 2 <= len(words) <= 4
        and first.key in _SURNAMES
        and all(t.is_upper and not t.is_digit for t in words),
        "num_first": first.is_digit,
    }
    for c, on in cats.items():
        if on:
            f[ix[c]] = 1.0
            f[_at(q.qtype.value, c)] = 1.0
    f[_at(q.qtype.value, "len", lb)] = 1.0
    f[_at(q.qtype.value, "dist_left_near")] = 1.0 if dl <= 2 else 0.0
    f[_at(q.qtype.value, "dist_right_near")] = 1.0 if dr <= 2 else 0.0
    f[ix["wh_start_span_left"]] = 1.0 if q.wh_pos < 0.3 and len(right) > len(left) else 0.0
    f[ix["wh_end_span_right"]] = 1.0 if q.wh_pos > 0.7 and len(left) > len(right) else 0.0
    f[ix["sent_lex"]] = ctx.lex
    f[ix["sent_cos"]] = ctx.cos
    f[ix["sent_rank0" if ctx.rank == 0 else "sent_rank1" if ctx.rank == 1 else "sent_rank2plus"]] = 1.0
    f[ix["passage_rrf"]] = ctx.passage
    return f
