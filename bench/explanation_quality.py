"""Explanation quality: does the report say WHAT failed? Prints its figures (#13).

For every log of LogChunks dev, CiDiff dev (fail.log, with pass.log as baseline) and the
example logs, the whole rule-made report is built as `workflowai analyze-log` builds it
without a model (normalize + redact, signals and findings, hybrid retrieval from the starter
knowledge base indexed into a SQLite file under `.cache/bench/`, assembly), then:

- `unknown`: the share of reports whose category is `unknown` (target <= 0.10 on LogChunks);
- `named`: the share of reports whose summary or root cause names a subject of a finding
  (test, file, package, code, command, host) that also occurs verbatim in the labeled failure
  (LogChunks: the labeled chunk; CiDiff: the ground-truth error lines); target >= 0.80;
- `filled`: the share of suggested fixes with at least one placeholder filled from a finding;
- `foreign`: the number of fixes that mention a file, test id or package spec that does not
  occur in the log (target 0): the detector looks for path-like tokens, `file::test` ids and
  `name@version` / `name==version` / `group:artifact:version` specs.
`--per-case` prints each report's category, summary and verdicts.

    .venv/bin/python bench/explanation_quality.py [--eval-dir ../shared/eval] [--limit N]
        [--only logchunks|cidiff|examples] [--jobs N] [--per-case]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench" / "explanation"
MAX_BYTES = 512 * 1024 * 1024

# a fix token that names something specific: a path with an extension, a test id, a package
_PATH = re.compile(r"(?<![\w<])(?:\.{0,2}/)?(?:[\w.-]+/)+[\w.-]+\.[A-Za-z]\w{0,5}\b")
_TEST_ID = re.compile(r"[\w./-]+\.\w+::[\w\[\]./:-]+")
_SPEC = re.compile(
    r"(?<![\w<])(?:@?[\w.-]+/)?[A-Za-z][\w.-]*(?:@\^?~?\d[\w.+-]*|==\d[\w.+-]*)"
    r"|\b[a-z][\w.-]+:[\w.-]+:\d[\w.-]*\b"
)


def foreign_tokens(fix: str, log_text: str) -> list[str]:
    """Specific names in `fix` (paths, test ids, package specs) that the log never mentions.
    Neutral markers (`<file>`) are not names."""
    text = re.sub(r"<[^<>]{1,40}>", " ", fix)
    found = {
        m.group(0).strip(".,;:()'\"`") for p in (_PATH, _TEST_ID, _SPEC) for m in p.finditer(text)
    }
    return sorted(t for t in found if t and t not in log_text and not t.startswith(_SYSTEM))


# the machine's own files (resolv.conf, ...) are no other project's example
_SYSTEM = ("/etc/", "/usr/", "/proc/", "/var/run/", "/dev/")


@dataclass
class Case:
    name: str
    path: Path
    baseline: Path | None
    label: str  # the labeled failure text


def logchunks_cases(eval_dir: Path) -> list[Case]:
    folder = eval_dir / "logchunks-dev"
    rows = [json.loads(line) for line in (folder / "labels.jsonl").open()]
    return [
        Case(f"logchunks/{r['repo']}/{r['job_id']}", folder / r["log_path"], None, r["chunk"])
        for r in rows
    ]


def _groundtruth_text(case_dir: Path) -> str:
    raw = (case_dir / "fail.log").read_text(encoding="utf-8", errors="replace")
    lines = raw.replace("\r\n", "\n").split("\n")
    wanted: list[str] = []
    for row in (case_dir / "groundtruth").read_text().splitlines()[1:]:
        parts = row.split()
        if len(parts) == 2 and parts[0] == "E":
            a, _, b = parts[1].partition("-")
            for k in range(int(a), int(b or a) + 1):
                if 0 < k <= len(lines):
                    wanted.append(lines[k - 1])
    return "\n".join(wanted)


def cidiff_cases(eval_dir: Path) -> list[Case]:
    dirs = sorted(p.parent for p in (eval_dir / "cidiff-dev").rglob("groundtruth"))
    return [
        Case(f"cidiff/{d.name}", d / "fail.log", d / "pass.log", _groundtruth_text(d)) for d in dirs
    ]


def example_cases() -> list[Case]:
    logs = sorted(p for p in (ROOT / "examples").glob("*.log") if not p.name.endswith(".pass.log"))
    out = []
    for log in logs:
        passing = log.with_name(log.stem + ".pass.log")
        out.append(Case(f"examples/{log.name}", log, passing if passing.exists() else None, ""))
    return out


_STATE: dict[str, Any] = {}


def _init(db: str) -> None:
    from workflowai.knowledge.embedding import build_embedder
    from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
    from workflowai.settings import Settings

    settings = Settings(home=CACHE, store={"sqlite_path": db})
    _STATE.update(
        settings=settings,
        store=SqliteKnowledgeStore(Path(db)),
        embedder=build_embedder(settings.embedding),
    )


def _analyze(case: Case) -> dict[str, Any] | None:
    from workflowai.analysis.assemble import assemble_report
    from workflowai.analysis.pipeline import analyze
    from workflowai.analysis.query import build_retrieval_query
    from workflowai.analysis.relevance import RETRIEVAL_OVERFETCH
    from workflowai.errors import LogParseError
    from workflowai.knowledge.search import search
    from workflowai.schemas import SearchRequest

    settings = _STATE["settings"]
    try:
        signals = analyze(case.path, baseline_source=case.baseline, settings=settings.analysis)
    except LogParseError:
        return None
    query = build_retrieval_query(signals)
    hits = []
    if query:
        request = SearchRequest(query=query, top_k=5 * RETRIEVAL_OVERFETCH)
        hits = search(_STATE["store"], _STATE["embedder"], request, settings.search).hits
    report = assemble_report(signals, hits=hits, draft=None, ci_provider=signals.ci_provider)
    log_text = case.path.read_text(encoding="utf-8", errors="replace")
    prose = f"{report.summary}\n{report.root_cause}"
    subjects = [s for f in report.findings for s in f.subjects()]
    named = [s for s in subjects if s in prose and s in case.label] if case.label else []
    fixes = [f.text for f in report.suggested_fixes]
    return {
        "case": case.name,
        "category": report.category.value,
        "summary": report.summary,
        "named": bool(named),
        "subjects": subjects[:6],
        "fixes": len(fixes),
        "filled": sum(1 for f in report.suggested_fixes if f.filled),
        "foreign": {f: t for f in fixes if (t := foreign_tokens(f, log_text))},
        "citations": [c.entry_id or c.source for c in report.citations],
    }


def _knowledge_base(db: Path) -> None:
    """Index the starter knowledge base into `db` (unchanged entries are skipped)."""
    from workflowai.knowledge.chunking import Chunker
    from workflowai.knowledge.embedding import build_embedder
    from workflowai.knowledge.indexing import index_documents
    from workflowai.knowledge.sources import iter_documents
    from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
    from workflowai.settings import Settings

    settings = Settings(home=CACHE)
    embedder = build_embedder(settings.embedding)
    chunker = Chunker(
        embedder,
        chunk_tokens=settings.embedding.chunk_tokens,
        overlap=settings.embedding.chunk_overlap,
    )
    store = SqliteKnowledgeStore(db)
    try:
        items = iter_documents([ROOT / "knowledge_base"])
        index_documents(store, embedder, chunker, items, prune=True)
    finally:
        store.close()


def _summarize(name: str, rows: list[dict[str, Any]], labeled: bool) -> str:
    n = len(rows)
    if not n:
        return f"{name}: no logs"
    unknown = sum(r["category"] == "unknown" for r in rows) / n
    fixes = sum(r["fixes"] for r in rows)
    filled = sum(r["filled"] for r in rows) / max(fixes, 1)
    foreign = sum(len(r["foreign"]) for r in rows)
    named = f"{sum(r['named'] for r in rows) / n:.3f}" if labeled else "-"
    return f"| {name} | {n} | {unknown:.3f} | {named} | {filled:.3f} ({fixes} fixes) | {foreign} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--only", choices=["logchunks", "cidiff", "examples"], default=None)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--per-case", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    CACHE.mkdir(parents=True, exist_ok=True)
    # one file per embedding model: a file built with another model refuses this one's vectors
    from workflowai.settings import Settings

    model = Settings(home=CACHE).embedding.model.rsplit("/", 1)[-1]
    db = CACHE / f"kb-{model}.sqlite"
    started = time.perf_counter()
    _knowledge_base(db)
    sets = {
        "logchunks": logchunks_cases(args.eval_dir),
        "cidiff": cidiff_cases(args.eval_dir),
        "examples": example_cases(),
    }
    print("| set | logs | unknown | named | fixes with a filled placeholder | foreign |")
    print("|---|---|---|---|---|---|")
    # spawn, not fork: the parent loaded torch to index the knowledge base, and a forked child
    # of a process with torch's threads can hang
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        args.jobs, mp_context=context, initializer=_init, initargs=(str(db),)
    ) as pool:
        for name, cases in sets.items():
            if args.only and name != args.only:
                continue
            cases = cases[: args.limit] if args.limit else cases
            rows = [r for r in pool.map(_analyze, cases, chunksize=4) if r is not None]
            print(_summarize(name, rows, labeled=name != "examples"), flush=True)
            if args.per_case:
                for r in rows:
                    print(json.dumps(r, ensure_ascii=False))
            cats = Counter(r["category"] for r in rows)
            print(f"  categories: {dict(cats.most_common())}", flush=True)
            for r in rows:
                for fix, tokens in r["foreign"].items():
                    print(f"  foreign in {r['case']}: {tokens} <- {fix[:120]}")
    print(f"({time.perf_counter() - started:.0f} s, {args.jobs} jobs)")


if __name__ == "__main__":
    main()
