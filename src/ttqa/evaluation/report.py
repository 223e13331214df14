"""Render evaluation reports as terminal tables and Markdown, and compare two reports."""

from __future__ import annotations

from typing import Any

from ttqa.evaluation.environment import cpu_line

MAIN_METRICS: list[tuple[str, str, str]] = [
    ("retrieval_article", "Hit@1", "art Hit@1"),
    ("retrieval_article", "Hit@5", "art Hit@5"),
    ("retrieval_article", "MRR@10", "art MRR@10"),
    ("retrieval_article", "nDCG@10", "art nDCG@10"),
    ("retrieval_answer", "Hit@1", "ans Hit@1"),
    ("retrieval_answer", "Hit@5", "ans Hit@5"),
    ("retrieval_answer", "Hit@10", "ans Hit@10"),
    ("answers", "EM", "EM"),
    ("answers", "F1", "F1"),
    ("answers", "sentence_hit", "sent hit"),
    ("answers", "citation_precision", "cite prec"),
    ("answers", "answered", "answered"),
    ("answers", "right_when_answered", "right of answered"),
    ("abstention", "precision", "abst P"),
    ("abstention", "recall", "abst R"),
    ("abstention", "AUROC", "AUROC"),
]


def _get(block: dict[str, Any], group: str, key: str) -> float | None:
    value = block.get(group, {}).get(key) if isinstance(block.get(group), dict) else None
    if value is None:
        return None
    return float(value) * (100.0 if key == "AUROC" else 1.0)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def rows_for(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per mode, then one per tag of the first mode."""
    header = ["set / mode", "n", *[m[2] for m in MAIN_METRICS], "search p50/p95 ms", "ask p50/p95 ms"]
    rows: list[list[str]] = []
    name = report["set"]
    for mode, block in report.get("modes", {}).items():
        rows.append(_row(f"{name} [{mode}]", block))
    modes = list(report.get("modes", {}).items())
    if modes:
        mode, block = modes[0]
        for tag, tag_block in block.get("by_tag", {}).items():
            rows.append(_row(f"  tag={tag} [{mode}]", tag_block))
    return header, rows


def _row(label: str, block: dict[str, Any]) -> list[str]:
    lat = block.get("latency_ms", {})

    def pp(d: dict[str, float]) -> str:
        return f"{d['p50']:.0f}/{d['p95']:.0f}" if d else "–"

    return [
        label,
        str(block.get("n", "")),
        *[_fmt(_get(block, g, k)) for g, k, _ in MAIN_METRICS],
        pp(lat.get("search", {})),
        pp(lat.get("ask", {})),
    ]


TAG_METRICS: list[tuple[str, str, str]] = [
    ("retrieval_article", "Hit@1", "art Hit@1"),
    ("retrieval_answer", "Hit@5", "ans Hit@5"),
    ("answers", "EM", "EM"),
    ("answers", "F1", "F1"),
    ("abstention", "recall", "abst R"),
]


def metric_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Terminal layout: one row per metric, one column per mode."""
    modes = list(report.get("modes", {}).items())
    header = ["metric", *[m for m, _ in modes]]
    rows = [[label, *[_fmt(_get(b, g, k)) for _, b in modes]] for g, k, label in MAIN_METRICS]
    for which in ("search", "ask"):
        cells = []
        for _, b in modes:
            d = b.get("latency_ms", {}).get(which, {})
            cells.append(f"{d['p50']:.0f} / {d['p95']:.0f}" if d else "–")
        rows.append([f"{which} p50/p95 ms", *cells])
    return header, [r for r in rows if any(c != "–" for c in r[1:])]


def tag_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Terminal layout of the per-tag breakdown of the first mode."""
    modes = list(report.get("modes", {}).items())
    if not modes:
        return [], []
    mode, block = modes[0]
    header = [f"tag [{mode}]", "n", *[m[2] for m in TAG_METRICS]]
    rows = [
        [tag, str(b.get("n", "")), *[_fmt(_get(b, g, k)) for g, k, _ in TAG_METRICS]]
        for tag, b in block.get("by_tag", {}).items()
    ]
    return header, rows


def tradeoff_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The confidence trade-off of the first mode: one row per threshold."""
    modes = list(report.get("modes", {}).items())
    if not modes or not modes[0][1].get("tradeoff"):
        return [], []
    mode, block = modes[0]
    header = [
        f"threshold [{mode}]",
        "answered",
        "right of answered",
        "EM",
        "F1",
        "unanswerable abstained",
    ]
    rows = []
    for row in block["tradeoff"]:
        label = f"{row['threshold']:.2f}"
        if row["threshold"] == round(block.get("threshold", -1.0), 4):
            label += " (shipped)"
        elif row["threshold"] == 0.0:
            label += " (never abstain)"
        cells = [row[k] for k in ("answered", "right_of_answered", "EM", "F1", "unanswerable_abstained")]
        rows.append([label, *[_fmt(c) for c in cells]])
    return header, rows


ERROR_WORDS = {
    "runs_on": "run on past the answer",
    "stops_short": "stop short of it",
    "overlaps": "overlap it",
    "misses": "miss it",
    "none": "no span",
}
"""How :func:`rc_line` names each kind of :func:`~ttqa.evaluation.metrics.span_error` but ``exact``."""


def rc_line(report: dict[str, Any]) -> str | None:
    rc = report.get("reading_comprehension")
    if not rc or rc.get("EM") is None:
        return None
    line = (
        f"reading comprehension (gold text) on {report['set']}: n={rc['n']}  "
        f"EM {rc['EM']:.1f}  F1 {rc['F1']:.1f}  (p50 {rc['latency_ms'].get('p50', 0):.0f} ms)"
    )
    errors = rc.get("errors") or {}
    wrong = [f"{ERROR_WORDS[k]} {errors[k]:.1f} %" for k in ERROR_WORDS if errors.get(k)]
    return line + ("; spans that are not exact: " + ", ".join(wrong) if wrong else "")


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(r) + " |" for r in rows],
        "",
    ]


def measured_with(report: dict[str, Any]) -> str:
    """ "Measured with <libraries> on <CPU> (<cores> cores; int8 dot product: yes/no)." ("" if unrecorded)."""
    parts = []
    if libraries := report.get("libraries"):
        parts.append("with " + ", ".join(f"{k} {v or '–'}" for k, v in libraries.items()))
    if cpu := report.get("cpu"):
        parts.append("on " + cpu_line(cpu))
    return "Measured " + " ".join(parts) + "." if parts else ""


def to_markdown(reports: list[dict[str, Any]]) -> str:
    lines = ["# ttqa evaluation report", ""]
    for report in reports:
        header, rows = rows_for(report)
        lines += [f"## {report['set']} ({report['questions']} questions, k={report['k']})", ""]
        for line in (measured_with(report), rc_line(report)):
            if line:
                lines += [line, ""]
        lines += _markdown_table(header, rows)
        t_header, t_rows = tradeoff_table(report)
        if t_rows:
            lines += _markdown_table(t_header, t_rows)
    lines += [
        "Retrieval (art = a passage of a gold article, ans = a passage containing a gold answer) in %, "
        "answers EM/F1 on NFC, tone-folded, lower-cased syllables; abstention on unanswerable questions.",
        "",
    ]
    return "\n".join(lines)


def compare(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[list[str]]:
    """Rows of (set/mode, metric, old, new, delta) for every metric present in both."""
    old_by = {(r["set"], m): b for r in old for m, b in r.get("modes", {}).items()}
    out: list[list[str]] = []
    for r in new:
        for mode, block in r.get("modes", {}).items():
            before = old_by.get((r["set"], mode))
            if before is None:
                continue
            for group, key, label in MAIN_METRICS:
                a, b = _get(before, group, key), _get(block, group, key)
                if a is None or b is None:
                    continue
                out.append([f"{r['set']} [{mode}]", label, f"{a:.1f}", f"{b:.1f}", f"{b - a:+.1f}"])
    return out


def _ems(block: dict[str, Any] | None) -> dict[str, float]:
    rows = (block or {}).get("per_question") or []
    return {str(r["id"]): float(r["em"]) for r in rows if isinstance(r, dict) and "id" in r and "em" in r}


def paired(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[list[str]]:
    """Question by question: rows of (set/mode, questions in both, right only in ``new``,
    right only in ``old``, sign test p) for every mode, and the reading-comprehension run, that
    both reports answered question by question. A p of 0.05 or more: the difference in EM may
    be chance (:func:`~ttqa.evaluation.metrics.sign_test`)."""
    from ttqa.evaluation.metrics import sign_test

    def blocks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out = {f"[{mode}]": block for mode, block in report.get("modes", {}).items()}
        if isinstance(report.get("reading_comprehension"), dict):
            out["[gold text]"] = report["reading_comprehension"]
        return out

    old_by = {(r["set"], label): b for r in old for label, b in blocks(r).items()}
    rows: list[list[str]] = []
    for r in new:
        for label, block in blocks(r).items():
            before, after = _ems(old_by.get((r["set"], label))), _ems(block)
            common = before.keys() & after.keys()
            if not common:
                continue
            won = sum(1 for q in common if after[q] > before[q])
            lost = sum(1 for q in common if after[q] < before[q])
            p = sign_test(won, lost)
            rows.append([f"{r['set']} {label}", str(len(common)), str(won), str(lost), f"{p:.2f}"])
    return rows
