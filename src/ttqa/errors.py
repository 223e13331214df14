"""The errors ttqa raises: one root, :class:`TTQAError`, with a branch per kind of failure.

* :class:`TTQAInputError` (also a ``ValueError``): bad input from the caller, the message says what
  is wrong (an empty question, an unknown mode or backend, a bad filter, an empty corpus, a setting);
* :class:`TTQAIndexError`: the index is missing, locked by a build, corrupt, or built with another
  model or chunking; the message says how to rebuild;
* :class:`TTQAModelError`: the model weights are unavailable or do not load;
* :class:`TTQABackendError`: the search backend (Milvus, Ray) is unreachable or failed.

Every concrete error keeps the built-in base it had (``IndexNotFoundError`` is also a
``FileNotFoundError``, ``UnknownDocumentError`` a ``KeyError``), so existing ``except`` clauses hold.
"""

from __future__ import annotations


class TTQAError(Exception):
    """Anything ttqa raises on purpose."""


class TTQAInputError(TTQAError, ValueError):
    """Invalid input to the library; the message says what is wrong."""


class TTQAIndexError(TTQAError):
    """The index cannot be used as it is (missing, locked, corrupt or incompatible)."""


class TTQAModelError(TTQAError, RuntimeError):
    """A model (the embedder, the reader, the syllable model) is unavailable or does not load."""


class ExportMismatchError(TTQAModelError):
    """An ONNX export of a model does not read like the torch model it was exported from."""


class TTQABackendError(TTQAError, RuntimeError):
    """The search backend or the cluster behind it failed or cannot be reached."""


class InvalidQuestionError(TTQAInputError):
    """The question is empty, too long or otherwise unusable."""


class InvalidModeError(TTQAInputError):
    """Unknown retrieval mode."""


class InvalidKError(TTQAInputError):
    """``k`` (number of passages) is not a whole number >= 1."""
