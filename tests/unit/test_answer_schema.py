"""The report answer's JSON schema (constrained decoding) and how the OpenAI backend sends it."""

from __future__ import annotations

from typing import Any

import pytest

from workflowai.analysis.report import Category, ReportDraft
from workflowai.errors import GenerationError
from workflowai.llm.constrained import schema_grammar
from workflowai.llm.openai_backend import OpenAIGenerator
from workflowai.llm.prompts import (
    ANSWER_FIX_CHARS,
    ANSWER_MAX_FIXES,
    ANSWER_ROOT_CAUSE_CHARS,
    ANSWER_SUMMARY_CHARS,
    answer_format,
    answer_schema,
)
from workflowai.settings import GenerationBackend, GenerationSettings, ResponseFormat

KEYS = ["summary", "category", "root_cause", "suggested_fixes", "confidence"]


def _largest(category: Category) -> dict[str, Any]:
    return {
        "summary": "s" * ANSWER_SUMMARY_CHARS,
        "category": category.value,
        "root_cause": "r" * ANSWER_ROOT_CAUSE_CHARS,
        "suggested_fixes": ["f" * ANSWER_FIX_CHARS] * ANSWER_MAX_FIXES,
        "confidence": 1.0,
    }


def test_the_schema_asks_for_every_draft_field_in_the_prompts_order() -> None:
    schema = answer_schema()
    assert list(schema["properties"]) == KEYS
    assert schema["required"] == KEYS
    assert schema["additionalProperties"] is False
    assert set(KEYS) == set(ReportDraft.model_fields)
    assert schema["properties"]["category"]["enum"] == [c.value for c in Category]
    text = answer_format()
    assert [text.index(f'"{k}"') for k in KEYS] == sorted(text.index(f'"{k}"') for k in KEYS)
    assert f"up to {ANSWER_MAX_FIXES} short fixes" in text


@pytest.mark.parametrize("category", list(Category))
def test_any_answer_within_the_schemas_bounds_is_a_valid_draft(category: Category) -> None:
    ReportDraft.model_validate(_largest(category))
    smallest = {"summary": "s", "category": category.value, "root_cause": "r"}
    ReportDraft.model_validate(smallest | {"suggested_fixes": [], "confidence": 0.0})


def test_the_schema_compiles_to_a_grammar_and_a_broken_one_is_an_error() -> None:
    assert schema_grammar(answer_schema())
    broken = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}
    with pytest.raises(GenerationError, match="cannot be compiled"):
        schema_grammar(broken)


def _generator(mode: ResponseFormat) -> OpenAIGenerator:
    settings = GenerationSettings(
        backend=GenerationBackend.OPENAI, base_url="http://127.0.0.1:9/v1", response_format=mode
    )
    return OpenAIGenerator(settings)


def test_auto_tries_the_standard_form_then_llama_cpp_pythons_then_none() -> None:
    schema = answer_schema()
    generator = _generator(ResponseFormat.AUTO)
    assert generator.response_formats(schema) == [
        ResponseFormat.JSON_SCHEMA,
        ResponseFormat.JSON_OBJECT,
        ResponseFormat.NONE,
    ]
    assert generator.response_formats(None) == [ResponseFormat.NONE]
    standard = generator.response_format(schema, ResponseFormat.JSON_SCHEMA)
    assert standard == {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    assert generator.response_format(schema, ResponseFormat.JSON_OBJECT) == {
        "type": "json_object",
        "schema": schema,
    }
    assert generator.response_format(schema, ResponseFormat.NONE) is None
    assert generator.response_format(None, ResponseFormat.JSON_SCHEMA) is None


@pytest.mark.parametrize("mode", [ResponseFormat.JSON_SCHEMA, ResponseFormat.JSON_OBJECT])
def test_a_named_form_is_the_only_one_sent(mode: ResponseFormat) -> None:
    assert _generator(mode).response_formats(answer_schema()) == [mode]
    assert _generator(ResponseFormat.NONE).response_formats(answer_schema()) == [
        ResponseFormat.NONE
    ]
