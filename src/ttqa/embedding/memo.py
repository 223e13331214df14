"""A small thread-safe LRU memo of single-question vectors, shared by the model-backed embedders.

Retrieval and reading embed the same question; the memo makes the second call free. Encoding
happens outside the lock, so concurrent requests never wait on each other's model runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from ttqa.embedding.base import Vectors


class QueryMemo:
    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, compute: Callable[[str], Vectors]) -> Vectors:
        """The memoised vector of ``text``, computing (and remembering) it on a miss."""
        with self._lock:
            hit = self._items.get(text)
            if hit is not None:
                self._items.move_to_end(text)
                return hit
        vec = compute(text)
        with self._lock:
            self._items[text] = vec
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return vec

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
