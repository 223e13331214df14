"""Candidate answer spans inside a sentence, and the features that rank them.

A candidate is a run of 1..MAX_SPAN tokens of one sentence that does not cross
sentence-final punctuation. Its features describe its shape (length, numbers,
capitalised names, dates), its relation to the words of the question (answers
rarely repeat the question, and sit next to the words they share with it), and
the question's type. A linear model over these features (:mod:`ranker`) scores them.
"""

from __future__ import annotations

import functools
import gzip
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

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
    # The question's words around its question word (:func:`ttqa.answering.qtype.wh_slot`).
    slot_before: frozenset[str] = frozenset()
    slot_head: frozenset[str] = frozenset()
    slot_after: frozenset[str] = frozenset()


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
        names += [_name(q.value, "slot_left"), _name(q.value, "slot_right")]
    names += ["slot_left", "slot_right", "slot_head_first", "slot_head_in", "slot_after_last"]
    names += ["split_left:1", "split_left:2", "split_right:1", "split_right:2"]
    names += ["sent_lex", "sent_cos", "sent_rank0", "sent_rank1", "sent_rank2plus", "passage_rrf"]
    return names


FEATURE_NAMES.extend(_build_names())
_INDEX = {n: i for i, n in enumerate(FEATURE_NAMES)}
N_FEATURES = len(FEATURE_NAMES)


BIGRAMS_FILE = "bigram_pmi.tsv.gz"


@functools.cache
def bigram_levels() -> dict[tuple[str, str], int]:
    """Syllable pairs that behave like one word, with their level (1: PMI 2.5-4, 2: PMI >= 4),
    counted in news text by ``scripts/build_bigram_table.py``."""
    raw = resources.files("ttqa.answering").joinpath(BIGRAMS_FILE).read_bytes()
    out: dict[tuple[str, str], int] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line and not line.startswith("#"):
            pair, level = line.split("\t")
            a, b = pair.split(" ")
            out[(a, b)] = int(level)
    return out


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


def _prefix(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """``out[k]`` = how many of ``flags[:k]`` are true."""
    out = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags, out=out[1:])
    return out


def _flags(toks: list[Token], test: Callable[[Token], bool]) -> npt.NDArray[np.bool_]:
    return np.fromiter((test(t) for t in toks), dtype=np.bool_, count=len(toks))


def span_candidates(
    toks: list[Token], q: QuestionView, ctx: SentenceContext
) -> tuple[npt.NDArray[np.int64], SpanFeatures]:
    """All candidate token spans ``[i, j)`` of a sentence (rows of an ``(m, 2)`` array, ordered
    by ``i`` then ``j``) and their features, computed for all spans at once."""
    n = len(toks)
    if n == 0:
        return np.zeros((0, 2), np.int64), SpanFeatures.empty()
    word = _flags(toks, lambda t: t.is_word)
    digit = _flags(toks, lambda t: t.is_digit)
    upper = _flags(toks, lambda t: t.is_upper)
    # Each word in the form the question's keys take ("" for punctuation, never a key).
    mkeys = [(t.key if q.accented else t.folded) if t.is_word else "" for t in toks]
    in_q = np.fromiter((k in q.keys for k in mkeys), np.bool_, n)
    func = _flags(toks, lambda t: t.key in _FUNCTION_WORDS)
    content = in_q & ~func
    # Spans start and end on a word, never cross strong punctuation, and are not made only of
    # the question's own words (never the answer).
    i_grid, length = np.meshgrid(np.arange(n), np.arange(1, MAX_SPAN + 1), indexing="ij")
    i_all, j_all = i_grid.ravel(), (i_grid + length).ravel()
    keep = j_all <= n
    i_all, j_all = i_all[keep], j_all[keep]
    p_word, p_q = _prefix(word), _prefix(in_q)
    p_strong = _prefix(_flags(toks, lambda t: t.text in _STRONG_PUNCT))
    keep = (
        word[i_all]
        & word[j_all - 1]
        & (p_strong[j_all] == p_strong[i_all])
        & ((p_q[j_all] - p_q[i_all]) != (p_word[j_all] - p_word[i_all]))
    )
    i, j = i_all[keep], j_all[keep]
    m = len(i)
    if m == 0:
        return np.zeros((0, 2), np.int64), SpanFeatures.empty()

    def words_with(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        p = _prefix(flags & word)
        counts: npt.NDArray[np.int64] = p[j] - p[i]
        return counts

    f = np.zeros((m, N_FEATURES), dtype=np.float32)
    rows = np.arange(m)
    ix = _INDEX
    span_len = j - i
    n_words = p_word[j] - p_word[i]
    commas = span_len - n_words
    f[:, ix["bias"]] = 1.0
    len_bucket = np.searchsorted(_LEN_BUCKETS, span_len, side="left")
    f[rows, _LEN_COLS[len_bucket]] = 1.0
    overlap = (p_q[j] - p_q[i]) / np.maximum(1, n_words)
    overlap_bucket = np.where(overlap == 0, 0, np.where(overlap <= 0.34, 1, np.where(overlap <= 0.67, 2, 3)))
    f[rows, _OVERLAP_COLS[overlap_bucket]] = 1.0
    f[:, ix["inner_comma"]] = commas > 0
    f[:, ix["inner_comma2"]] = commas > 1
    f[:, ix["at_sent_start"]] = i == 0
    f[:, ix["at_sent_end"]] = (j == n) | ((j == n - 1) & (not toks[-1].is_word))
    before_ok, after_ok = i > 0, j < n
    f[:, ix["after_punct"]] = before_ok & ~word[np.maximum(i - 1, 0)]
    f[:, ix["before_punct"]] = after_ok & ~word[np.minimum(j, n - 1)]
    f[:, ix["left_in_q"]] = before_ok & in_q[np.maximum(i - 1, 0)]
    f[:, ix["right_in_q"]] = after_ok & in_q[np.minimum(j, n - 1)]
    # Distances to the nearest question word on each side, and how many lie on each side.
    p_content = _prefix(content)
    total = int(p_content[-1])
    positions = np.arange(n)
    last_before = np.maximum.accumulate(np.where(content, positions, -1))  # last match at or before k
    prev_match = np.concatenate(([-1], last_before))[i]  # last match before i
    next_from = np.minimum.accumulate(np.where(content, positions, n)[::-1])[::-1]
    next_match = np.concatenate((next_from, [n]))[j]  # first match at or after j
    dist_left = np.where(prev_match >= 0, i - prev_match - 1, 10_000)
    dist_right = np.where(next_match < n, next_match - j, 10_000)
    f[rows, _DIST_LEFT_COLS[np.searchsorted(_DIST_BUCKETS, dist_left, side="left")]] = 1.0
    f[rows, _DIST_RIGHT_COLS[np.searchsorted(_DIST_BUCKETS, dist_right, side="left")]] = 1.0
    n_left = p_content[i]
    n_right = total - p_content[j]
    f[:, ix["no_match_in_sentence"]] = total == 0
    f[:, ix["frac_matches_left"]] = n_left / max(1, total)
    f[:, ix["frac_matches_right"]] = n_right / max(1, total)
    # Categories of the span's words.
    has_digit = words_with(digit) > 0
    slash = _flags(toks, lambda t: "/" in t.text)
    date_word = _flags(toks, lambda t: t.key in _DATE_WORDS)
    dash_number = _flags(toks, lambda t: "-" in t.text and t.is_digit)
    unit_word = _flags(toks, lambda t: t.key in _UNIT_WORDS or t.text.endswith("%"))
    not_name = ~(upper & ~digit)
    cats = {
        "digit": has_digit,
        "upper1": upper[i],
        "allupper": words_with(~(upper | digit)) == 0,
        "date": (has_digit & (words_with(date_word | slash) > 0)) | (words_with(slash | dash_number) > 0),
        "unit": has_digit & (words_with(unit_word) > 0),
        "placeprep": before_ok & _flags(toks, lambda t: t.key in _PLACE_PREP)[np.maximum(i - 1, 0)],
        "org": _flags(toks, lambda t: t.key in _ORG_HEADS)[i],
        "func_first": func[i],
        "func_last": func[j - 1],
        # A Vietnamese personal name: 2-4 capitalised syllables starting with a common surname.
        "person": (n_words >= 2)
        & (n_words <= 4)
        & _flags(toks, lambda t: t.key in _SURNAMES)[i]
        & (words_with(not_name) == 0),
        "num_first": digit[i],
    }
    qt = q.qtype.value
    for c, on in cats.items():
        f[:, ix[c]] = on
        f[:, _at(qt, c)] = on
    f[rows, np.asarray([_at(qt, "len", b) for b in range(len(_LEN_BUCKETS) + 1)])[len_bucket]] = 1.0
    f[:, _at(qt, "dist_left_near")] = dist_left <= 2
    f[:, _at(qt, "dist_right_near")] = dist_right <= 2
    f[:, ix["wh_start_span_left"]] = (q.wh_pos < 0.3) & (n_right > n_left)
    f[:, ix["wh_end_span_right"]] = (q.wh_pos > 0.7) & (n_left > n_right)
    # The question's words around its question word, next to / inside the span.
    in_before = np.fromiter((k in q.slot_before for k in mkeys), np.bool_, n)
    in_after = np.fromiter((k in q.slot_after for k in mkeys), np.bool_, n)
    in_head = np.fromiter((k in q.slot_head for k in mkeys), np.bool_, n)
    pad_b = np.concatenate(([False, False], in_before))  # pad_b[k + 2] = in_before[k]
    pad_a = np.concatenate((in_after, [False, False]))
    slot_left = pad_b[i + 1] | pad_b[i]  # token i-1 or i-2
    slot_right = pad_a[j] | pad_a[j + 1]  # token j or j+1
    f[:, ix["slot_left"]] = slot_left
    f[:, ix["slot_right"]] = slot_right
    f[:, _at(qt, "slot_left")] = slot_left
    f[:, _at(qt, "slot_right")] = slot_right
    f[:, ix["slot_head_first"]] = in_head[i]
    f[:, ix["slot_head_in"]] = words_with(in_head) > 0
    f[:, ix["slot_after_last"]] = in_after[j - 1]
    # A span that starts or ends inside a word of several syllables ("kế | hoạch").
    levels = bigram_levels()
    bond = np.zeros(n + 1, dtype=np.int64)  # bond[k]: level of the pair (token k-1, token k)
    for k in range(1, n):
        if word[k - 1] and word[k]:
            bond[k] = levels.get((toks[k - 1].key, toks[k].key), 0)
    left_bond, right_bond = bond[i], bond[j]
    for level in (1, 2):
        f[:, ix[_name("split_left", level)]] = left_bond == level
        f[:, ix[_name("split_right", level)]] = right_bond == level
    f[:, ix["sent_lex"]] = ctx.lex
    f[:, ix["sent_cos"]] = ctx.cos
    f[:, ix[_rank_column(ctx.rank)]] = 1.0
    f[:, ix["passage_rrf"]] = ctx.passage
    # Hashed identities of the word before / first / last / after each span.
    keys = [t.key if t.is_word else t.text for t in toks]
    lex_before = np.asarray([_lex_id(keys[k - 1] if k > 0 else "<s>", 0) for k in range(n)], np.int32)
    lex_first = np.asarray([_lex_id(k, 1) for k in keys], np.int32)
    lex_last = np.asarray([_lex_id(k, 2) for k in keys], np.int32)
    lex_after = np.asarray([_lex_id(keys[k] if k < n else "</s>", 3) for k in range(1, n + 1)], np.int32)
    lex = np.stack([lex_before[i], lex_first[i], lex_last[j - 1], lex_after[j - 1]], axis=1)
    return np.stack([i, j], axis=1), SpanFeatures(f, lex)


def set_sentence_evidence(features: SpanFeatures, *, cos: float, rank: int) -> None:
    """Rewrite, in place, the sentence similarity and rank columns of a sentence's span features
    (computed before the similarity was known): the same rows as with the final context."""
    dense = features.dense
    dense[:, _INDEX["sent_cos"]] = cos
    for name in ("sent_rank0", "sent_rank1", "sent_rank2plus"):
        dense[:, _INDEX[name]] = 0.0
    dense[:, _INDEX[_rank_column(rank)]] = 1.0


def _rank_column(rank: int) -> str:
    """The feature marking a sentence's rank among those read."""
    return "sent_rank0" if rank == 0 else "sent_rank1" if rank == 1 else "sent_rank2plus"


_LEN_COLS = np.asarray([_at("len", b) for b in range(len(_LEN_BUCKETS) + 1)])
_OVERLAP_COLS = np.asarray([_at("overlap", b) for b in range(4)])
_DIST_LEFT_COLS = np.asarray([_at("dist_left", b) for b in range(len(_DIST_BUCKETS) + 1)])
_DIST_RIGHT_COLS = np.asarray([_at("dist_right", b) for b in range(len(_DIST_BUCKETS) + 1)])
