"""A linear span ranker: ``score = features @ weights``, trained listwise.

Training (``fit``) minimises the cross-entropy between the softmax over one
question's candidates and a target distribution proportional to each
candidate's token F1 with the gold answer, with Adam and L2. The weights ship
with the package as JSON (``span_ranker.json``), keyed by feature name so a
feature added later simply starts at zero.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ttqa.answering.spans import FEATURE_NAMES, LEX_BUCKETS, LEX_SLOTS, N_FEATURES, SpanFeatures

N_LEX = LEX_BUCKETS * LEX_SLOTS

WEIGHTS_FILE = "span_ranker.json"

FloatArray = npt.NDArray[np.float32]


class SpanRanker:
    def __init__(
        self,
        weights: FloatArray | None = None,
        meta: dict[str, object] | None = None,
        lex_weights: FloatArray | None = None,
    ) -> None:
        self.weights = weights if weights is not None else _prior_weights()
        self.lex_weights = lex_weights if lex_weights is not None else np.zeros(N_LEX, dtype=np.float32)
        self.meta = meta or {}

    def scores(self, features: SpanFeatures) -> FloatArray:
        dense = features.dense @ self.weights
        lex = self.lex_weights[features.lex].sum(axis=1) if len(features) else 0.0
        return np.asarray(dense + lex, dtype=np.float32)

    # ----------------------------------------------------------- persistence
    def to_json(self) -> str:
        return json.dumps(
            {
                "meta": self.meta,
                "weights": {n: round(float(w), 6) for n, w in zip(FEATURE_NAMES, self.weights, strict=True)},
                "lex_buckets": LEX_BUCKETS,
                "lex_weights": [round(float(w), 5) for w in self.lex_weights],
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> SpanRanker:
        data = json.loads(text)
        named: dict[str, float] = data["weights"]
        w = np.array([named.get(n, 0.0) for n in FEATURE_NAMES], dtype=np.float32)
        lex = None
        if data.get("lex_buckets") == LEX_BUCKETS and len(data.get("lex_weights", [])) == N_LEX:
            lex = np.asarray(data["lex_weights"], dtype=np.float32)
        return cls(w, data.get("meta", {}), lex)

    @classmethod
    def bundled(cls) -> SpanRanker:
        """The weights shipped with ttqa (hand-set priors when none were trained)."""
        try:
            text = resources.files("ttqa.answering").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        return cls.from_json(text)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    # -------------------------------------------------------------- training
    @classmethod
    def fit(
        cls,
        groups: Sequence[tuple[SpanFeatures, FloatArray]],
        *,
        epochs: int = 300,
        lr: float = 0.05,
        l2: float = 1e-3,
        lex_l2: float = 1e-2,
        temperature: float = 0.1,
    ) -> SpanRanker:
        """``groups``: per question, (candidate features, candidate F1 in [0, 1])."""
        groups = [(x, y) for x, y in groups if len(x) and float(y.max()) > 0]
        x = np.ascontiguousarray(np.concatenate([g[0].dense for g in groups]), dtype=np.float64)
        xt = np.ascontiguousarray(x.T)  # BLAS needs one dtype and contiguous operands
        lex = np.concatenate([g[0].lex for g in groups])
        sizes = np.array([len(g[0]) for g in groups])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        seg = np.repeat(np.arange(len(groups)), sizes)
        # Target: softmax of F1 / temperature within each question (sharp on the best spans).
        y = np.concatenate([g[1] for g in groups]).astype(np.float64)
        t = np.exp((y - _seg_max(y, offsets)[seg]) / temperature) * (y > 0)
        t /= _seg_sum(t, offsets)[seg]
        # One parameter vector: dense weights, then the lexical table.
        w = np.zeros(N_FEATURES + N_LEX, dtype=np.float64)
        reg = np.concatenate([np.full(N_FEATURES, l2), np.full(N_LEX, lex_l2)])
        m = np.zeros_like(w)
        v = np.zeros_like(w)
        b1, b2, eps = 0.9, 0.999, 1e-8
        n_q = len(groups)
        for step in range(1, epochs + 1):
            wd, wl = w[:N_FEATURES], w[N_FEATURES:]
            z = x @ wd + wl[lex].sum(axis=1)
            z = z - _seg_max(z, offsets)[seg]
            e = np.exp(z)
            p = e / _seg_sum(e, offsets)[seg]
            diff = (p - t) / n_q
            grad = np.concatenate(
                [xt @ diff, np.bincount(lex.ravel(), weights=np.repeat(diff, lex.shape[1]), minlength=N_LEX)]
            )
            grad += reg * w
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad**2
            w -= lr * (m / (1 - b1**step)) / (np.sqrt(v / (1 - b2**step)) + eps)
        meta: dict[str, object] = {"trained_questions": n_q, "epochs": epochs, "l2": l2, "lex_l2": lex_l2}
        return cls(w[:N_FEATURES].astype(np.float32), meta, w[N_FEATURES:].astype(np.float32))


def _seg_sum(values: npt.NDArray[np.float64], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return np.add.reduceat(values, offsets)


def _seg_max(values: npt.NDArray[np.float64], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return np.maximum.reduceat(values, offsets)


def _prior_weights() -> FloatArray:
    """Hand-set weights, used only until a trained ``span_ranker.json`` exists."""
    w = np.zeros(N_FEATURES, dtype=np.float32)
    idx = {n: i for i, n in enumerate(FEATURE_NAMES)}
    prior = {
        "overlap:0": 2.0,
        "overlap:3": -3.0,
        "dist_left:0": 1.0,
        "dist_right:0": 1.0,
        "func_first": -1.5,
        "func_last": -1.5,
        "sent_lex": 3.0,
        "sent_cos": 3.0,
        "ai:upper1": 1.5,
        "bao_nhieu:unit": 2.0,
        "bao_nhieu:digit": 1.5,
        "khi_nao:date": 2.5,
        "o_dau:placeprep": 1.5,
        "o_dau:upper1": 1.0,
        "len:7": -0.5,
        "len:8": -1.0,
    }
    for name, value in prior.items():
        w[idx[name]] = value
    return w
