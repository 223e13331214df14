import pytest

from conftest import EVALS
from ttqa.evaluation.datasets import load_any
from ttqa.evaluation.metrics import (
    SPAN_ERRORS,
    auroc,
    contains_answer,
    exact_match,
    sign_test,
    span_error,
    token_f1,
)
from ttqa.evaluation.report import compare, paired, rows_for, to_markdown


def test_exact_match_normalises_case_tone_placement_and_punctuation() -> None:
    assert exact_match("Đàm Hữu Khanh.", ["đàm hữu khanh"]) == 1.0
    assert exact_match("Thanh Hoá", ["Thanh Hóa"]) == 1.0
    assert exact_match("Thanh Hóa", ["Thanh Hoa"]) == 0.0  # a missing tone is a different word
    assert exact_match(None, ["x"]) == 0.0
    assert exact_match("x", []) == 0.0


def test_token_f1() -> None:
    assert token_f1("6.666 biên chế", ["6.666 biên chế"]) == 1.0
    assert token_f1("giảm được 6.666 biên chế", ["6.666 biên chế"]) == pytest.approx(2 * 0.6 * 1 / 1.6)
    assert token_f1("8,1%", ["6.666 biên chế"]) == 0.0
    assert token_f1("a b", ["c", "a b c"]) == pytest.approx(0.8)


def test_span_error_names_how_a_span_misses() -> None:
    golds = ["Đàm Hữu Khanh", "Phó Bí thư Thường trực Huyện ủy"]
    assert span_error("đàm hữu khanh.", golds) == "exact"
    assert span_error("Đồng chí Đàm Hữu Khanh", golds) == "runs_on"
    assert span_error("Hữu Khanh", golds) == "stops_short"
    assert span_error("Bí thư Thường trực", golds) == "stops_short"
    assert span_error("Phó Bí thư Tỉnh ủy", golds) == "overlaps"
    assert span_error("6.666 biên chế", golds) == "misses"
    assert span_error("16.666", ["6.666"]) == "misses"  # whole syllables, not characters
    assert span_error("giảm 6.666", ["6.666 biên chế"]) == "overlaps"
    assert span_error("...", golds) == "misses"
    assert span_error(None, golds) == "none"
    assert set(SPAN_ERRORS) == {"exact", "runs_on", "stops_short", "overlaps", "misses", "none"}


def test_contains_answer_on_token_boundaries() -> None:
    assert contains_answer("toàn tỉnh đã giảm được 6.666 biên chế, đạt gần 8,1%", ["6.666 biên chế"])
    assert not contains_answer("giảm được 16.666 biên chế", ["6.666 biên chế"])


def test_auroc() -> None:
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.1], [0.9]) == 0.0
    assert auroc([0.5], [0.5]) == 0.5
    assert auroc([], [0.1]) is None


def test_eval_sets_load_and_follow_the_format() -> None:
    for name in ("seed.jsonl", "domain.jsonl"):
        rows = load_any(EVALS / name)
        assert len(rows) >= 100
        assert len({r.id for r in rows}) == len(rows)
        unanswerable = [r for r in rows if not r.answerable]
        assert len(unanswerable) >= 10
        assert all(not r.doc_ids for r in unanswerable)
        assert all(r.doc_ids for r in rows if r.answerable)


def test_report_rendering_and_compare() -> None:
    block = {
        "n": 2,
        "retrieval_article": {"Hit@1": 50.0, "Hit@5": 100.0},
        "answers": {"EM": 50.0, "F1": 75.0},
        "latency_ms": {"search": {"p50": 10.0, "p95": 20.0}, "ask": {}},
        "by_tag": {"ai": {"n": 1, "answers": {"EM": 100.0}}},
    }
    report = {"set": "s.jsonl", "questions": 2, "k": 10, "modes": {"hybrid": block}}
    _, rows = rows_for(report)
    assert rows[0][0] == "s.jsonl [hybrid]" and rows[1][0].strip().startswith("tag=ai")
    assert "| s.jsonl [hybrid] | 2 | 50.0 | 100.0 |" in to_markdown([report])
    better = {
        "set": "s.jsonl",
        "questions": 2,
        "k": 10,
        "modes": {"hybrid": {**block, "answers": {"EM": 60.0, "F1": 70.0}}},
    }
    deltas = {row[1]: row[4] for row in compare([report], [better])}
    assert deltas["EM"] == "+10.0" and deltas["F1"] == "-5.0"


def test_sign_test_is_the_exact_binomial_test() -> None:
    from scipy.stats import binomtest

    for wins, losses in [(1, 7), (16, 9), (13, 8), (0, 5), (30, 12), (4, 4)]:
        expected = binomtest(wins, wins + losses, 0.5).pvalue
        assert sign_test(wins, losses) == pytest.approx(expected, rel=1e-9)
        assert sign_test(losses, wins) == sign_test(wins, losses)
    assert sign_test(10, 0) == pytest.approx(2 / 1024)
    assert sign_test(0, 0) == 1.0
    with pytest.raises(ValueError):
        sign_test(-1, 3)


def test_paired_comparison_counts_questions_each_run_alone_gets_right() -> None:
    def report(ems: list[float], rc: list[float]) -> dict[str, object]:
        rows = [{"id": f"q{i}", "em": em} for i, em in enumerate(ems)]
        rc_rows = [{"id": f"q{i}", "em": em, "error": "exact"} for i, em in enumerate(rc)]
        return {
            "set": "s.jsonl",
            "modes": {"hybrid": {"per_question": rows}, "bm25": {"answers": {"EM": 1.0}}},
            "reading_comprehension": {"per_question": rc_rows},
        }

    old = report([1, 0, 0, 0, 0, 0, 0, 0, 1, 1], [1, 1, 0])
    new = report([0, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 0])
    rows = {row[0]: row[1:] for row in paired([old], [new])}
    assert rows["s.jsonl [hybrid]"] == ["10", "7", "1", "0.07"]
    assert rows["s.jsonl [gold text]"] == ["3", "0", "0", "1.00"]
    assert "s.jsonl [bm25]" not in rows  # no per-question rows: nothing to pair
    other_set = {**new, "set": "t.jsonl"}
    assert paired([old], [other_set]) == []


def test_reports_name_the_library_versions_they_were_measured_with() -> None:
    import onnxruntime

    from ttqa.evaluation.environment import library_versions

    versions = library_versions()
    assert versions["onnxruntime"] == onnxruntime.__version__ and versions["python"]
    report = {"set": "s.jsonl", "questions": 0, "k": 10, "modes": {}, "libraries": versions}
    assert f"onnxruntime {onnxruntime.__version__}," in to_markdown([report])
    missing = {**report, "libraries": {"python": "3.11.7", "bm25s": None}}
    assert "Measured with python 3.11.7, bm25s –." in to_markdown([missing])


def test_reports_name_the_cpu_and_whether_it_has_int8_dot_products() -> None:
    from ttqa.evaluation.environment import cpu_description

    epyc = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\n"
    xeon = "model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: avx2 avx512f avx512_vnni amx_int8\n"
    graviton = "processor\t: 0\nFeatures\t: fp asimd asimddp i8mm\n"
    assert cpu_description(epyc) | {"cores": 2} == {
        "model": "AMD EPYC",
        "cores": 2,
        "int8_features": ["avx2"],
        "int8_dot_product": False,
    }
    assert cpu_description(xeon)["int8_features"] == ["avx2", "avx512f", "avx512_vnni", "amx_int8"]
    assert cpu_description(xeon)["int8_dot_product"] and cpu_description(graviton)["int8_dot_product"]
    assert cpu_description("")["int8_features"] == []
    here = cpu_description()
    assert here["cores"] and isinstance(here["int8_dot_product"], bool)
    report = {"set": "s.jsonl", "questions": 0, "k": 10, "modes": {}, "cpu": cpu_description(epyc)}
    assert "Measured on AMD EPYC (" in to_markdown(
        [report]
    ) and "int8 dot product: no; avx2)." in to_markdown([report])
