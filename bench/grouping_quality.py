"""Grouping quality of the history fingerprints on LogChunks, and verdicts on a replay.

Ground truth (issue 14): LogChunks keeps 10 failed-build logs per repository in time order,
each with a labeled chunk saying why the build failed. Within a repository, two logs whose
chunks are equal after masking numbers, hex ids and paths (ANSI colours and blank lines
dropped, spaces collapsed) are the same failure; otherwise different.

Prediction: every log goes through the analysis (normalize, redact, signals, rule-made report
without retrieval) and `run_fingerprint`; two logs are "same" when both have a fingerprint and
they are equal (a log without one, only generic exit lines, is never grouped).
Printed: pairwise precision and recall (targets 0.95 and 0.80), the logs without fingerprint,
and the replay: each repository's logs fed in time order (job id) through `record_analysis`
into a fresh history store, verdicts counted and compared with the ground truth ("recurring"
is right when an earlier log of the repository has the same labeled chunk).

    .venv/bin/python bench/grouping_quality.py [--eval-dir ../shared/eval] [--jobs N]
        [--limit-repos N] [--per-repo] [--reports FILE]

`--reports FILE` keeps the analyzed reports (JSON lines): written on the first run, read on the
next, so fingerprint changes are measured in seconds. Delete it after changing the analysis.
Also printed: how many "false positive" pairs have labeled chunks that share their first
masked line (the same failure labeled with more or fewer lines, or in another order).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

from workflowai.analysis.assemble import assemble_report
from workflowai.analysis.fingerprint import run_fingerprint
from workflowai.analysis.pipeline import analyze
from workflowai.analysis.report import AnalysisReport
from workflowai.errors import LogParseError
from workflowai.history.models import RunContext, Verdict
from workflowai.history.recording import record_analysis
from workflowai.history.sqlite_store import SqliteHistoryStore
from workflowai.settings import AnalysisSettings, HistorySettings

REPO = Path(__file__).resolve().parents[1]
SETTINGS = AnalysisSettings()
TARGETS = {"precision": 0.95, "recall": 0.80}
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\[(?:\d{1,3};?)*m")
# ground-truth masks, independent of the fingerprint's own: paths, hex ids, numbers
GT_MASKS = [
    (re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.@+~-]+){2,}[\\/]?"), "<PATH>"),
    (re.compile(r"\b(?:0x)?(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b", re.I), "<HEX>"),
    (re.compile(r"\d+"), "<N>"),
    (re.compile(r"\s+"), " "),
]


def truth_key(chunk: str) -> str:
    lines = []
    for raw in chunk.splitlines():
        text = ANSI.sub("", raw)
        for pattern, token in GT_MASKS:
            text = pattern.sub(token, text)
        if text.strip():
            lines.append(text.strip())
    return "\n".join(lines)


def analyze_log(path: Path) -> AnalysisReport | None:
    try:
        signals = analyze(path, settings=SETTINGS)
    except LogParseError:
        return None
    return assemble_report(signals, hits=[], draft=None, ci_provider=signals.ci_provider)


def _one(path: str) -> str | None:
    """The report as JSON (a process pool returns it to the parent)."""
    report = analyze_log(Path(path))
    return report.model_dump_json() if report is not None else None


def load_reports(path: Path) -> dict[str, AnalysisReport]:
    reports = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        reports[item["log_path"]] = AnalysisReport.model_validate(item["report"])
    return reports


def save_reports(path: Path, reports: dict[str, AnalysisReport]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"log_path": k, "report": r.model_dump(mode="json")}) for k, r in reports.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def near_misses(rows: list[dict], key: str) -> tuple[int, int]:
    """(false-positive pairs, those whose labeled chunks share their first masked line)."""
    wrong = shared = 0
    for repo_rows in _by_repo(rows).values():
        for a, b in combinations(repo_rows, 2):
            if a[key] is not None and a[key] == b[key] and a["truth"] != b["truth"]:
                wrong += 1
                shared += a["truth"].split("\n")[0] == b["truth"].split("\n")[0]
    return wrong, shared


def pairwise(rows: list[dict], key: str) -> dict[str, float]:
    counts = Counter()
    for repo_rows in _by_repo(rows).values():
        for a, b in combinations(repo_rows, 2):
            same = a["truth"] == b["truth"]
            predicted = a[key] is not None and a[key] == b[key]
            counts["pairs"] += 1
            counts["positive"] += same
            counts["tp"] += same and predicted
            counts["fp"] += predicted and not same
            counts["fn"] += same and not predicted
    predicted = counts["tp"] + counts["fp"]
    return {
        "pairs": counts["pairs"],
        "same_pairs": counts["positive"],
        "predicted_same": predicted,
        "precision": counts["tp"] / predicted if predicted else 0.0,
        "recall": counts["tp"] / counts["positive"] if counts["positive"] else 0.0,
    }


def _by_repo(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["repo"]].append(row)
    for repo_rows in grouped.values():
        repo_rows.sort(key=lambda r: int(r["job_id"]))
    return grouped


def replay(rows: list[dict], reports: dict[str, AnalysisReport]) -> dict[str, object]:
    """Each repository's logs in time order through record_analysis; verdicts vs the truth."""
    verdicts: Counter[str] = Counter()
    agree: Counter[str] = Counter()
    t0 = datetime(2020, 1, 6, 8, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="grouping-replay-") as folder:
        store = SqliteHistoryStore(Path(folder) / "history.sqlite")
        try:
            for repo, repo_rows in sorted(_by_repo(rows).items()):
                seen: set[str] = set()
                for i, row in enumerate(repo_rows):
                    report = reports.get(row["log_path"])
                    if report is None:
                        continue
                    done = record_analysis(
                        store,
                        report,
                        RunContext(repository=repo, job="travis", provider="travis"),
                        HistorySettings(),
                        run_id=f"{repo}#{row['job_id']}",
                        now=t0 + timedelta(hours=i),
                    )
                    verdict = done.history.verdict if done.history else Verdict.NEW
                    verdicts[verdict.value] += 1
                    truly = row["truth"] in seen
                    said = verdict is not Verdict.NEW
                    agree["tp"] += truly and said
                    agree["fp"] += said and not truly
                    agree["fn"] += truly and not said
                    agree["tn"] += not truly and not said
                    seen.add(row["truth"])
        finally:
            store.close()
    said = agree["tp"] + agree["fp"]
    truly = agree["tp"] + agree["fn"]
    return {
        "verdicts": dict(sorted(verdicts.items())),
        "truly_recurring": truly,
        "recurring_precision": agree["tp"] / said if said else 0.0,
        "recurring_recall": agree["tp"] / truly if truly else 0.0,
        "accuracy": (agree["tp"] + agree["tn"]) / max(1, sum(agree.values())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit-repos", type=int, default=0, help="first N repositories only")
    parser.add_argument("--per-repo", action="store_true", help="figures per repository")
    parser.add_argument("--reports", type=Path, help="JSON-lines cache of analyzed reports")
    args = parser.parse_args()

    root = args.eval_dir / "logchunks-dev"
    rows = [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines()]
    if args.limit_repos:
        keep = sorted({r["repo"] for r in rows})[: args.limit_repos]
        rows = [r for r in rows if r["repo"] in keep]
    started = time.perf_counter()
    reports = load_reports(args.reports) if args.reports and args.reports.is_file() else None
    if reports is None:
        paths = [str(root / r["log_path"]) for r in rows]
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            dumped = list(pool.map(_one, paths, chunksize=4))
        reports = {
            r["log_path"]: AnalysisReport.model_validate_json(d)
            for r, d in zip(rows, dumped, strict=True)
            if d is not None
        }
        if args.reports:
            save_reports(args.reports, reports)
    else:
        print(f"reports read from {args.reports}")
    for row in rows:
        report = reports.get(row["log_path"])
        row["truth"] = truth_key(row["chunk"])
        row["fingerprint"] = run_fingerprint(report) if report is not None else None
        row["signature"] = report.failure_signature if report is not None else None
    seconds = time.perf_counter() - started

    ours = pairwise(rows, "fingerprint")
    baseline = pairwise(rows, "signature")
    without = sum(r["fingerprint"] is None for r in rows)
    with_findings = sum(bool(reports[p].findings) for p in reports)
    print(
        f"LogChunks dev: {len(rows)} logs, {len({r['repo'] for r in rows})} repositories, "
        f"{ours['pairs']} within-repository pairs, {ours['same_pairs']} the same failure "
        f"(analysis {seconds:.0f} s, {args.jobs} processes)"
    )
    print(f"logs with findings: {with_findings}; without a fingerprint (generic only): {without}")
    for name, figures in (("fingerprint", ours), ("failure_signature (baseline)", baseline)):
        print(
            f"{name:<30} precision {figures['precision']:.3f}  recall {figures['recall']:.3f}"
            f"  ({figures['predicted_same']} pairs predicted same)"
        )
    wrong, shared = near_misses(rows, "fingerprint")
    print(
        f"of the {wrong} pairs grouped against the labels, {shared} have chunks that share "
        "their first masked line"
    )
    print(
        f"targets: precision >= {TARGETS['precision']}, recall >= {TARGETS['recall']}: "
        f"{'met' if all(ours[k] >= v for k, v in TARGETS.items()) else 'not met'}"
    )
    result = replay(rows, reports)
    print(
        f"replay (each repository in job-id order): verdicts {result['verdicts']}; "
        f"'seen before' (recurring/flaky/broken-base) vs truth: precision "
        f"{result['recurring_precision']:.3f}, recall {result['recurring_recall']:.3f} "
        f"({result['truly_recurring']} truly recurring), accuracy {result['accuracy']:.3f}"
    )
    if args.per_repo:
        for repo, repo_rows in sorted(_by_repo(rows).items()):
            figures = pairwise(repo_rows, "fingerprint")
            print(
                f"  {repo:<32} same {figures['same_pairs']:>3}  predicted "
                f"{figures['predicted_same']:>3}  P {figures['precision']:.2f}  "
                f"R {figures['recall']:.2f}"
            )


if __name__ == "__main__":
    main()
