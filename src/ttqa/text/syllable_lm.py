"""A syllable bigram model of Vietnamese text: how often each accented syllable, and each pair
of neighbouring syllables, occurs. It puts the diacritics back on unaccented questions
(:mod:`ttqa.retrieval.diacritics`).

Text is counted in stretches between punctuation marks (a comma ends one), lower-cased, every
number counted as :data:`NUMBER`, each stretch opened by :data:`START`, so that "…, ai là" is
scored as a question's opening and not as the pair "nhân ái". The bundled model
(``syllables.npz``, built by ``python -m ttqa.training.accents``) is checked against the SHA-256
in its metadata, ``syllables.json``, when loaded.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ttqa.errors import TTQAModelError
from ttqa.text.normalize import TOKEN_RE, fold_accents, nfc

START = "<s>"
"""The token each stretch of text opens with."""
NUMBER = "<num>"
"""The token every number stands for ("sáng 19/5" and "sáng 8/2" are one pair)."""
BREAK_RE = re.compile(r"[.,;:!?()\[\]\"“”'‘’…–—\n]|\s-\s")
"""What ends a stretch of text: punctuation, a line break, a dash between spaces."""
MODEL_FILE = "syllables.npz"
_SHIFT = 32


class SyllableModelError(TTQAModelError):
    """The bundled syllable model is missing or is not the file its checksum names."""


def token(word: str) -> str:
    """What the model counts for ``word``: its lower case, or :data:`NUMBER` for a number."""
    return NUMBER if word[:1].isdigit() else word.lower()


def stretches(text: str) -> Iterator[list[str]]:
    """The tokens (:func:`token`) of each stretch of ``text`` between punctuation."""
    for part in BREAK_RE.split(nfc(text)):
        words = [token(w) for w in TOKEN_RE.findall(part)]
        if words:
            yield words


def count(texts: Iterable[str]) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Syllable counts and neighbouring-pair counts (``START`` opens each stretch) of ``texts``."""
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for words in stretches(text):
            unigrams.update(words)
            bigrams.update(zip([START, *words], words, strict=False))
    return unigrams, bigrams


@dataclass(frozen=True)
class SyllableLM:
    """Counts of syllables and of syllable pairs; ``vocab[0]`` is :data:`START`."""

    vocab: tuple[str, ...]
    unigram_counts: npt.NDArray[np.int64]
    pair_keys: npt.NDArray[np.int64]
    """``first << 32 | second`` (vocabulary ids), sorted."""
    pair_counts: npt.NDArray[np.int64]
    meta: dict[str, object] = field(default_factory=dict)
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)
    _pairs: dict[int, int] = field(init=False, repr=False, compare=False)
    _left: npt.NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _forms: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = {w: i for i, w in enumerate(self.vocab)}
        left = np.zeros(len(self.vocab), np.int64)
        np.add.at(left, self.pair_keys >> _SHIFT, self.pair_counts)
        by_key: dict[str, list[tuple[int, str]]] = {}
        for w, c in zip(self.vocab[1:], self.unigram_counts[1:].tolist(), strict=True):
            by_key.setdefault(fold_accents(w), []).append((-c, w))
        object.__setattr__(self, "_ids", ids)
        object.__setattr__(
            self, "_pairs", dict(zip(self.pair_keys.tolist(), self.pair_counts.tolist(), strict=True))
        )
        object.__setattr__(self, "_left", left)
        object.__setattr__(self, "_forms", {k: tuple(w for _, w in sorted(v)) for k, v in by_key.items()})

    @classmethod
    def from_counts(
        cls,
        unigrams: Counter[str],
        bigrams: Counter[tuple[str, str]],
        *,
        min_count: int = 1,
        meta: dict[str, object] | None = None,
    ) -> SyllableLM:
        """The model of the syllables and pairs seen at least ``min_count`` times."""
        vocab = [START, *sorted(w for w, c in unigrams.items() if c >= min_count and w != START)]
        ids = {w: i for i, w in enumerate(vocab)}
        pairs = sorted(
            ((ids[a] << _SHIFT) | ids[b], c)
            for (a, b), c in bigrams.items()
            if c >= min_count and a in ids and b in ids
        )
        return cls(
            tuple(vocab),
            np.asarray([0, *(unigrams[w] for w in vocab[1:])], np.int64),
            np.asarray([k for k, _ in pairs], np.int64),
            np.asarray([c for _, c in pairs], np.int64),
            dict(meta or {}),
        )

    @property
    def total(self) -> int:
        return int(self.unigram_counts.sum())

    def forms(self, folded: str) -> tuple[str, ...]:
        """The syllables whose accent-folded form is ``folded``, most frequent first."""
        return self._forms.get(folded, ())

    def unigram(self, word: str) -> int:
        i = self._ids.get(word)
        return 0 if i is None else int(self.unigram_counts[i])

    def pair(self, first: str, second: str) -> int:
        a, b = self._ids.get(first), self._ids.get(second)
        return 0 if a is None or b is None else self._pairs.get((a << _SHIFT) | b, 0)

    def followers(self, first: str) -> int:
        """How many pairs open with ``first``."""
        i = self._ids.get(first)
        return 0 if i is None else int(self._left[i])

    def to_bytes(self) -> bytes:
        """An ``.npz`` archive of the counts, byte for byte the same for the same counts."""
        arrays = {
            "vocab": np.frombuffer("\n".join(self.vocab).encode("utf-8"), np.uint8),
            "unigram_counts": self.unigram_counts,
            "pair_keys": self.pair_keys,
            "pair_counts": self.pair_counts,
        }
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w") as fh:
                    np.lib.format.write_array(fh, np.ascontiguousarray(array), allow_pickle=False)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, meta: dict[str, object] | None = None) -> SyllableLM:
        with np.load(io.BytesIO(data)) as z:
            vocab = tuple(z["vocab"].tobytes().decode("utf-8").split("\n"))
            return cls(
                vocab,
                z["unigram_counts"].astype(np.int64),
                z["pair_keys"],
                z["pair_counts"],
                dict(meta or {}),
            )


def checksum(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def meta_path(path: Path) -> Path:
    """The metadata file of the model in ``path`` (its SHA-256 and provenance)."""
    return path.with_suffix(".json")


def load(path: Path) -> SyllableLM:
    """The model in ``path``, checked against the SHA-256 in its metadata (:func:`meta_path`)."""
    try:
        data = path.read_bytes()
        meta = json.loads(meta_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SyllableModelError(f"syllable model missing: {exc.filename}") from exc
    if checksum(data) != meta.get("sha256"):
        raise SyllableModelError(
            f"{path.name} does not match the SHA-256 in {meta_path(path).name}: "
            "rebuild it with python -m ttqa.training.accents"
        )
    return SyllableLM.from_bytes(data, meta)


@cache
def bundled() -> SyllableLM:
    """The syllable model shipped with ttqa (loaded once, checked against its checksum)."""
    return load(bundled_path())


def bundled_path() -> Path:
    """Where ``python -m ttqa.training.accents`` writes the bundled model."""
    return Path(__file__).resolve().parent / MODEL_FILE


__all__ = [
    "BREAK_RE",
    "MODEL_FILE",
    "NUMBER",
    "START",
    "SyllableLM",
    "SyllableModelError",
    "bundled",
    "bundled_path",
    "checksum",
    "count",
    "load",
    "meta_path",
    "stretches",
    "token",
]
