"""Every setting of ttqa in one typed object, read from ``TTQA_*`` environment variables.

This is the one module that reads the environment. ``QA.load``/``QA.build``, the CLI and both
servers take a :class:`Settings`; code that is given none uses ``Settings()``, i.e. the
environment with the defaults below.

=========================  ======================  ==============================================
variable                   default                 what it sets
=========================  ======================  ==============================================
``TTQA_BACKEND``           ``local``               where the index lives: ``local`` or ``milvus``
``TTQA_CACHE_DIR``         per-user cache dir      the converted model and its ONNX exports
``TTQA_THREADS``           all cores               threads per encode and per reader run
``TTQA_DENSE_EXACT_MAX``   100000                  chunks up to which dense search is exact
``TTQA_API_KEY``           none                    the key ``ttqa api`` requires (unset: none)
``TTQA_MILVUS_URI``        http://127.0.0.1:19530  the Milvus server or cluster
``TTQA_MILVUS_TOKEN``      none                    its token (``user:password`` or an API key)
``TTQA_MILVUS_DB``         default database        its database
``TTQA_MILVUS_COLLECTION`` ``ttqa``                the chunk collection (articles: ``<name>_docs``)
``TTQA_MILVUS_TIMEOUT``    10                      seconds one Milvus call may take
``TTQA_MILVUS_SHARDS``     1                       shards when ttqa creates the collection
=========================  ======================  ==============================================

``TTQA_TORCH_THREADS`` is read as ``TTQA_THREADS`` when that is unset.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ttqa.errors import TTQAInputError
from ttqa.index.backend import UnknownBackendError
from ttqa.index.milvus.settings import DEFAULT_COLLECTION, DEFAULT_URI, MilvusSettings

log = logging.getLogger(__name__)

DEFAULT_DENSE_EXACT_MAX = 100_000
BACKENDS = ("local", "milvus")


def check_backend(name: str) -> str:
    """``name`` as one of :data:`BACKENDS` (case and spaces ignored), or ``UnknownBackendError``."""
    chosen = name.strip().lower()
    if chosen not in BACKENDS:
        raise UnknownBackendError(f"unknown backend {chosen!r}: use one of {', '.join(BACKENDS)}")
    return chosen


class SettingsError(TTQAInputError):
    """A ``TTQA_*`` variable (or a value given in code) is not valid; the message names it."""


class Settings(BaseSettings):
    """ttqa's settings: each field from ``TTQA_<FIELD>`` (see the module table), or given by name."""

    model_config = SettingsConfigDict(env_prefix="TTQA_", extra="ignore", frozen=True, populate_by_name=True)

    backend: str = "local"
    cache_dir: Path | None = None
    threads: int = Field(default=0, ge=0, validation_alias=AliasChoices("TTQA_THREADS", "TTQA_TORCH_THREADS"))
    """0: all cores."""
    dense_exact_max: int = DEFAULT_DENSE_EXACT_MAX
    api_key: str | None = None
    milvus_uri: str = DEFAULT_URI
    milvus_token: str = ""
    milvus_db: str = ""
    milvus_collection: str = DEFAULT_COLLECTION
    milvus_timeout: float = Field(default=10.0, gt=0)
    milvus_shards: int = Field(default=1, ge=1)

    @field_validator("backend", mode="before")
    @classmethod
    def _backend(cls, value: Any) -> Any:
        return check_backend(str(value or "").strip() or "local")

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _cache_dir(cls, value: Any) -> Any:
        if isinstance(value, str):
            return Path(value).expanduser() if value.strip() else None
        return value

    @field_validator("dense_exact_max", mode="before")
    @classmethod
    def _exact_max(cls, value: Any) -> Any:
        try:
            return max(0, int(value))
        except (TypeError, ValueError):
            log.warning("TTQA_DENSE_EXACT_MAX=%r is not an integer; using %d", value, DEFAULT_DENSE_EXACT_MAX)
            return DEFAULT_DENSE_EXACT_MAX

    @field_validator("api_key", mode="before")
    @classmethod
    def _api_key(cls, value: Any) -> Any:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("milvus_uri", "milvus_collection", mode="before")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @property
    def cpu_threads(self) -> int:
        """Threads per encode or reader run: ``threads``, or all cores when it is 0."""
        return self.threads or (os.cpu_count() or 1)

    @property
    def milvus(self) -> MilvusSettings:
        """Where the Milvus backend connects."""
        return MilvusSettings(
            uri=self.milvus_uri or DEFAULT_URI,
            token=self.milvus_token,
            db_name=self.milvus_db,
            collection=self.milvus_collection or DEFAULT_COLLECTION,
            timeout=self.milvus_timeout,
            shards=self.milvus_shards,
        )

    def with_(self, **changes: Any) -> Settings:
        """A copy with the ``changes`` that are not ``None`` (CLI options left unset change nothing)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return load_settings(**{**self.model_dump(), **given}) if given else self


def load_settings(**values: Any) -> Settings:
    """``Settings(**values)`` over the environment, or :class:`SettingsError` naming what is wrong."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        names = [f"TTQA_{str(e['loc'][0]).upper()}" if e["loc"] else "settings" for e in exc.errors()]
        messages = [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()]
        problems = "; ".join(f"{name}: {msg}" for name, msg in zip(names, messages, strict=True))
        raise SettingsError(f"invalid setting: {problems}") from None
