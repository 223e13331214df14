"""Index faults: builds killed with SIGKILL at every stage, damaged files, concurrent builds.

A killed build must leave the previous index live, loadable and answering; the next build must
succeed (the lock of a dead process is no lock); damaged files are refused with a message that
says how to rebuild, and ``ttqa index`` repairs them.  The corpus is a few hundred real
articles; the embedder is the deterministic ``hashing-64`` (plumbing only, so builds are fast).
Complements tests/unit/test_index_build.py (in-process stop/resume, one truncated and one altered
file, the in-process lock).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ttqa import QA, IndexCorruptError, IndexLockedError, IndexNotFoundError
from ttqa.embedding.hashing import HashingEmbedder
from ttqa.index.builder import BuildReport, build_index
from ttqa.index.embcache import EmbeddingCache
from ttqa.index.layout import CURRENT, EMBCACHE, LOCK, current_version_dir, versions
from ttqa.index.manifest import Manifest
from ttqa.ingest.loader import load_documents

ROOT = Path(__file__).resolve().parents[2]
PARTY_ORG = ROOT.parent / "shared" / "data" / "news_vi" / "party_org_606.jsonl"

pytestmark = pytest.mark.skipif(not PARTY_ORG.exists(), reason="shared news data set not available")

N_BASE, N_FULL = 150, 220
EMBEDDER = "hashing-64"


def _lines(n: int) -> list[str]:
    with PARTY_ORG.open(encoding="utf-8") as fh:
        return [next(fh) for _ in range(n)]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """JSONL corpora: the first 140 and 150 articles (two base versions) and the first 220."""
    root = tmp_path_factory.mktemp("corpora")
    lines = _lines(N_FULL)
    out = {}
    for name, n in (("older", N_BASE - 10), ("base", N_BASE), ("full", N_FULL)):
        path = root / f"{name}.jsonl"
        path.write_text("".join(lines[:n]), encoding="utf-8")
        out[name] = path
    return out


@pytest.fixture(scope="module")
def base_index(corpora: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index with two versions (140 then 150 articles): a build after it prunes the older one."""
    index = tmp_path_factory.mktemp("base") / "index"
    QA.build([corpora["older"]], index, embedder=HashingEmbedder(64))
    QA.build([corpora["base"]], index, embedder=HashingEmbedder(64))
    assert versions(index) == ["v000001", "v000002"]
    return index


@pytest.fixture()
def index(base_index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(base_index, copy, symlinks=True)
    return copy


FIRST_TITLE = json.loads(_lines(1)[0])["title"] if PARTY_ORG.exists() else ""
LAST_RECORD = json.loads(_lines(N_FULL)[-1]) if PARTY_ORG.exists() else {}


def assert_answers(index: Path, n_docs: int) -> None:
    """The live version loads (checksums verified) and answers."""
    qa = QA.load(index)
    assert len(qa.store) == n_docs
    hits = qa.search(FIRST_TITLE, k=5, mode="hybrid")
    assert hits and hits[0].doc_id == "baomoi_22446428"
    for hit in hits:
        assert qa.document(hit.doc_id).text[hit.start : hit.end] == hit.text


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "10000", "PYTHONIOENCODING": "utf-8"}


def ttqa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ttqa.interfaces.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(),
        check=False,
    )


def flat(text: str) -> str:
    return " ".join(text.split())


# A build in a child process that kills itself (SIGKILL: no cleanup, no finally) at one stage.
KILL_AT = r"""
import os, signal, sys
from pathlib import Path

point, release = sys.argv[1], Path(sys.argv[2])
def die():
    os.kill(os.getpid(), signal.SIGKILL)

import ttqa.index.builder as builder
import ttqa.index.embcache as embcache
import ttqa.index.layout as layout

if point in ("embedding", "pause"):  # after the first batch of vectors is committed to the cache
    put = embcache.EmbeddingCache.put
    def patched_put(self, hashes, vectors):
        put(self, hashes, vectors)
        if point == "embedding":
            die()
        release.with_suffix(".waiting").touch()
        while not release.exists():  # "pause": hold the build (and its lock) until released
            import time; time.sleep(0.02)
    embcache.EmbeddingCache.put = patched_put
elif point == "writing":  # half of the new version's files written
    import ttqa.index.local.dense as dense
    save = dense.FaissDenseIndex.save
    def patched_save(self, directory):
        save(self, directory)
        die()
    dense.FaissDenseIndex.save = patched_save
elif point == "before-rename":  # everything staged and checksummed, not yet renamed into place
    builder.publish = lambda *a, **k: die()
elif point == "before-current":  # new version dir in place, CURRENT still names the old one
    write = layout.atomic_write_text
    def patched_write(path, text):
        if path.name == "CURRENT":
            die()
        write(path, text)
    layout.atomic_write_text = patched_write
elif point == "current-tmp":  # CURRENT's temporary file written and synced, not yet renamed
    replace = os.replace
    def patched_replace(src, dst, *a, **k):
        if os.fspath(dst).endswith("CURRENT"):
            die()
        return replace(src, dst, *a, **k)
    os.replace = patched_replace
elif point == "pruning":  # CURRENT names the new version; the oldest one is being deleted
    layout.shutil.rmtree = lambda *a, **k: die()

from ttqa.interfaces.cli.main import main
sys.argv = ["ttqa", *sys.argv[3:]]
main()
"""


def start_build(point: str, corpus: Path, index: Path, workdir: Path) -> subprocess.Popen[str]:
    release = workdir / "release"
    command = ["index", "-c", str(corpus), "-i", str(index), "--embedder", EMBEDDER, "--batch-size", "16"]
    return subprocess.Popen(
        [sys.executable, "-c", KILL_AT, point, str(release), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=workdir,
        env=_env(),
    )


def rebuild_after_kill(index: Path, corpus: Path) -> BuildReport:
    """The next build takes the dead process's lock, publishes, and leaves no debris."""
    assert (index / LOCK).exists()  # the killed build's lock file is still there
    report = build_index_from(corpus, index)
    assert report.n_documents == N_FULL and not report.up_to_date
    assert_answers(index, N_FULL)
    leftovers = [p.name for p in index.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no staging dirs, no half-written CURRENT
    assert versions(index)[-1] == current_version_dir(index).name
    return report


def build_index_from(corpus: Path, index: Path) -> BuildReport:
    return build_index(load_documents([corpus]), index, HashingEmbedder(64))


def cached_vectors(index: Path) -> int:
    with EmbeddingCache(index / EMBCACHE, HashingEmbedder(64).fingerprint, 64) as cache:
        return cache.count()


@pytest.mark.parametrize(
    ("point", "new_is_live"),
    [
        ("embedding", False),
        ("writing", False),
        ("before-rename", False),
        ("before-current", False),
        ("current-tmp", False),
        ("pruning", True),
    ],
)
def test_build_killed_at_each_stage(
    point: str, new_is_live: bool, index: Path, corpora: dict[str, Path], tmp_path: Path
) -> None:
    live = current_version_dir(index)
    cached_before = cached_vectors(index)
    proc = start_build(point, corpora["full"], index, tmp_path)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, stderr

    if new_is_live:
        assert current_version_dir(index) != live
        assert_answers(index, N_FULL)
    else:
        assert current_version_dir(index) == live
        assert_answers(index, N_BASE)
    if point == "before-current":
        assert len(versions(index)) == 3  # the orphan version is there, but not live
    if point == "current-tmp":
        assert list(index.glob(f".{CURRENT}.*.tmp"))
    cached_at_kill = cached_vectors(index)
    if point == "embedding":  # killed right after the first batch (4 x --batch-size) was committed
        assert cached_at_kill - cached_before == 64

    if new_is_live:
        assert build_index_from(corpora["full"], index).up_to_date
        return
    report = rebuild_after_kill(index, corpora["full"])
    # Vectors committed before the kill are not computed again.
    assert cached_vectors(index) == cached_at_kill + report.embedded


def _lock_held_by(pid: int, lock: Path) -> bool:
    try:
        inode = lock.stat().st_ino
    except FileNotFoundError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "FLOCK" in fields and str(pid) in fields and any(f.endswith(f":{inode}") for f in fields):
            return True
    return False


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")
@pytest.mark.parametrize(
    "delay", [0.5, pytest.param(0.0, marks=pytest.mark.slow), pytest.param(1.0, marks=pytest.mark.slow)]
)
def test_build_killed_after_varied_delays(
    delay: float, index: Path, corpora: dict[str, Path], tmp_path: Path
) -> None:
    """An outside SIGKILL, some time after the build took its lock: wherever it lands, the index
    that is live afterwards (old or new) loads and answers, and the next build succeeds."""
    proc = start_build("none", corpora["full"], index, tmp_path)
    try:
        while not _lock_held_by(proc.pid, index / LOCK):
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.005)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    n_docs = len(Manifest.load(current_version_dir(index)).documents)
    assert n_docs in (N_BASE, N_FULL)
    assert_answers(index, n_docs)
    if n_docs == N_BASE:
        rebuild_after_kill(index, corpora["full"])
    else:  # killed after it published
        assert build_index_from(corpora["full"], index).up_to_date


@pytest.fixture()
def paused_build(index: Path, corpora: dict[str, Path], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A build held (lock taken, vectors being computed) until ``tmp_path / "release"`` exists."""
    proc = start_build("pause", corpora["full"], index, tmp_path)
    try:
        while not (tmp_path / "release.waiting").exists():
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.01)
        yield proc
    finally:
        (tmp_path / "release").touch()
        if proc.poll() is None:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_two_builds_at_once_are_refused(
    paused_build: subprocess.Popen[str], index: Path, corpora: dict[str, Path], tmp_path: Path
) -> None:
    # A second build of the same directory (another process) is refused, clearly.
    second = ttqa("index", "-c", str(corpora["full"]), "-i", str(index), "--embedder", EMBEDDER, cwd=tmp_path)
    assert second.returncode == 2
    assert "Traceback" not in second.stderr
    message = flat(second.stderr)
    assert f"another build is running on {index}" in message
    assert "wait for it to finish or stop it first" in message
    # So is one in this process, through the library.
    with pytest.raises(IndexLockedError, match="another build is running"):
        QA.build([corpora["full"]], index, embedder=HashingEmbedder(64))
    # Readers are not blocked by a build: the live version still answers.
    assert_answers(index, N_BASE)

    (tmp_path / "release").touch()
    _, stderr = paused_build.communicate(timeout=120)
    assert paused_build.returncode == 0, stderr
    assert_answers(index, N_FULL)


# --------------------------------------------------------------------------- damaged files


def _index_files(index: Path) -> list[Path]:
    version = current_version_dir(index)
    return [version / rel for rel in Manifest.load(version).files]


def test_every_damaged_file_is_refused_with_rebuild_advice(index: Path) -> None:
    files = _index_files(index)
    assert {f.name for f in files} >= {"documents.jsonl", "chunks.json", "dense.faiss"}
    assert any("bm25_folded" in str(f) for f in files)
    for path in files:
        original = path.read_bytes()
        damaged = {
            "truncated": original[: len(original) // 2],
            "emptied": b"",
            "one byte flipped": original[:-1] + bytes([original[-1] ^ 0x01]),
        }
        for how, data in damaged.items():
            path.write_bytes(data)
            with pytest.raises(IndexCorruptError) as info:
                QA.load(index)
            assert "ttqa index" in str(info.value), (path, how)
            assert str(path) in str(info.value)
        path.unlink()
        with pytest.raises(IndexCorruptError, match=r"missing.*ttqa index"):
            QA.load(index)
        path.write_bytes(original)
    assert_answers(index, N_BASE)


def test_damaged_manifest_and_pointer(index: Path) -> None:
    version = current_version_dir(index)
    manifest = version / "manifest.json"
    original = manifest.read_bytes()
    for data in (original[: len(original) // 3], b"\x00\xff garbage", b"{}", b"[]"):
        manifest.write_bytes(data)
        with pytest.raises(IndexCorruptError, match="ttqa index"):
            QA.load(index)
    manifest.unlink()
    with pytest.raises(IndexCorruptError, match=r"missing.*ttqa index"):
        QA.load(index)
    manifest.write_bytes(original)

    pointer = index / CURRENT
    for data in (b"", b"\xff\xfe\x00garbage\n", b"v999999\n", b"../../etc\n"):
        pointer.write_bytes(data)
        with pytest.raises(IndexNotFoundError, match="ttqa index"):
            QA.load(index)
    pointer.unlink()
    with pytest.raises(IndexNotFoundError, match="ttqa index"):
        QA.load(index)
    pointer.write_text(version.name + "\n")
    assert_answers(index, N_BASE)


def test_cli_refuses_a_damaged_index_and_ttqa_index_repairs_it(
    index: Path, corpora: dict[str, Path], tmp_path: Path
) -> None:
    dense = current_version_dir(index) / "dense.faiss"
    dense.write_bytes(dense.read_bytes()[:1000])
    for command in (["search", "tổ chức cán bộ"], ["ask", "Ai chủ trì hội nghị?"]):
        run = ttqa(*command, "--index", str(index), cwd=tmp_path)
        assert run.returncode == 2, command
        assert "Traceback" not in run.stderr
        message = flat(run.stderr)
        assert "does not match its checksum" in message and "ttqa index" in message, message

    # The advice works, even without --rebuild: an unchanged corpus over a damaged live version
    # is not "up to date", a new version is written.
    run = ttqa("index", "-c", str(corpora["base"]), "-i", str(index), "--embedder", EMBEDDER, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "up to date" not in run.stdout
    assert_answers(index, N_BASE)
    run = ttqa("index", "-c", str(corpora["base"]), "-i", str(index), "--embedder", EMBEDDER, cwd=tmp_path)
    assert "up to date" in flat(run.stdout)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad vector"])
def test_damaged_embedding_cache_is_rebuilt(
    damage: str, index: Path, corpora: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    cache = index / EMBCACHE
    for suffix in ("-wal", "-shm"):
        Path(f"{cache}{suffix}").unlink(missing_ok=True)
    if damage == "garbage":
        cache.write_bytes(b"this is not an sqlite database" * 1000)
    elif damage == "truncated":
        data = cache.read_bytes()
        cache.write_bytes(data[: len(data) // 3])
    else:  # a row whose vector has the wrong length
        import sqlite3

        with sqlite3.connect(cache) as db:
            db.execute("UPDATE vectors SET vec = x'00' WHERE hash IN (SELECT hash FROM vectors LIMIT 5)")
    report = build_index_from(corpora["full"], index)
    assert report.n_documents == N_FULL
    if damage == "bad vector":
        assert report.embedded >= 5  # the damaged rows were computed again
    assert_answers(index, N_FULL)
