"""Extraction quality of the evidence on real, labeled CI logs; prints its figures.

LogChunks (logchunks-dev/labels.jsonl): for each log, does the evidence show the labeled
failure chunk (any of its lines: `hit`; all of its non-blank lines: `full`), does the FIRST
block show it, and how many lines does the evidence show (median).
CiDiff (cidiff-dev/*/*/groundtruth): recall of the ground-truth error lines (`E a-b`, `E n`)
and of the error ranges (at least one line of the range shown), and the share of the log's
lines the evidence shows, without and with the case's pass.log as baseline.
Both sets are also measured for a keyword baseline (every line matching error|fail|exception).
CiDiff also gets an oracle row: an extractor that knows the ground truth and shows its lines,
in log order, up to 5% of the log. It is the best recall any extractor can reach within the
5% share, on these labels; a second oracle row also holds it to the report's evidence budget
(30 lines). `--per-case` prints each case's figures.

    .venv/bin/python bench/extraction_quality.py [--eval-dir ../shared/eval] [--limit N]
        [--only logchunks|cidiff] [--jobs N] [--per-case]

Logs are analyzed in `--jobs` processes (default: one per core); figures do not depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from workflowai.analysis.baseline import build_baseline
from workflowai.analysis.normalize import NormalizedLog, read_log
from workflowai.analysis.redact import Redactor
from workflowai.analysis.signals import MAX_EVIDENCE_LINES, extract_signals
from workflowai.errors import LogParseError
from workflowai.settings import AnalysisSettings

MAX_BYTES = 512 * 1024 * 1024
SETTINGS = AnalysisSettings()
SHARE_TARGET = 0.05  # CiDiff: at most this share of a log's lines shown
KEYWORD = re.compile(r"error|fail|exception", re.IGNORECASE)
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
Extractor = Callable[[Path, Path | None], list[set[int]]]
Blocks = list[set[int]] | None  # None: the log could not be parsed


def ours(path: Path, baseline_path: Path | None) -> list[set[int]]:
    """Line numbers shown, one set per evidence block, best block first."""
    log = read_log(path, max_bytes=MAX_BYTES, redactor=Redactor())
    baseline = build_baseline(baseline_path, max_bytes=MAX_BYTES) if baseline_path else None
    signals = extract_signals(log, baseline=baseline, settings=SETTINGS)
    return [{line.number for line in block.lines} for block in signals.blocks]


def keyword(path: Path, baseline_path: Path | None) -> list[set[int]]:
    log: NormalizedLog = read_log(path, max_bytes=MAX_BYTES)
    return [{n for n, line in log.lines.items() if KEYWORD.search(line.text)}]


def oracle(path: Path, baseline_path: Path | None, budget: int | None = None) -> list[set[int]]:
    """The ground-truth error lines of a CiDiff case, in log order, capped at 5% of the log
    (and at `budget` lines when given)."""
    raw = path.read_bytes()
    cap = int(SHARE_TARGET * (raw.count(b"\n") + 1))
    if budget is not None:
        cap = min(cap, budget)
    mapping = line_map(raw)
    wanted: list[int] = []
    for a, b in groundtruth(path.parent / "groundtruth"):
        wanted.extend(mapping[min(k, len(mapping) - 1)] for k in range(a, b + 1))
    return [set(sorted(set(wanted))[:cap])]


def oracle_in_budget(path: Path, baseline_path: Path | None) -> list[set[int]]:
    """The oracle held to the evidence budget that a report shows (`MAX_EVIDENCE_LINES`)."""
    return oracle(path, baseline_path, MAX_EVIDENCE_LINES)


def _clean(line: str) -> str:
    parts = [p for p in ANSI.sub("", line).split("\r") if p.strip()]
    return parts[-1].strip() if parts else ""


def chunk_lines(raw: str, chunk: str) -> set[int] | None:
    """1-based numbers of the chunk's non-blank lines in the raw log, or None if not found."""
    text = raw.replace("\r\n", "\n")
    at = text.find(chunk.strip())
    if at >= 0:
        first = text.count("\n", 0, at) + 1
        parts = chunk.strip().split("\n")
        return {first + i for i, part in enumerate(parts) if part.strip()}
    # line by line on cleaned text: the label may have been taken from a rendered log
    lines = [_clean(line) for line in text.split("\n")]
    wanted = [_clean(line) for line in chunk.split("\n")]
    wanted = [w for w in wanted if w]
    if not wanted:
        return None
    for start, line in enumerate(lines):
        if line != wanted[0]:
            continue
        found, cursor = [start + 1], start + 1
        for want in wanted[1:]:
            while cursor < len(lines) and cursor - found[-1] < 4 and lines[cursor] != want:
                cursor += 1
            if cursor >= len(lines) or lines[cursor] != want:
                break
            found.append(cursor + 1)
            cursor += 1
        if len(found) == len(wanted):
            return set(found)
    return None


def _safe(extractor: Extractor, path: Path, baseline: Path | None) -> Blocks:
    try:
        return extractor(path, baseline)
    except LogParseError:
        return None


def _run_all(extractor: Extractor, logs: list[tuple[Path, Path | None]], jobs: int) -> list[Blocks]:
    """The extractor over (log, baseline) pairs, in `jobs` processes, results in order."""
    if jobs <= 1 or len(logs) < 2:
        return [_safe(extractor, path, base) for path, base in logs]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(_safe, [extractor] * len(logs), *zip(*logs, strict=True), chunksize=4))


def logchunks(
    eval_dir: Path, extractor: Extractor, limit: int | None, jobs: int
) -> dict[str, float]:
    rows = [json.loads(line) for line in (eval_dir / "labels.jsonl").open()]
    cases: list[tuple[Path, set[int]]] = []
    for row in rows[:limit]:
        path = eval_dir / row["log_path"]
        raw = path.read_bytes().decode("utf-8", errors="replace")
        wanted = chunk_lines(raw, row["chunk"])
        if wanted is not None:
            cases.append((path, wanted))
    results = _run_all(extractor, [(path, None) for path, _ in cases], jobs)
    hit = full = first_hit = errors = 0
    sizes: list[int] = []
    for (_, wanted), blocks in zip(cases, results, strict=True):
        if blocks is None:
            errors += 1
            blocks = []
        shown = set().union(*blocks) if blocks else set()
        sizes.append(len(shown))
        hit += bool(wanted & shown)
        full += wanted <= shown
        first_hit += bool(blocks and wanted & blocks[0])
    located = len(cases)
    return {
        "logs": located,
        "chunk_hit": hit / located,
        "chunk_full": full / located,
        "first_block_hit": first_hit / located,
        "median_lines": statistics.median(sizes) if sizes else 0,
        "parse_errors": errors,
    }


def line_map(raw: bytes) -> list[int]:
    """Our line number (lines end at \\n) for each ground-truth line number, 1-based.

    CiDiff's annotations count a lone \\r as a line break too (Java's readLine), while we
    number lines by \\n and fold CR progress updates into one line; without this mapping every
    range after the first progress bar points at the wrong lines.
    """
    mapping = [0]
    ours_line = 1
    i, n = 0, len(raw)
    mapping.append(ours_line)
    while i < n:
        byte = raw[i]
        if byte == 0x0A:  # \n
            ours_line += 1
            mapping.append(ours_line)
        elif byte == 0x0D:  # \r: a break of its own unless part of \r\n
            if i + 1 < n and raw[i + 1] == 0x0A:
                i += 1
                ours_line += 1
            mapping.append(ours_line)
        i += 1
    return mapping


def groundtruth(path: Path) -> list[tuple[int, int]]:
    ranges = []
    for line in path.read_text().splitlines()[1:]:
        kind, _, span = line.partition(" ")
        if kind == "E" and span:
            a, _, b = span.partition("-")
            ranges.append((int(a), int(b or a)))
    return ranges


def cidiff(
    eval_dir: Path, extractor: Extractor, use_baseline: bool, jobs: int, per_case: bool = False
) -> dict[str, float]:
    gt_lines = gt_found = ranges = ranges_hit = shown_total = lines_total = 0
    shares: list[float] = []
    recalls: list[float] = []
    case_dirs = sorted(p.parent for p in eval_dir.rglob("groundtruth"))
    logs = [(d / "fail.log", d / "pass.log" if use_baseline else None) for d in case_dirs]
    for case_dir, result in zip(case_dirs, _run_all(extractor, logs, jobs), strict=True):
        fail = case_dir / "fail.log"
        blocks = result or []
        shown = set().union(*blocks) if blocks else set()
        total = fail.read_bytes().count(b"\n") + 1
        case_gt = case_found = 0
        mapping = line_map(fail.read_bytes())
        for a, b in groundtruth(case_dir / "groundtruth"):
            wanted = {mapping[min(k, len(mapping) - 1)] for k in range(a, b + 1)}
            case_gt += len(wanted)
            case_found += len(wanted & shown)
            ranges += 1
            ranges_hit += bool(wanted & shown)
        gt_lines += case_gt
        gt_found += case_found
        recalls.append(case_found / case_gt if case_gt else 1.0)
        shown_total += len(shown)
        lines_total += total
        shares.append(len(shown) / total)
        if per_case:
            name = case_dir.relative_to(eval_dir)
            print(
                f"    {name!s:<58} recall={recalls[-1]:.2f} gt={case_gt:<5}"
                f" shown={len(shown):<5} share={shares[-1]:.3f} lines={total}"
            )
    return {
        "cases": len(recalls),
        "line_recall_micro": gt_found / max(gt_lines, 1),
        "line_recall_macro": statistics.mean(recalls) if recalls else 0.0,
        "range_recall": ranges_hit / max(ranges, 1),
        "shown_share_micro": shown_total / max(lines_total, 1),
        "shown_share_macro": statistics.mean(shares) if shares else 0.0,
    }


def _fmt(name: str, figures: dict[str, float]) -> str:
    cells = ", ".join(
        f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
    )
    return f"  {name:<22} {cells}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=Path(__file__).parents[2] / "shared/eval")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--only", choices=["logchunks", "cidiff"], default=None)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument("--per-case", action="store_true", help="CiDiff figures for each case")
    args = parser.parse_args()
    jobs = max(1, args.jobs)
    started = time.perf_counter()
    if args.only != "cidiff":
        run_logchunks(args.eval_dir, args.limit, jobs)
    if args.only != "logchunks":
        run_cidiff(args.eval_dir, jobs, args.per_case)
    print(f"({time.perf_counter() - started:.1f}s)")


def run_logchunks(eval_dir: Path, limit: int | None, jobs: int) -> None:
    print("LogChunks (logchunks-dev): targets chunk covered >= 0.90, median evidence <= 30 lines")
    for name, extractor in (("workflowai", ours), ("keyword-baseline", keyword)):
        print(_fmt(name, logchunks(eval_dir / "logchunks-dev", extractor, limit, jobs)))


def run_cidiff(eval_dir: Path, jobs: int, per_case: bool) -> None:
    print("CiDiff (cidiff-dev): targets error-line recall >= 0.90, shown share <= 0.05")
    cases = eval_dir / "cidiff-dev"
    rows: list[tuple[str, Extractor, bool]] = [
        ("workflowai", ours, False),
        ("workflowai+baseline", ours, True),
        ("keyword-baseline", keyword, False),
        ("oracle@5%", oracle, False),
        (f"oracle@5%,{MAX_EVIDENCE_LINES}lines", oracle_in_budget, False),
    ]
    for name, extractor, use_baseline in rows:
        figures = cidiff(cases, extractor, use_baseline, jobs, per_case)
        print(_fmt(name, figures))


if __name__ == "__main__":
    main()
