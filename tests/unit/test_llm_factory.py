"""Choosing a generation backend, and the transformers backend's device/dtype rules.

Nothing here loads a model: construction is cheap by design (loading is tested in
tests/integration/test_transformers_backend.py).
"""

from __future__ import annotations

import pytest
import torch

from workflowai.errors import ConfigError
from workflowai.llm.factory import build_generator
from workflowai.llm.openai_backend import OpenAIGenerator
from workflowai.llm.protocol import Generator
from workflowai.llm.transformers_backend import (
    TransformersGenerator,
    resolve_device,
    resolve_dtype,
    smollm2_gguf_path,
)
from workflowai.settings import GenerationBackend, GenerationSettings


def test_build_generator_none_means_no_model() -> None:
    assert build_generator(GenerationSettings(backend=GenerationBackend.NONE)) is None


@pytest.mark.parametrize(
    ("backend", "extra", "kind"),
    [
        (GenerationBackend.TRANSFORMERS, {}, TransformersGenerator),
        (GenerationBackend.OPENAI, {"base_url": "http://127.0.0.1:1/v1"}, OpenAIGenerator),
        (GenerationBackend.OPENAI, {"api_key": "sk-test"}, OpenAIGenerator),
    ],
)
def test_build_generator_picks_the_backend(
    backend: GenerationBackend, extra: dict[str, str], kind: type
) -> None:
    generator = build_generator(GenerationSettings.model_validate({"backend": backend, **extra}))
    assert isinstance(generator, kind)
    assert isinstance(generator, Generator)


def test_build_generator_openai_without_url_or_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        build_generator(GenerationSettings(backend=GenerationBackend.OPENAI))


@pytest.mark.parametrize(
    ("setting", "device", "amx", "expected"),
    [
        ("auto", "cpu", False, torch.float32),
        ("auto", "cpu", True, torch.bfloat16),  # AMX tiles: bfloat16, as the embedder
        ("auto", "mps", True, torch.float32),
        ("float32", "cpu", True, torch.float32),  # an explicit setting wins
        ("float16", "cpu", False, torch.float16),
        ("bfloat16", "cuda", False, torch.bfloat16),
        ("float32", "cuda:1", False, torch.float32),
    ],
)
def test_resolve_dtype(setting: str, device: str, amx: bool, expected: torch.dtype) -> None:
    assert resolve_dtype(setting, device, has_amx=lambda: amx) == expected


def test_resolve_dtype_rejects_unknown_values_listing_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="auto, float32, float16, bfloat16"):
        resolve_dtype("int4", "cpu")


def test_resolve_device_keeps_an_explicit_device() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_smollm2_gguf_path_finds_the_packaged_file() -> None:
    path = smollm2_gguf_path()
    assert path.suffix == ".gguf"
    assert path.is_file()


@pytest.mark.parametrize(
    ("model", "gguf_file", "expected"),
    [
        ("Qwen/Qwen2.5-7B-Instruct", None, "Qwen/Qwen2.5-7B-Instruct"),
        ("Qwen/Qwen2.5-7B-Instruct-GGUF", "q4.gguf", "Qwen/Qwen2.5-7B-Instruct-GGUF/q4.gguf"),
    ],
)
def test_transformers_model_id(model: str, gguf_file: str | None, expected: str) -> None:
    settings = GenerationSettings(
        backend=GenerationBackend.TRANSFORMERS, model=model, gguf_file=gguf_file, device="cpu"
    )
    assert TransformersGenerator(settings).model_id == expected


def test_transformers_a_gguf_path_as_model_is_split_into_folder_and_file() -> None:
    path = smollm2_gguf_path()
    settings = GenerationSettings(backend=GenerationBackend.TRANSFORMERS, model=str(path))
    assert TransformersGenerator(settings).model_id == path.name
