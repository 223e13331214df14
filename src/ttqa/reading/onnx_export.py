"""The reader on ONNX Runtime: exported from torch on first use, int8, cached and verified.

The export goes into a temporary folder beside the cache entry, is quantised, checked against
the torch model on :data:`VERIFY_CASES` and only then renamed into place, so an interrupted
export never leaves a half-written model behind. The cache entry is named after the weights'
checksum: new weights get a new export.

Quantisation: the matrix products get int8 weights (per channel, ONNX Runtime's dynamic
quantiser), except the span head and the products whose inputs int8 would read too coarsely
(:func:`~ttqa.embedding.onnx.quantize.input_steps` on the verification windows: the
feed-forward outputs of the base's layers 0, 4 and 5); the word embeddings are stored in fp16
and cast back after the lookup. Against the fp32 reader, on the seed and domain articles and 300
XQuAD-vi paragraphs (545 questions, gold text given), the all-int8 export kept the same best span
for 71.6 % of questions and this one for 83.5 %, at 8 % more reading time; keeping every
feed-forward output fp32 kept 84.6 % at 31 % more.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import shutil
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ttqa.embedding.onnx.export_cache import is_valid, publish, staging
from ttqa.embedding.onnx.graph import simplify_file
from ttqa.embedding.onnx.quantize import COARSE_STEP, input_steps
from ttqa.embedding.onnx.session import cpu_session
from ttqa.errors import ExportMismatchError
from ttqa.index.layout import atomic_write_text, sha256_file
from ttqa.reading.base import Passage
from ttqa.reading.decode import FloatArray
from ttqa.reading.model import load_model
from ttqa.reading.windows import IntArray, batch_arrays

if TYPE_CHECKING:
    import onnxruntime

    from ttqa.reading.neural import NeuralReader

logger = logging.getLogger(__name__)

Variant = Literal["fp32", "int8"]
EXPORT_VERSION = 3
MODEL_FILE = "reader.onnx"
META_FILE = "ttqa_reader_onnx.json"
MAX_MEAN_GAP: dict[Variant, float] = {"fp32": 0.01, "int8": 0.75}
"""Largest mean absolute difference allowed between torch and ONNX logits over a window's tokens."""
CLEAR_MARGIN = 1.0
"""A verification case must give the torch model's best span when that span beats every other
by this much (a near tie may flip under int8 noise)."""

VERIFY_CASES: tuple[tuple[str, str], ...] = (
    (
        "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?",
        "Sáng ngày 19/11/2020, Huyện ủy Vĩnh Tường tổ chức hội thảo góp ý vào đề án tổ chức bộ máy, công "
        "tác cán bộ của huyện giai đoạn 2020 – 2025. Đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực "
        "Huyện ủy chủ trì hội thảo. Dự hội thảo có lãnh đạo Ban Tổ chức Tỉnh ủy.",
    ),
    (
        "Nghệ An giảm được bao nhiêu biên chế?",
        "Sau 5 năm thực hiện Nghị quyết 39, toàn tỉnh Nghệ An đã giảm được 6.666 biên chế, vượt chỉ tiêu "
        "đề ra. Tỉnh cũng sắp xếp lại 45 đơn vị sự nghiệp công lập.",
    ),
    (
        "Hội nghị được tổ chức ở đâu?",
        "Ngày 3/1/2025, Ban Thường vụ Tỉnh ủy tổ chức hội nghị triển khai Nghị quyết số 18-NQ/TW tại Hội "
        "trường Tỉnh ủy. Hội nghị được kết nối trực tuyến tới 72 điểm cầu.",
    ),
    (
        "Ai là Trưởng Ban Tổ chức Tỉnh ủy?",
        "Phát biểu tại hội nghị, đồng chí Phan Văn Thắng, Ủy viên Ban Thường vụ, Trưởng Ban Tổ chức Tỉnh "
        "ủy nhấn mạnh yêu cầu đổi mới công tác cán bộ.",
    ),
    (
        "Năm 2019 cả nước kết nạp bao nhiêu đảng viên mới?",
        "Năm 2019, toàn Đảng đã kết nạp được 143 ngàn đảng viên mới, đạt 105% kế hoạch đề ra.",
    ),
    (
        "Đại hội Đảng bộ tỉnh diễn ra khi nào?",
        "Đại hội đại biểu Đảng bộ tỉnh lần thứ XVII, nhiệm kỳ 2020 – 2025 diễn ra từ ngày 14 đến ngày "
        "16/10/2020 tại Trung tâm Hội nghị tỉnh.",
    ),
    (
        "Paris nằm ở đâu?",
        "Paris nằm ở điểm gặp nhau của các hành trình thương mại đường bộ và đường sông, và là trung tâm "
        "của một vùng nông nghiệp giàu có.",
    ),
)
_export_lock = threading.Lock()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def export_dir(base_dir: Path, delta: Path, variant: Variant) -> Path:
    """The cache folder of the export of ``delta`` (beside the converted base model)."""
    return base_dir.parent / f"ttqa-reader-{sha256_file(delta)[:16]}-onnx-{variant}-v{EXPORT_VERSION}"


def refusal_path(target: Path) -> Path:
    """Where the check of an export of ``target`` that disagreed with torch is kept, so that it
    is not exported and refused again on each start."""
    return target.with_name(target.name + ".refused.json")


def refuse(target: Path, variant: Variant, check: dict[str, float]) -> ExportMismatchError:
    """Record that the ``variant`` export meant for ``target`` failed ``check`` (atomically);
    the error to raise."""
    atomic_write_text(refusal_path(target), json.dumps(check, indent=2))
    return _mismatch(variant, check)


def _mismatch(variant: Variant, check: dict[str, float], refused: Path | None = None) -> ExportMismatchError:
    known = f" (checked before: {refused})" if refused else ""
    return ExportMismatchError(f"ONNX {variant} export of the reader disagrees with torch: {check}{known}")


class OnnxLogits:
    """The exported reader on ONNX Runtime. Worker threads sleep between runs, so a question's
    reading does not take the CPU from the search that runs beside it."""

    def __init__(self, folder: Path, *, threads: int = 0) -> None:
        self.session: onnxruntime.InferenceSession = cpu_session(folder / MODEL_FILE, intra_threads=threads)

    def logits(self, ids: IntArray, mask: IntArray) -> tuple[FloatArray, FloatArray]:
        s, e = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(s, dtype=np.float32), np.asarray(e, dtype=np.float32)


def _export(model: object, out: Path) -> None:
    import torch

    assert isinstance(model, torch.nn.Module)
    ids = torch.tensor([[0, 100, 200, 2, 2, 300, 400, 500, 2]], dtype=torch.long)
    mask = torch.ones_like(ids)
    with torch.no_grad(), _quiet():
        torch.onnx.export(
            model,
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["start_logits", "end_logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "start_logits": {0: "batch", 1: "tokens"},
                "end_logits": {0: "batch", 1: "tokens"},
            },
            opset_version=17,
            dynamo=False,
        )


def _quantize(src: Path, dst: Path, fp32_products: list[str]) -> None:
    """int8 matrix products but ``fp32_products``, fp16 word embeddings (see the module notes)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=fp32_products,
        )
    graph = onnx.load(str(dst))
    lookup = next(n for n in graph.graph.node if n.op_type == "Gather" and "word_embeddings" in n.name)
    table = next(t for t in graph.graph.initializer if t.name == lookup.input[0])
    half = numpy_helper.from_array(numpy_helper.to_array(table).astype(np.float16), table.name)
    graph.graph.initializer.remove(table)
    graph.graph.initializer.append(half)
    out = lookup.output[0]
    lookup.output[0] = f"{out}_fp16"
    cast = helper.make_node(
        "Cast", [f"{out}_fp16"], [out], to=TensorProto.FLOAT, name=f"{lookup.name}_to_fp32"
    )
    nodes = list(graph.graph.node)
    graph.graph.node.insert(nodes.index(lookup) + 1, cast)
    onnx.save(graph, str(dst))


def _kept_fp32(model: Path, reader: NeuralReader) -> dict[str, float]:
    """The products of the fp32 export ``model`` that stay fp32, with their input's int8 step
    in standard deviations on the verification windows: the coarse ones and the span head."""
    wins = [w for q, t in VERIFY_CASES for w in reader.windows(q, [Passage("verify", t, 0, len(t))])]
    ids, mask = batch_arrays(wins)
    steps = input_steps(model, {"input_ids": ids, "attention_mask": mask}, mask)
    return {name: step for name, step in steps.items() if step >= COARSE_STEP or name.startswith("/qa/")}


def compare(
    reference: NeuralReader, candidate: NeuralReader, cases: tuple[tuple[str, str], ...] = VERIFY_CASES
) -> dict[str, float]:
    """How far ``candidate``'s logits are from ``reference``'s (the largest mean absolute
    difference over a window's tokens), on how many ``cases`` the reference's best span is clear
    (:data:`CLEAR_MARGIN`), and on how many of those both pick it."""
    reference, candidate = _memoised(reference), _memoised(candidate)
    gap, clear, same = 0.0, 0, 0
    for question, text in cases:
        passages = [Passage("verify", text, 0, len(text))]
        wins = reference.windows(question, passages)
        rs, re_ = reference.run(wins)
        cs, ce = candidate.run(wins)
        for k in range(len(wins)):
            lo = wins[k].context_at
            gap = max(
                gap,
                float(np.mean(np.abs(rs[k][lo:] - cs[k][lo:]))),
                float(np.mean(np.abs(re_[k][lo:] - ce[k][lo:]))),
            )
        a = reference.read(question, passages, top=2)
        b = candidate.read(question, passages, top=1).best
        if a.best is None or (len(a.candidates) > 1 and a.candidates[1].score > a.best.score - CLEAR_MARGIN):
            continue
        clear += 1
        same += int(b is not None and (a.best.start, a.best.end) == (b.start, b.end))
    return {"mean_logit_gap": gap, "clear_cases": clear, "same_best_span": same, "cases": len(cases)}


def _memoised(reader: NeuralReader) -> NeuralReader:
    """``reader`` over a :class:`~ttqa.reading.neural.WindowMemo`: :func:`compare` reads the
    windows whose logits it has just compared."""
    from ttqa.reading.neural import WindowMemo

    twin = copy.copy(reader)
    twin.backend = WindowMemo(reader.backend)
    return twin


def _build(base_dir: Path, delta: Path, target: Path, variant: Variant) -> None:
    from tokenizers import Tokenizer

    from ttqa.reading.neural import NeuralReader, TorchLogits

    with staging(target) as tmp:
        logger.info("exporting the reader to ONNX (%s) in %s (one-off)", variant, target)
        model, config = load_model(base_dir, delta)
        tokenizer = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
        torch_reader = NeuralReader(tokenizer, TorchLogits(model), config.shape)
        fp32_products: dict[str, float] = {}
        if variant == "fp32":
            _export(model, tmp / MODEL_FILE)
        else:
            _export(model, tmp / "fp32.onnx")
            fp32_products = _kept_fp32(tmp / "fp32.onnx", torch_reader)
            _quantize(tmp / "fp32.onnx", tmp / MODEL_FILE, sorted(fp32_products))
            (tmp / "fp32.onnx").unlink()
        simplify_file(tmp / MODEL_FILE)
        shutil.copy2(base_dir / "tokenizer.json", tmp / "tokenizer.json")
        onnx_reader = NeuralReader(tokenizer, OnnxLogits(tmp), config.shape)
        check = compare(torch_reader, onnx_reader)
        if (
            check["same_best_span"] < check["clear_cases"]
            or check["clear_cases"] < check["cases"] / 2
            or check["mean_logit_gap"] > MAX_MEAN_GAP[variant]
        ):
            raise refuse(target, variant, check)
        meta = {
            "export_version": EXPORT_VERSION,
            "variant": variant,
            "delta_sha256": sha256_file(delta),
            "config": json.loads(config.to_json()),
            "check_against_torch": check,
            "fp32_products": {name: round(step, 3) for name, step in sorted(fp32_products.items())},
        }
        publish(tmp, target, meta, META_FILE, MODEL_FILE)


def _valid(folder: Path) -> bool:
    return is_valid(folder, META_FILE, MODEL_FILE)


def ensure_reader_onnx(base_dir: Path, delta: Path, variant: Variant = "int8") -> Path:
    """The verified ONNX export of the reader ``delta`` over ``base_dir`` (built on first use,
    rebuilt when damaged). :class:`~ttqa.errors.ExportMismatchError` when it does not read like
    the torch model (:func:`compare`); that verdict is kept (:func:`refusal_path`) and given again
    without a new export."""
    target = export_dir(base_dir, delta, variant)
    with _export_lock:
        if not _valid(target):
            refused = refusal_path(target)
            try:
                check = json.loads(refused.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # none kept, or a damaged record: export and check
                check = None
            if check is not None:
                raise _mismatch(variant, check, refused)
            if target.exists():
                logger.warning("reader ONNX export at %s is damaged; rebuilding", target)
            _build(base_dir, delta, target, variant)
    return target
