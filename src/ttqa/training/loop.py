"""The training loop: shared-normalisation span loss, checkpoints to resume from, progress.

Checkpoints (the trained parameters, the optimiser and the position in the data) are written
atomically to the work directory every ``checkpoint_every`` steps; a run started again with the
same work directory and settings resumes where the last checkpoint left it. The data order is a
function of the seed, so a resumed run sees the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttqa.reading.windows import PAD_ID, WindowShape
from ttqa.training.groups import Group, batches

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass(slots=True)
class TrainSettings:
    epochs: int = 1
    batch_windows: int = 16
    lr: float = 1e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    from_layer: int = 6
    """Encoder layers below this one stay frozen with the word embeddings."""
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 50
    max_steps: int | None = None
    shape: WindowShape = field(default_factory=WindowShape)
    data: str = ""
    """What the training data is (a fingerprint): a checkpoint resumes only the same data."""

    def fingerprint(self) -> str:
        data = asdict(self)
        data.pop("device")
        data.pop("checkpoint_every")
        return json.dumps(data, sort_keys=True)


def freeze(model: torch.nn.Module, from_layer: int) -> list[torch.nn.Parameter]:
    """Freeze everything but the encoder layers from ``from_layer`` and the head; the trained ones."""
    from ttqa.reading.model import trained_names

    names = set(trained_names(model, from_layer))
    out = []
    for name, p in model.named_parameters():
        p.requires_grad_(name in names)
        if name in names:
            out.append(p)
    return out


def tensors(batch: Sequence[Group], device: str) -> dict[str, Any]:
    """Padded ids, mask, gold start/end masks and the group of each row."""
    import torch

    rows = [w for g in batch for w in g.windows]
    width = max(len(w.input_ids) for w in rows)
    ids = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    gold_s = torch.zeros((len(rows), width), dtype=torch.bool)
    gold_e = torch.zeros((len(rows), width), dtype=torch.bool)
    allowed = torch.zeros((len(rows), width), dtype=torch.bool)
    group_rows: list[tuple[int, int, bool, float]] = []
    r = 0
    for g in batch:
        first = r
        for w in g.windows:
            n = len(w.input_ids)
            ids[r, :n] = torch.as_tensor(w.input_ids)
            mask[r, :n] = 1
            allowed[r, 0] = True
            # Context tokens: after the question's "</s></s>", before the final "</s>".
            ctx_at = int((torch.as_tensor(w.input_ids) == 2).nonzero()[1]) + 1
            allowed[r, ctx_at : n - 1] = True
            if g.answerable:
                gold_s[r, list(w.starts)] = True
                gold_e[r, list(w.ends)] = True
            else:
                gold_s[r, 0] = gold_e[r, 0] = True
            r += 1
        group_rows.append((first, r, g.answerable, g.weight))
    return {
        "ids": ids.to(device),
        "mask": mask.to(device),
        "gold_s": gold_s.to(device),
        "gold_e": gold_e.to(device),
        "allowed": allowed.to(device),
        "groups": group_rows,
    }


def shared_norm_loss(start: torch.Tensor, end: torch.Tensor, t: dict[str, Any]) -> torch.Tensor:
    """Mean over groups of -log P(gold start) - log P(gold end), each softmax over all allowed
    positions of all windows of the group."""
    import torch

    neg = torch.finfo(start.dtype).min / 4
    s = start.float().masked_fill(~t["allowed"], neg)
    e = end.float().masked_fill(~t["allowed"], neg)
    losses = []
    weights = []
    for first, last, _, weight in t["groups"]:
        gs, ge = t["gold_s"][first:last], t["gold_e"][first:last]
        ss, ee = s[first:last], e[first:last]
        ls = torch.logsumexp(ss.flatten(), 0) - torch.logsumexp(ss.masked_fill(~gs, neg).flatten(), 0)
        le = torch.logsumexp(ee.flatten(), 0) - torch.logsumexp(ee.masked_fill(~ge, neg).flatten(), 0)
        losses.append((ls + le) / 2)
        weights.append(weight)
    w = torch.tensor(weights, device=start.device)
    return (torch.stack(losses) * w).sum() / w.sum()


def _save(path: Path, state: dict[str, Any]) -> None:
    import torch

    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def train(
    model: torch.nn.Module,
    make_groups: Callable[[int], list[Group]],
    settings: TrainSettings,
    work_dir: Path,
    *,
    progress: bool = True,
    on_checkpoint: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place on the groups ``make_groups(epoch)`` gives for each epoch (all
    drawn before the first step, so that the learning-rate schedule spans them); resumes from
    ``work_dir``'s checkpoint when one was written with the same settings."""
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(settings.seed)
    model.to(settings.device)
    params = freeze(model, settings.from_layer)
    optim = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    plans = [
        list(batches(make_groups(e), settings.batch_windows, random.Random(settings.seed + e)))
        for e in range(settings.epochs)
    ]
    starts = [sum(len(p) for p in plans[:e]) for e in range(len(plans))]
    total = sum(len(p) for p in plans)
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    warm = max(1, int(total * settings.warmup))

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_at)
    step, losses, resumed_from = 0, [], 0
    work_dir.mkdir(parents=True, exist_ok=True)
    ckpt = work_dir / CHECKPOINT
    if ckpt.exists():
        state = torch.load(ckpt, map_location=settings.device, weights_only=False)
        if state.get("settings") == settings.fingerprint():
            named = dict(model.named_parameters())
            with torch.no_grad():
                for name, value in state["params"].items():
                    named[name].copy_(value)
            optim.load_state_dict(state["optim"])
            sched.load_state_dict(state["sched"])
            step, losses = int(state["step"]), list(state["losses"])
            resumed_from = step
            torch.set_rng_state(state["torch_rng"].cpu())  # map_location moved it to the device
            logger.info("resuming from step %d of %d", step, total)
        else:
            logger.warning("checkpoint in %s was written with other settings; starting afresh", work_dir)
    model.train()
    started = time.monotonic()
    bar = tqdm(total=total, initial=step, disable=not progress, unit="step", dynamic_ncols=True)
    while step < total:
        epoch = max(e for e in range(len(plans)) if starts[e] <= step)
        t = tensors(plans[epoch][step - starts[epoch]], settings.device)
        start, end = model(t["ids"], t["mask"])
        loss = shared_norm_loss(start, end, t)
        optim.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        sched.step()
        step += 1
        losses.append(float(loss.detach()))
        recent = losses[-50:]
        bar.set_postfix(loss=f"{sum(recent) / len(recent):.3f}", epoch=epoch + 1)
        bar.update(1)
        if step % settings.checkpoint_every == 0 or step == total:
            trained = {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}
            _save(
                ckpt,
                {
                    "settings": settings.fingerprint(),
                    "params": trained,
                    "optim": optim.state_dict(),
                    "sched": sched.state_dict(),
                    "step": step,
                    "losses": losses,
                    "torch_rng": torch.get_rng_state(),
                },
            )
            if on_checkpoint is not None:
                on_checkpoint(step)
    bar.close()
    model.eval()
    n = max(1, min(50, len(losses) // 4))
    first, last = losses[:n], losses[-n:]
    return {
        "steps": step,
        "resumed_from": resumed_from,
        "seconds_this_run": round(time.monotonic() - started, 1),
        "loss_first": sum(first) / len(first) if first else math.nan,
        "loss_last": sum(last) / len(last) if last else math.nan,
    }
