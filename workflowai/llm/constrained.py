"""Constrained decoding for the transformers backend: answers that must match a JSON schema.

llguidance (the grammar engine vLLM, SGLang and llama.cpp use) compiles the schema into a
grammar and computes, before each generated token, which tokens keep the answer on it;
`JsonSchemaLogits` masks the others out of the model's scores. Once the object is closed only
the end-of-turn token is left, so generation stops there instead of running to max_tokens, and
the answer is one JSON object of the schema's shape (it is still parsed and reviewed like any
answer: the grammar constrains the form, not what the model says).

The JSON is compact (no free whitespace between tokens): left free, a small model spends its
budget on newlines and indentation.
"""

from __future__ import annotations

import json
from typing import Any

import llguidance
import llguidance.hf
import numpy as np
import torch
from transformers import LogitsProcessor, PreTrainedTokenizerBase

from workflowai.errors import GenerationError

COMPILE_OPTIONS: dict[str, Any] = {
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
}


def schema_tokenizer(tokenizer: PreTrainedTokenizerBase) -> llguidance.LLTokenizer:
    """llguidance's view of a fast Hugging Face tokenizer (~1 s to build: cache it per model).

    Raises GenerationError for a slow (Python) tokenizer, which llguidance cannot read.
    """
    try:
        return llguidance.hf.from_tokenizer(tokenizer)  # type: ignore[arg-type]
    except ValueError as exc:
        raise GenerationError(f"cannot constrain this model's answers: {exc}") from exc


def schema_grammar(schema: dict[str, Any]) -> str:
    """The grammar for `schema`; raises GenerationError when llguidance rejects the schema."""
    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        json.dumps(schema),
        overrides=COMPILE_OPTIONS,  # type: ignore[arg-type]
    )
    error = llguidance.LLMatcher.validate_grammar(grammar)
    if error:
        raise GenerationError(f"the answer's JSON schema cannot be compiled: {error}")
    return grammar


class JsonSchemaLogits(LogitsProcessor):
    """Masks every token that would take the answer off `schema` (one sequence at a time).

    `prompt_len` tells the processor where the answer starts: each call after the first
    consumes the token generated since the last call. A matcher that errs (a token it did not
    allow, which greedy or sampled decoding over masked scores cannot produce) stops masking;
    the answer's parse then says what is wrong with it.
    """

    def __init__(
        self, tokenizer: llguidance.LLTokenizer, schema: dict[str, Any], prompt_len: int
    ) -> None:
        self._matcher = llguidance.LLMatcher(tokenizer, schema_grammar(schema), log_level=0)
        if self._matcher.is_error():
            raise GenerationError(f"cannot constrain the answer: {self._matcher.get_error()}")
        self._prompt_len = prompt_len
        self._vocab = tokenizer.vocab_size

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[0] != 1:
            raise GenerationError("constrained decoding takes one sequence at a time")
        if input_ids.shape[1] > self._prompt_len:
            self._matcher.consume_token(int(input_ids[0, -1]))
        if self._matcher.is_error():
            return scores
        bits = np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8)
        allowed = np.unpackbits(bits, bitorder="little")[: self._vocab].astype(bool)
        forbidden = torch.ones(scores.shape[-1], dtype=torch.bool)
        forbidden[: allowed.size] = torch.from_numpy(~allowed)
        return scores.masked_fill(forbidden.to(scores.device), float("-inf"))  # type: ignore[return-value]
