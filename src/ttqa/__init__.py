"""ttqa: extractive question answering with citations over Vietnamese news.

>>> from ttqa import QA
>>> qa = QA.load("indexes/default")                       # doctest: +SKIP
>>> qa.search("Ai chủ trì hội thảo?", k=3)[0].doc_id         # doctest: +SKIP
"""

from ttqa import (
    _moved,
    offline,  # noqa: F401  (before any model library: keeps every import of ttqa off the network)
)
from ttqa.errors import (
    InvalidModeError,
    InvalidQuestionError,
    TTQABackendError,
    TTQAError,
    TTQAIndexError,
    TTQAInputError,
    TTQAModelError,
)
from ttqa.index.backend import UnknownDocumentError
from ttqa.index.builder import BuildReport
from ttqa.index.layout import IndexLockedError, IndexNotFoundError
from ttqa.index.manifest import IndexCorruptError, IndexMismatchError
from ttqa.ingest.chunking import ChunkingParams
from ttqa.qa import QA
from ttqa.retrieval.retriever import FusionParams, Mode
from ttqa.schema import Answer, Chunk, Citation, Document, Hit
from ttqa.settings import Settings

__version__ = "0.1.0"

_moved.install()

__all__ = [
    "QA",
    "Answer",
    "BuildReport",
    "Chunk",
    "ChunkingParams",
    "Citation",
    "Document",
    "FusionParams",
    "Hit",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "InvalidModeError",
    "InvalidQuestionError",
    "Mode",
    "Settings",
    "TTQABackendError",
    "TTQAError",
    "TTQAIndexError",
    "TTQAInputError",
    "TTQAModelError",
    "UnknownDocumentError",
    "__version__",
]
