"""Index throughput: end-to-end tokens/s of the `index` flow on Elasticsearch, against raw
`SentenceTransformer.encode` on the same texts and LangChain's ElasticsearchStore on the same
node and model; plus the unchanged re-index time and peak RSS at two corpus sizes.

Each measurement runs in its own child process (so peak RSS is its own and model loading is
outside the timings): SciFact abstracts (title + text) are written as one JSONL source, then
- encode:    SentenceTransformer.encode on exactly the chunk texts the pipeline embeds, in
             float32 (sentence-transformers' default) and, where the product's `auto` dtype
             picks another (bfloat16 on an AMX CPU), in that one too: "x encode" compares
             each row with raw encode in the row's own dtype;
- flow:      `flows/index.py:index_flow` (chunk, embed, bulk-index through Prefect tasks) as
             `workflowai index` runs it (the kept local Prefect server) into a fresh alias,
             then again unchanged (skip by hash);
- library:   `workflowai.knowledge.indexing.index_documents` (same steps, no Prefect), optional;
- langchain: `langchain_elasticsearch.ElasticsearchStore.add_texts` of the same chunk texts
             (chunking not counted for it) with an Embeddings adapter around the same model,
             in float32 (what it runs by default) and in the product's dtype where that differs.
- flow@REF:  with `--ref REF`, the index flow of another commit (files from `git archive`).
Needs the node from scripts/es-start.sh. Indices made here are deleted afterwards.

    .venv/bin/python bench/index_throughput.py --docs 2000 --small 1000
    .venv/bin/python bench/index_throughput.py --docs 600 --small 300 --library --ref main \
        --url http://127.0.0.1:9200
    .venv/bin/python bench/index_throughput.py --docs 150 --small 50 --library --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# a `--ref` child imports another commit's code (its files from `git archive`)
sys.path.insert(0, os.environ.get("BENCH_SOURCE", str(REPO)))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SCIFACT = REPO.parent / "shared" / "eval" / "scifact" / "corpus.jsonl"


def write_corpus(folder: Path, docs: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "scifact.jsonl"
    with SCIFACT.open() as source, target.open("w") as out:
        for n, line in enumerate(source):
            if n >= docs:
                break
            record = json.loads(line)
            out.write(json.dumps({k: record[k] for k in ("_id", "title", "text")}) + "\n")
    return folder


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def settings_for(url: str, alias: str) -> Any:
    from workflowai.settings import ElasticsearchSettings, Settings, StoreBackend, StoreSettings

    return Settings(
        store=StoreSettings(backend=StoreBackend.ELASTICSEARCH),
        elasticsearch=ElasticsearchSettings(url=url, alias=alias, request_timeout_s=120),
    )


def chunk_texts(settings: Any, folder: Path) -> tuple[list[Any], Any]:
    from workflowai.knowledge.chunking import Chunker
    from workflowai.knowledge.embedding import build_embedder
    from workflowai.knowledge.sources import iter_documents
    from workflowai.schemas import Document

    embedder = build_embedder(settings.embedding)
    chunker = Chunker(
        embedder,
        chunk_tokens=settings.embedding.chunk_tokens,
        overlap=settings.embedding.chunk_overlap,
    )
    docs = [d for d in iter_documents([folder]) if isinstance(d, Document)]
    return [c for d in docs for c in chunker.chunk(d)], embedder


def drop_alias(settings: Any) -> None:
    from workflowai.knowledge.elasticsearch_store import build_client

    client = build_client(settings.elasticsearch)
    alias = settings.elasticsearch.alias
    client.indices.delete(index=f"{alias}-v*,{alias}", ignore_unavailable=True)
    client.close()


def raw_model(settings: Any, dtype: str) -> Any:
    """sentence-transformers' model as a user loads it, cast to `dtype`."""
    import torch
    from sentence_transformers import SentenceTransformer

    from workflowai.knowledge.embedding import resolve_model

    model = SentenceTransformer(resolve_model(settings.embedding.model), device="cpu")
    return model if dtype == "float32" else model.to(getattr(torch, dtype))


def raw_result(chunks: int, tokens: int, seconds: float, dtype: str) -> dict[str, Any]:
    """A raw encode or LangChain child's figures (no unchanged re-index for those)."""
    return {
        "chunks": chunks,
        "tokens": tokens,
        "seconds": seconds,
        "rss": peak_rss_mb(),
        "dtype": dtype,
    }


def child_encode(args: argparse.Namespace) -> dict[str, Any]:
    from workflowai.knowledge.embedding import embedding_input

    settings = settings_for(args.url, "unused")
    chunks, embedder = chunk_texts(settings, Path(args.folder))
    texts = [embedding_input(c) for c in chunks]
    tokens = sum(embedder.count_tokens(t) for t in texts)
    model = raw_model(settings, args.dtype)
    model.encode(texts[:8])  # warm-up
    started = time.perf_counter()
    model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    return raw_result(len(chunks), tokens, seconds, args.dtype)


def child_flow(args: argparse.Namespace) -> dict[str, Any]:
    """The index flow as `workflowai index` runs it: in this process, against the kept local
    Prefect server (`workflowai.cli.run_flow`), which this child stops when it is done."""
    from prefect import flow
    from prefect.settings import get_current_settings

    from flows.index import index_flow
    from tasks.resources import get_embedder
    from workflowai.params import IndexParams

    try:
        from workflowai.cli import run_flow
    except ImportError:  # a --ref from before the kept server: Prefect's temporary one
        run_flow = None

    def call(fn: Any) -> Any:
        return fn() if run_flow is None else run_flow(fn)

    alias = f"bench-flow-{uuid.uuid4().hex[:8]}"
    os.environ["WORKFLOWAI_STORE__BACKEND"] = "elasticsearch"
    os.environ["WORKFLOWAI_ELASTICSEARCH__URL"] = args.url
    os.environ["WORKFLOWAI_ELASTICSEARCH__ALIAS"] = alias
    settings = settings_for(args.url, alias)
    # the flow's tasks reuse it; more texts than the numpy query path takes: load torch's
    embedder = get_embedder(settings)
    embedder.embed_texts(["warm up the model"] * 16)

    @flow(name="bench-warm-up")
    def warm_up() -> int:  # starts the Prefect API outside the timings
        return 1

    params = IndexParams(paths=[Path(args.folder)])
    try:
        call(warm_up)
        started = time.perf_counter()
        first = call(lambda: index_flow(params))
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = call(lambda: index_flow(params))
        again_s = time.perf_counter() - started
    finally:
        drop_alias(settings)
        if run_flow is not None:
            from flows.local_server import stop_server

            stop_server(Path(get_current_settings().home))
    return {
        "chunks": first.chunks_written,
        "tokens": first.tokens_embedded,
        "seconds": first_s,
        "unchanged_seconds": again_s,
        "unchanged_docs": again.documents_unchanged,
        "rss": peak_rss_mb(),
        "dtype": getattr(embedder, "dtype", "float32"),  # a --ref before dtypes: float32
    }


def child_library(args: argparse.Namespace) -> dict[str, Any]:
    from workflowai.knowledge.chunking import Chunker
    from workflowai.knowledge.embedding import build_embedder
    from workflowai.knowledge.factory import build_store
    from workflowai.knowledge.indexing import index_documents
    from workflowai.knowledge.sources import iter_documents

    settings = settings_for(args.url, f"bench-lib-{uuid.uuid4().hex[:8]}")
    embedder = build_embedder(settings.embedding)
    embedder.embed_texts(["warm up the model"] * 16)  # past the numpy query path: torch
    chunker = Chunker(embedder, chunk_tokens=settings.embedding.chunk_tokens)
    store = build_store(settings)
    try:
        summary = index_documents(store, embedder, chunker, iter_documents([Path(args.folder)]))
        again = index_documents(store, embedder, chunker, iter_documents([Path(args.folder)]))
    finally:
        store.close()
        drop_alias(settings)
    return {
        "chunks": summary.chunks_written,
        "tokens": summary.tokens_embedded,
        "seconds": summary.seconds,
        "unchanged_seconds": again.seconds,
        "unchanged_docs": again.documents_unchanged,
        "rss": peak_rss_mb(),
        "dtype": getattr(embedder, "dtype", "float32"),
    }


def child_langchain(args: argparse.Namespace) -> dict[str, Any]:
    from langchain_core.embeddings import Embeddings
    from langchain_elasticsearch import ElasticsearchStore

    from workflowai.knowledge.elasticsearch_store import build_client
    from workflowai.knowledge.embedding import embedding_input

    settings = settings_for(args.url, f"bench-langchain-{uuid.uuid4().hex[:8]}")
    chunks, embedder = chunk_texts(settings, Path(args.folder))
    texts = [embedding_input(c) for c in chunks]
    model = raw_model(settings, args.dtype)
    batch = settings.embedding.batch_size

    class MiniLM(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            vectors = model.encode(texts, batch_size=batch, normalize_embeddings=True)
            return vectors.tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    model.encode(texts[:8])
    # a ready client: LangChain's own client factory probes GET /, absent on the test node
    client = build_client(settings.elasticsearch)
    index = settings.elasticsearch.alias
    store = ElasticsearchStore(index_name=index, embedding=MiniLM(), client=client)
    try:
        started = time.perf_counter()
        store.add_texts(
            texts,
            metadatas=[{"document_id": c.document_id} for c in chunks],
            ids=[c.id for c in chunks],
        )
        seconds = time.perf_counter() - started
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
    tokens = sum(embedder.count_tokens(t) for t in texts)
    return raw_result(len(chunks), tokens, seconds, args.dtype)


CHILDREN = {
    "encode": child_encode,
    "flow": child_flow,
    "library": child_library,
    "langchain": child_langchain,
}


def run_child(
    kind: str,
    folder: Path,
    url: str,
    workdir: Path,
    source: Path | None = None,
    dtype: str = "float32",
) -> dict[str, Any]:
    tag = f"{kind}-{source.name}" if source else f"{kind}-{dtype}"
    env = {**os.environ, "PREFECT_HOME": str(workdir / f"prefect-{tag}")}
    env["WORKFLOWAI_HOME"] = str(workdir / f"home-{tag}")
    if source is not None:
        env["BENCH_SOURCE"] = str(source)
    env.pop("PREFECT_API_URL", None)  # the flow child uses an ephemeral API of its own
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # busy machines
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    command = [sys.executable, __file__, "--child", kind, "--folder", str(folder), "--url", url]
    command += ["--dtype", dtype]  # encode and langchain only: the others run the product's
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--small", type=int, default=1000, help="second size, for peak RSS")
    parser.add_argument("--url", default="http://127.0.0.1:9200")
    parser.add_argument("--library", action="store_true", help="also time index_documents")
    parser.add_argument("--ref", help="also time the index flow of this git ref (same run)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="full-size runs per row, alternating order"
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        work = Path(tmp)
        full = write_corpus(work / "full", args.docs)
        small = write_corpus(work / "small", args.small)
        product = product_dtype()
        plan: list[tuple[str, Path, Path | None, str]] = [
            ("encode", full, None, "float32"),
            ("flow", full, None, product),
            ("langchain", full, None, "float32"),
            ("flow", small, None, product),
        ]
        if product != "float32":
            plan.insert(1, ("encode", full, None, product))
            plan.insert(4, ("langchain", full, None, product))
        if args.library:
            plan.insert(
                plan.index(("flow", full, None, product)) + 1, ("library", full, None, product)
            )
        if args.ref:
            ref = work / f"ref-{args.ref.replace('/', '-')}"
            ref.mkdir()
            archive = subprocess.run(
                ["git", "archive", "--format=tar", args.ref], cwd=REPO, check=True,
                capture_output=True,
            )  # fmt: skip
            subprocess.run(["tar", "-x", "-C", str(ref)], input=archive.stdout, check=True)
            plan.insert(plan.index(("flow", full, None, product)) + 1, ("flow", full, ref, product))
        # the full-size rows `--rounds` times, every other round in reverse order, so a machine
        # that speeds up or slows down during the run shifts every row alike; the small row
        # (peak RSS only) once
        runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
        full_rows = [item for item in plan if item[1] == full]
        for round_no in range(args.rounds):
            order = full_rows if round_no % 2 == 0 else full_rows[::-1]
            if round_no == args.rounds - 1:
                order = order + [item for item in plan if item[1] != full]
            for kind, folder, source, dtype in order:
                docs = args.docs if folder == full else args.small
                name = f"{kind}@{args.ref}" if source else kind
                if kind in {"encode", "langchain"} and dtype != "float32":
                    name = f"{kind}:{dtype}"
                print(f"... {name} on {docs} docs (round {round_no + 1})", file=sys.stderr)
                result = run_child(kind, folder, args.url, work, source, dtype)
                runs.setdefault((name, docs), []).append(result)
        print(f"load average after: {Path('/proc/loadavg').read_text().split()[:3]}")
    rows = [(name, docs, _median_run(results)) for (name, docs), results in runs.items()]
    names = [k for k, *_ in plan]
    rows.sort(key=lambda row: (-row[1], names.index(row[0].split("@")[0].split(":")[0])))
    print_table(rows)
    if args.rounds > 1:
        print("seconds per round (the table shows each row's median round):")
        for (name, docs), results in runs.items():
            print(f"  {name} {docs}: " + ", ".join(f"{r['seconds']:.1f}" for r in results))


def _median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(results, key=lambda r: r["seconds"])
    return ordered[(len(ordered) - 1) // 2]


def product_dtype() -> str:
    """The dtype the product's `auto` setting picks on this machine's CPU."""
    from workflowai.knowledge.embedding import resolve_dtype
    from workflowai.settings import EmbeddingDtype

    return resolve_dtype(EmbeddingDtype.AUTO, "cpu")


def print_table(rows: list[tuple[str, int, dict[str, Any]]]) -> None:
    # raw encode's rate per dtype: each row is read against the one in its own dtype
    encode_rate = {
        r.get("dtype", "float32"): r["tokens"] / r["seconds"]
        for k, _, r in rows
        if k.split(":")[0] == "encode"
    }
    print(
        f"{'run':<26} {'dtype':<9} {'docs':>5} {'chunks':>6} {'tokens':>8} {'seconds':>8} "
        f"{'tokens/s':>9} {'x encode':>8} {'peak RSS MB':>11}"
    )
    for kind, docs, r in rows:
        rate = r["tokens"] / r["seconds"]
        base, _, _ = kind.partition(":")
        name = {"encode": "raw encode", "langchain": "LangChain ES store"}.get(base, f"{base} (ES)")
        # kind may be "flow@<ref>": the index flow of another commit
        dtype = r.get("dtype", "float32")
        ratio = rate / encode_rate[dtype] if dtype in encode_rate else float("nan")
        print(
            f"{name:<26} {dtype:<9} {docs:>5} {r['chunks']:>6} {r['tokens']:>8} "
            f"{r['seconds']:>8.1f} {rate:>9.0f} {ratio:>8.2f} {r['rss']:>11.0f}"
        )
        if "unchanged_seconds" in r:
            speedup = r["seconds"] / r["unchanged_seconds"]
            print(
                f"{'  unchanged re-index':<24} {docs:>5} {r['unchanged_docs']:>6} {'':>8} "
                f"{r['unchanged_seconds']:>8.2f} {'':>9} {'':>8} {'':>11}  {speedup:.0f}x faster"
            )


if __name__ == "__main__":
    main()
