"""The scalar span-feature code the vectorised :func:`ttqa.answering.spans.span_candidates`
replaced, kept verbatim as the reference for its parity test (one candidate at a time, in Python)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ttqa.answering.spans import (
    _DATE_WORDS,
    _DIST_BUCKETS,
    _FUNCTION_WORDS,
    _INDEX,
    _LEN_BUCKETS,
    _ORG_HEADS,
    _PLACE_PREP,
    _STRONG_PUNCT,
    _SURNAMES,
    _UNIT_WORDS,
    MAX_SPAN,
    N_FEATURES,
    QuestionView,
    SentenceContext,
    SpanFeatures,
    Token,
    _at,
    _lex_id,
    bigram_levels,
)


def _bucket(value: float, edges: list[int]) -> int:
    for i, edge in enumerate(edges):
        if value <= edge:
            return i
    return len(edges)


def span_candidates_scalar(
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
    mkey = [(t.key if q.accented else t.folded) if t.is_word else "" for t in toks]
    left = any(mkey[k] in q.slot_before for k in range(max(0, i - 2), i))
    right = any(mkey[k] in q.slot_after for k in range(j, min(len(toks), j + 2)))
    if left:
        f[ix["slot_left"]] = f[_at(q.qtype.value, "slot_left")] = 1.0
    if right:
        f[ix["slot_right"]] = f[_at(q.qtype.value, "slot_right")] = 1.0
    f[ix["slot_head_first"]] = 1.0 if mkey[i] in q.slot_head else 0.0
    f[ix["slot_head_in"]] = 1.0 if any(mkey[k] in q.slot_head for k in range(i, j)) else 0.0
    f[ix["slot_after_last"]] = 1.0 if mkey[j - 1] in q.slot_after else 0.0
    levels = bigram_levels()
    if i > 0 and toks[i - 1].is_word:
        level = levels.get((toks[i - 1].key, toks[i].key), 0)
        if level:
            f[ix[f"split_left:{level}"]] = 1.0
    if j < len(toks) and toks[j].is_word:
        level = levels.get((toks[j - 1].key, toks[j].key), 0)
        if level:
            f[ix[f"split_right:{level}"]] = 1.0
    f[ix["sent_lex"]] = ctx.lex
    f[ix["sent_cos"]] = ctx.cos
    f[ix["sent_rank0" if ctx.rank == 0 else "sent_rank1" if ctx.rank == 1 else "sent_rank2plus"]] = 1.0
    f[ix["passage_rrf"]] = ctx.passage
    return f
