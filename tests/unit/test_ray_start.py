"""Starting or joining a Ray cluster: a local head that misses Ray's start-up deadline is
started again; a cluster that cannot be reached is a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from ttqa.index.backend import BackendError
from ttqa.index.milvus.build import LOCAL_RAY_TRIES, init_ray


class FlakyRay:
    """Stands in for the ``ray`` module: ``init`` fails ``failures`` times the way Ray 2.60 does
    when the raylet misses its 30 s registration deadline (a bare ``Exception``)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inits: list[dict[str, Any]] = []
        self.shutdowns = 0

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)
        if len(self.inits) <= self.failures:
            raise Exception("The current node timed out during startup.")

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_a_local_head_that_times_out_is_started_again() -> None:
    ray = FlakyRay(failures=LOCAL_RAY_TRIES - 1)
    init_ray(ray, "local", workers=2)
    assert len(ray.inits) == LOCAL_RAY_TRIES
    assert ray.shutdowns == LOCAL_RAY_TRIES - 1
    assert ray.inits[-1]["num_cpus"] == 2


def test_a_local_head_that_never_starts_is_a_backend_error() -> None:
    ray = FlakyRay(failures=LOCAL_RAY_TRIES)
    with pytest.raises(BackendError, match="could not start or join the Ray cluster 'local'"):
        init_ray(ray, "local", workers=None)
    assert len(ray.inits) == LOCAL_RAY_TRIES


def test_a_remote_cluster_is_tried_once() -> None:
    ray = FlakyRay(failures=1)
    with pytest.raises(BackendError, match="ray://head:10001"):
        init_ray(ray, "ray://head:10001", workers=None)
    assert ray.inits == [{"address": "ray://head:10001", "log_to_driver": False}]
