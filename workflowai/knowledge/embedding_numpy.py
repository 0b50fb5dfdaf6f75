"""A BERT sentence encoder in numpy: the same weights and tokenizer as sentence-transformers,
without importing torch.

Importing torch and sentence-transformers costs seconds; embedding one query costs
milliseconds. A CLI analysis embeds one query, so it runs this encoder instead: the model
folder's own `tokenizer.json` (Hugging Face `tokenizers`, Rust) and `model.safetensors`
mapped into memory (only the pages a query touches are read). Supported: a BERT encoder
(`config.json` model_type "bert", absolute positions, GELU) with mean or CLS pooling and the
Normalize module: all-MiniLM-L6-v2 (mean) and bge-small-en-v1.5 (CLS) are.
`NumpyBertEncoder.supports(folder)` says whether a folder qualifies; the results match
sentence-transformers to float32 rounding (tests/unit/test_embedding_numpy.py compares them
on the real models).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from workflowai.errors import EmbeddingError

_IDS_MEMO = 8192  # texts whose ids are kept: a few index batches of chunks, ~7 MB at most
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]
# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below float32 resolution at these magnitudes
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _map_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file as read-only views of one memory map.

    The format: 8 bytes little-endian header length, a JSON header naming each tensor's
    dtype, shape and byte range, then the data.
    """
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    start = 8 + length
    tensors: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(spec["dtype"])
        if dtype is None:
            raise EmbeddingError(f"{path}: tensor {name} has unsupported dtype {spec['dtype']}")
        begin, end = spec["data_offsets"]
        tensors[name] = raw[start + begin : start + end].view(dtype).reshape(spec["shape"])
    return tensors


def _erf(x: np.ndarray) -> np.ndarray:
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * x)
    a1, a2, a3, a4, a5 = _ERF_A
    poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)
    return centered / np.sqrt(var + eps) * weight + bias


def _pooling(folder: Path) -> str | None:
    """ "mean" or "cls" when the folder's Pooling module uses exactly that one mode."""
    try:
        config = _read_json(folder / "1_Pooling" / "config.json")
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    modes = {key for key, on in config.items() if key.startswith("pooling_mode_") and on is True}
    return {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}.get(
        modes.pop() if len(modes) == 1 else ""
    )


class NumpyBertEncoder:
    """Mean- or CLS-pooled, L2-normalized BERT sentence embeddings computed with numpy."""

    def __init__(self, folder: Path) -> None:
        """Raises EmbeddingError when the folder is not a supported model."""
        if not self.supports(folder):
            raise EmbeddingError(f"{folder} is not a BERT sentence model (mean or CLS pooling)")
        from tokenizers import Tokenizer

        config = _read_json(folder / "config.json")
        self.max_seq_length = int(
            _read_json(folder / "sentence_bert_config.json").get("max_seq_length", 512)
        )
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self._weights = _map_safetensors(folder / "model.safetensors")
        self.dim = int(config["hidden_size"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        # text -> its ids with special tokens, int32 (~0.8 KB for a 200-token chunk)
        self._model_ids: Callable[[str], np.ndarray] = lru_cache(maxsize=_IDS_MEMO)(
            self._encode_with_specials
        )
        self._blas: Any = None
        self._cls = _pooling(folder) == "cls"
        self._prefix = "bert." if "bert.embeddings.word_embeddings.weight" in self._weights else ""

    @staticmethod
    def supports(folder: Path) -> bool:
        """A sentence-transformers folder with a BERT encoder, mean or CLS pooling and
        Normalize."""
        try:
            modules = [m["type"] for m in _read_json(folder / "modules.json")]
            config = _read_json(folder / "config.json")
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return (
            modules == _MODULES
            and _pooling(folder) is not None
            and config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and (folder / "model.safetensors").is_file()
            and (folder / "tokenizer.json").is_file()
            and (folder / "sentence_bert_config.json").is_file()
        )

    def _w(self, name: str) -> np.ndarray:
        return self._weights[self._prefix + name]

    def count_tokens(self, text: str, *, special_tokens: bool = True) -> int:
        if special_tokens:
            return len(self._model_ids(text))
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def _encode_with_specials(self, text: str) -> np.ndarray:
        return np.asarray(self.tokenizer.encode(text, add_special_tokens=True).ids, np.int32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text (float32, shape [len(texts), dim]); texts past
        `max_seq_length` tokens are cut there, as sentence-transformers does."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if self._blas is None:
            from threadpoolctl import ThreadpoolController

            self._blas = ThreadpoolController()
        # one thread: a query's matrices are tiny, and BLAS threads spinning against each
        # other (or other processes) made an 82-token query 5-10x slower on 2 busy cores
        with self._blas.limit(limits=1, user_api="blas"):
            for i, ids in enumerate(self.token_ids(texts)):
                out[i] = self._encode_ids(ids.astype(np.int64))
        return out

    def token_ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The ids the model sees for each text: special tokens added, cut at
        `max_seq_length` with [SEP] kept last (HF's truncation).

        Memoized per text: the chunker counts every chunk it cuts, so the indexer's embed
        call finds the chunk's ids already made (~0.3 s per 1,400 chunks on 2 cores)."""
        limit = self.max_seq_length
        return [
            ids if len(ids) <= limit else np.append(ids[: limit - 1], ids[-1])
            for ids in map(self._model_ids, texts)
        ]

    def _encode_ids(self, ids: np.ndarray) -> np.ndarray:
        n = ids.shape[0]
        x = (
            self._w("embeddings.word_embeddings.weight")[ids]
            + self._w("embeddings.position_embeddings.weight")[:n]
            + self._w("embeddings.token_type_embeddings.weight")[0]
        )
        x = _layer_norm(
            x,
            self._w("embeddings.LayerNorm.weight"),
            self._w("embeddings.LayerNorm.bias"),
            self._eps,
        )
        for layer in range(self._layers):
            x = self._layer(x, f"encoder.layer.{layer}.")
        pooled = x[0] if self._cls else x.mean(axis=0)  # [CLS] is the first token
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self._w(f"{name}.weight").T + self._w(f"{name}.bias")

    def _layer(self, x: np.ndarray, p: str) -> np.ndarray:
        n, heads = x.shape[0], self._heads
        size = self.dim // heads

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(n, heads, size).transpose(1, 0, 2)

        q = split(self._dense(x, p + "attention.self.query"))
        k = split(self._dense(x, p + "attention.self.key"))
        v = split(self._dense(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(size))
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, self.dim)
        x = _layer_norm(
            x + self._dense(context, p + "attention.output.dense"),
            self._w(p + "attention.output.LayerNorm.weight"),
            self._w(p + "attention.output.LayerNorm.bias"),
            self._eps,
        )
        hidden = _gelu(self._dense(x, p + "intermediate.dense"))
        return _layer_norm(
            x + self._dense(hidden, p + "output.dense"),
            self._w(p + "output.LayerNorm.weight"),
            self._w(p + "output.LayerNorm.bias"),
            self._eps,
        )
