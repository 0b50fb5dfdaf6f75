"""Wall time of the local `workflowai analyze-log` on a 10,000-line log, as a user runs it.

Each run is a fresh `workflowai analyze-log <log> --format json` process (embedded default:
SQLite knowledge base, the local embedding model, no generation backend, no PREFECT_API_URL)
with a private WORKFLOWAI_HOME and PREFECT_HOME per variant. The first run of a variant indexes
the starter knowledge base (and starts whatever the CLI keeps between runs), so it is reported
apart; p50 and p95 are over the runs after it. "cpu" is the CLI process's own user+sys time (a kept
server's is not in it): on a loaded machine it tracks what a quiet machine's wall time would
be. Variants run interleaved (A B A B ...) so the machine's load hits them alike; `--ref main`
adds the CLI of another commit (its files from `git archive`, run with this venv) as the
baseline, and every variant's report must equal the first variant's (floats to 4 digits).

The log: examples/github-actions-pytest.log with ~9,700 verbose pytest result lines inserted
into its test step (deterministic; written under .cache/bench/).
`--log PATH` times that log instead (a long real one: the time that grows with the log's size,
reading, redacting and matching rules, against the fixed cost the generated log mostly shows).
`--batch N` also times one `analyze-log` call over N copies of the log (JSON Lines out).

    .venv/bin/python bench/analyze_latency.py --runs 7 --ref main
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "bench"
EXAMPLE = REPO / "examples" / "github-actions-pytest.log"
QUIET = {
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "TOKENIZERS_PARALLELISM": "false",
}
CLI = "import sys; from workflowai.cli import app; sys.argv[0] = 'workflowai'; app()"


def write_log(lines: int) -> Path:
    """The example's failing pytest job with passing-test lines filling it to `lines` lines."""
    source = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(source) if "##[group]Run pytest" in line)
    end = next(n for n in range(start, len(source)) if source[n].endswith("##[endgroup]"))
    filler = []
    need = max(0, lines - len(source))
    for k in range(need):
        stamp = f"2026-11-20T14:04:{k % 60:02d}.{k:07d}Z"
        test = f"tests/test_module_{k // 40:03d}.py::test_case_{k % 40:02d}[param{k % 7}]"
        filler.append(f"{stamp} {test} PASSED [{k * 100 // max(need, 1):3d}%]")
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"github-actions-pytest-{lines}.log"
    target.write_text("\n".join(source[: end + 1] + filler + source[end + 1 :]) + "\n")
    return target


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Variant:
    name: str
    source: Path  # the checkout whose `workflowai` runs
    home: Path
    first: float = 0.0
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    report: str = ""
    last_cpu: float = 0.0

    def env(self) -> dict[str, str]:
        (self.home / "prefect").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **QUIET}
        for key in ("PREFECT_API_URL", "PREFECT_API_KEY"):
            env.pop(key, None)
        env["WORKFLOWAI_HOME"] = str(self.home / "workflowai")
        env["PREFECT_HOME"] = str(self.home / "prefect")
        env["PYTHONPATH"] = str(self.source)  # ahead of the editable install of this checkout
        return env

    def run(self, args: list[str]) -> tuple[float, str]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CLI, *args],
            cwd=self.source,
            env=self.env(),
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: exit {done.returncode}\n{done.stderr[-3000:]}")
        self.last_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return elapsed, done.stdout


def comparable(report_json: str, root: Path) -> str:
    """The report with float noise rounded off (scores may differ in the 7th digit) and the
    checkout's folder out of the knowledge-base source paths; without the history verdict."""

    def walk(value: object) -> object:
        if isinstance(value, float):
            return round(value, 4)
        if isinstance(value, str):
            return value.replace(str(root), "<checkout>")
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    try:
        reports = [json.loads(report_json)]
    except json.JSONDecodeError:  # JSON Lines: one report a line
        reports = [json.loads(line) for line in report_json.splitlines() if line.strip()]
    # the history verdict moves on with every run by design (new, then recurring, 2, 3...)
    return json.dumps(
        [walk({k: v for k, v in r.items() if k != "history"}) for r in reports], sort_keys=True
    )


def snapshot(root: Path) -> Path:
    """This checkout's files as they are now (tracked and untracked, not ignored), so edits
    made while the bench runs do not change what it measures."""
    target = root / "this-checkout"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / name.decode()
        if source.is_file():
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name.decode())
    return target


def ref_checkout(ref: str, root: Path) -> Path:
    """The files of `ref` in a temp folder (git archive: no worktree, nothing to clean up)."""
    target = root / f"ref-{ref.replace('/', '-')}"
    target.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=REPO, check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def stop_kept_servers(variant: Variant) -> None:
    """Stop a local server the CLI keeps between runs, if this checkout has that command."""
    subprocess.run(
        [sys.executable, "-c", CLI, "server", "stop"],
        cwd=variant.source,
        env=variant.env(),
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per variant")
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--ref", action="append", default=[], help="also time this git ref")
    parser.add_argument("--batch", type=int, default=0, help="logs in one multi-log call")
    parser.add_argument("--log", type=Path, help="time this log instead of the generated one")
    args = parser.parse_args()

    log = args.log.resolve() if args.log else write_log(args.lines)
    with log.open("rb") as handle:
        line_count = sum(1 for _ in handle)
    root = Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    variants: list[Variant] = []
    try:
        variants.append(Variant("this checkout", snapshot(root), root / "current"))
        for n, ref in enumerate(args.ref):
            variants.append(Variant(ref, ref_checkout(ref, root), root / f"home-{n}"))
        print(f"log: {log.name} ({line_count} lines); load before: {load()}", flush=True)
        command = ["analyze-log", str(log), "--format", "json"]
        for variant in variants:
            variant.first, variant.report = variant.run(command)
            print(f"  {variant.name}: first run {variant.first:.2f} s", flush=True)
        for _ in range(args.runs):
            for variant in variants:
                elapsed, report = variant.run(command)
                variant.times.append(elapsed)
                variant.cpu.append(variant.last_cpu)
                if comparable(report, variant.source) != comparable(variant.report, variant.source):
                    raise SystemExit(f"{variant.name}: the report changed between runs")
        reference = comparable(variants[0].report, variants[0].source)
        for variant in variants:  # kept for a diff when a report differs
            name = variant.name.replace(" ", "-").replace("/", "-")
            (CACHE / f"report-{name}.json").write_text(variant.report)
        print(f"load after: {load()}\n")
        head = ["variant", "first s", "p50 s", "p95 s", "min s", "cpu p50 s", "x vs first"]
        head.append("same report")
        print(f"{head[0]:<16}" + "".join(f"{h:>12}" for h in head[1:]))
        base = statistics.median(variants[0].times)
        for variant in variants:
            times = sorted(variant.times)
            p50 = statistics.median(times)
            p95 = times[max(0, round(0.95 * len(times)) - 1)]
            same = comparable(variant.report, variant.source) == reference
            cells = [f"{variant.first:.2f}", f"{p50:.2f}", f"{p95:.2f}", f"{times[0]:.2f}"]
            cells.append(f"{statistics.median(variant.cpu):.2f}")
            cells += [f"{p50 / base:.2f}", "yes" if same else "NO"]
            print(f"{variant.name:<16}" + "".join(f"{c:>12}" for c in cells))
        print(f"(reports: {CACHE}/report-*.json)")
        if args.batch:
            batch_dir = CACHE / "batch"
            batch_dir.mkdir(exist_ok=True)
            for n in range(args.batch):
                (batch_dir / f"job-{n:03d}.log").write_bytes(log.read_bytes())
            elapsed, out = variants[0].run(["analyze-log", str(batch_dir)])
            lines = [line for line in out.splitlines() if line.strip()]
            print(
                f"\nbatch: {args.batch} logs in one call: {elapsed:.2f} s "
                f"({elapsed / args.batch:.2f} s a log), {len(lines)} JSON lines"
            )
    finally:
        for variant in variants:
            stop_kept_servers(variant)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
