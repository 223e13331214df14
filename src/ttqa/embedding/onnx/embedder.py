"""Embedder on ONNX Runtime: the e5 sentence-transformers folder exported to ONNX, optionally int8.

sentence-transformers' own ``backend="onnx"`` needs ``optimum-onnx``, which pins
``transformers<4.58`` and so cannot sit beside sentence-transformers 6; ttqa therefore exports the
same model itself (``torch.onnx``), quantises it with ONNX Runtime's dynamic int8 quantiser and
runs it with the model folder's own tokenizer. The graph ends in the model's pooling (mean over
the attention mask) and L2 normalisation, so it returns exactly what ``SentenceTransformer.encode``
would (fp32 export: cosine ≥ 0.9999 against it; int8: see ``MIN_COSINE``).

Exports are cached next to the converted model (``<cache>/models/<model>-onnx-<variant>``), built
into a temp folder, verified against sentence-transformers and renamed into place, so an
interrupted export never leaves a half-written model behind. Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ttqa.embedding.base import Vectors
from ttqa.embedding.e5 import E5Embedder
from ttqa.embedding.onnx.export_cache import is_valid, publish, staging
from ttqa.embedding.onnx.graph import simplify_file
from ttqa.embedding.onnx.session import cpu_session
from ttqa.embedding.onnx.session import threads as session_threads

if TYPE_CHECKING:
    import onnxruntime

logger = logging.getLogger(__name__)

Variant = Literal["fp32", "int8"]
EXPORT_VERSION = 2
"""Version of the export procedure (the cache folder's name)."""
VECTORS_VERSION = 1
"""Part of the fingerprint: changes only when an export would give other vectors (a rewrite of the
graph that leaves every output bit unchanged changes ``EXPORT_VERSION`` alone)."""
MODEL_FILE = "model.onnx"
META_FILE = "ttqa_onnx.json"
MAX_SEQ_LENGTH = 512
BULK_TEXTS = 64
"""Encoding calls with at least this many texts run on the bulk sessions (see ``_bulk_sessions``)."""
MIN_COSINE: dict[Variant, float] = {"fp32": 0.9999, "int8": 0.95}
"""Least cosine to sentence-transformers on the verification texts for an export to be kept."""
_VERIFY_TEXTS = (
    "query: Ai chủ trì hội nghị?",
    "passage: Sáng 3/1, Ban Thường vụ Tỉnh ủy tổ chức hội nghị triển khai Nghị quyết số 18-NQ/TW "
    "về tiếp tục đổi mới, sắp xếp tổ chức bộ máy của hệ thống chính trị tinh gọn, hoạt động hiệu "
    "lực, hiệu quả.",
    "passage: Nghệ An đã giảm 6.666 biên chế so với năm 2015.",
)
_export_lock = threading.Lock()


def export_dir(model_dir: Path, variant: Variant) -> Path:
    """Where the export of ``model_dir`` lives (a sibling folder in the model cache)."""
    return model_dir.parent / f"{model_dir.name}-onnx-{variant}-v{EXPORT_VERSION}"


def export_fp32(model_dir: Path, out: Path) -> None:
    """``model_dir`` exported by torch into ``out/model.onnx``, pooling and normalisation included
    (the graph as torch writes it; :func:`~ttqa.embedding.onnx.graph.simplify_file` comes after)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Pooled(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    sample = tokenizer(list(_VERIFY_TEXTS[:2]), padding=True, return_tensors="pt")
    with torch.no_grad(), warnings_silenced():
        torch.onnx.export(
            Pooled(bert),
            (sample["input_ids"], sample["attention_mask"]),
            str(out / MODEL_FILE),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )


@contextlib.contextmanager
def warnings_silenced() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings_silenced():
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)


def _copy_tokenizer(model_dir: Path, out: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json"):
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, out / name)


def _reference(model_dir: Path) -> Vectors:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    out = model.encode(list(_VERIFY_TEXTS), normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(out, dtype=np.float32)


def _build(model_dir: Path, target: Path, variant: Variant) -> None:
    with staging(target) as tmp:
        logger.info("exporting %s to ONNX (%s) in %s (one-off)", model_dir.name, variant, target)
        if variant == "fp32":
            export_fp32(model_dir, tmp)
        else:
            fp32 = Path(tempfile.mkdtemp(prefix=".fp32-", dir=tmp))
            export_fp32(model_dir, fp32)
            _quantize(fp32 / MODEL_FILE, tmp / MODEL_FILE)
            shutil.rmtree(fp32)
        simplify_file(tmp / MODEL_FILE)
        _copy_tokenizer(model_dir, tmp)
        got = OnnxRunner(tmp).encode(list(_VERIFY_TEXTS))
        cosines = np.sum(got * _reference(model_dir), axis=1)
        if float(cosines.min()) < MIN_COSINE[variant]:
            raise RuntimeError(
                f"ONNX {variant} export of {model_dir} disagrees with sentence-transformers "
                f"(cosine {float(cosines.min()):.4f} < {MIN_COSINE[variant]})"
            )
        meta = {
            "export_version": EXPORT_VERSION,
            "variant": variant,
            "source": model_dir.name,
            "min_cosine_vs_sentence_transformers": round(float(cosines.min()), 6),
        }
        publish(tmp, target, meta, META_FILE, MODEL_FILE)


def _valid(folder: Path) -> bool:
    return is_valid(folder, META_FILE, MODEL_FILE)


def ensure_onnx_model(model_dir: Path, variant: Variant = "int8") -> Path:
    """The verified ONNX export of ``model_dir`` (built on first use; rebuilt when damaged)."""
    target = export_dir(model_dir, variant)
    with _export_lock:
        if not _valid(target):
            if target.exists():
                logger.warning("ONNX export at %s is damaged; rebuilding", target)
            _build(model_dir, target, variant)
    return target


class OnnxRunner:
    """Tokenizer + ONNX Runtime sessions; texts already carry their e5 prompt."""

    def __init__(self, folder: Path, threads: int = 0) -> None:
        from tokenizers import Tokenizer

        self._model = str(folder / MODEL_FILE)
        self._threads = threads or session_threads()
        self._serving: onnxruntime.InferenceSession = cpu_session(self._model, intra_threads=self._threads)
        """Loaded now (cold start is measured); runs every call of fewer than ``BULK_TEXTS``."""
        self._bulk: queue.SimpleQueue[onnxruntime.InferenceSession] | None = None
        self._bulk_lock = threading.Lock()
        self._n_bulk = 0
        # The model folder's tokenizer.json through `tokenizers` itself: the same ids as
        # transformers' AutoTokenizer (tested), without importing transformers and torch, which
        # would cost seconds of cold start.
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        pad_id = self.tokenizer.token_to_id("<pad>")
        self.tokenizer.enable_padding(pad_id=1 if pad_id is None else pad_id, pad_token="<pad>")
        self._tok_lock = threading.Lock()

    @property
    def bulk_workers(self) -> int:
        """Batches run side by side in bulk calls: one single-threaded session per thread."""
        return self._threads

    @property
    def bulk_sessions(self) -> int:
        """How many bulk sessions are loaded (none before the first bulk call)."""
        return self._n_bulk

    def _bulk_sessions(self) -> queue.SimpleQueue[onnxruntime.InferenceSession]:
        """Sessions of one thread each, created on the first bulk call (index builds).

        Splitting one run over two cores costs more in synchronisation than it gains on a model
        this small: on 2 vCPUs, int8, one text per run, one session on 2 threads embedded 21
        chunks/s, one session on 1 thread 24, and two 1-thread sessions side by side 45-48
        (two threads sharing one session: 31). The serving session keeps all cores for the
        latency of a single question.
        """
        with self._bulk_lock:
            if self._bulk is None:
                sessions: queue.SimpleQueue[onnxruntime.InferenceSession] = queue.SimpleQueue()
                for _ in range(self.bulk_workers):
                    sessions.put(cpu_session(self._model, intra_threads=1))
                self._bulk, self._n_bulk = sessions, self.bulk_workers
            return self._bulk

    def _run(self, session: onnxruntime.InferenceSession, batch: Sequence[str]) -> Vectors:
        with self._tok_lock:
            encodings = self.tokenizer.encode_batch(list(batch))
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        return np.asarray(session.run(None, feeds)[0], dtype=np.float32)

    def _run_bulk(self, batch: Sequence[str]) -> Vectors:
        sessions = self._bulk_sessions()
        session = sessions.get()
        try:
            return self._run(session, batch)
        finally:
            sessions.put(session)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        """Embeddings in input order; batches are formed over length-sorted texts (less padding).

        Calls of ``BULK_TEXTS`` texts or more run their batches side by side on the bulk
        sessions; each batch's vectors are the same wherever it runs.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [[texts[i] for i in order[lo : lo + batch_size]] for lo in range(0, len(order), batch_size)]
        if not batches:
            return np.empty((0, 0), dtype=np.float32)
        if len(texts) >= BULK_TEXTS:
            with ThreadPoolExecutor(self.bulk_workers, thread_name_prefix="ttqa-embed") as pool:
                parts = list(pool.map(self._run_bulk, batches))
        else:
            parts = [self._run(self._serving, b) for b in batches]
        sorted_vecs = np.concatenate(parts)
        out = np.empty_like(sorted_vecs)
        out[np.asarray(order)] = sorted_vecs
        return np.ascontiguousarray(out)


class OnnxEmbedder(E5Embedder):
    """e5 on ONNX Runtime (``variant`` ``int8``: dynamic int8 weights; ``fp32``: exact export).

    ``threads``: per encode, and single-threaded sessions side by side in bulk calls (0: the
    ``threads`` setting).
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        variant: Variant = "int8",
        name: str | None = None,
        threads: int = 0,
    ) -> None:
        super().__init__(model_dir, name=name or f"e5-small-{variant}", threads=threads)
        self._variant: Variant = variant
        self._runner: OnnxRunner | None = None
        self._folder: Path | None = None
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
            self._dim = int(config["hidden_size"])
        return self._dim

    @property
    def folder(self) -> Path:
        """The verified export, checked once per embedder (the check hashes the whole model file)."""
        if self._folder is None:
            self._folder = ensure_onnx_model(self.model_dir, self._variant)
        return self._folder

    def fingerprint_suffix(self) -> str:
        return f":onnx-{self._variant}-v{VECTORS_VERSION}"

    @property
    def runner(self) -> OnnxRunner:
        if self._runner is None:
            with self._lock:
                if self._runner is None:
                    self._runner = OnnxRunner(self.folder, self._threads)
        return self._runner

    def encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        if self._variant == "int8":
            # Dynamic quantisation scales activations per batch, so a text's vector would depend
            # on its neighbours (cosine ~0.99 between batchings). One text per run keeps every
            # vector a function of its text alone, and costs nothing: no padding to compute.
            batch_size = 1
        return self.runner.encode(list(texts), batch_size=batch_size)
