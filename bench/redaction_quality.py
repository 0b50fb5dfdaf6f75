"""Redaction quality and speed; prints its figures.

- False positives: the shared eval logs (LogChunks dev logs, CiDiff dev fail.log and pass.log)
  are real CI logs with (almost) no secrets, so a line redaction changes there is, to a first
  approximation, a false positive. Printed: the share of visible non-blank lines changed, the
  types on them and, with `--show N`, N changed lines per type to read.
- Recall: the generated corpus of fake secrets (tests/secret_corpus.py) per kind: the share of
  cases where no 8-character substring of a value survives and every other word stays.
- Throughput: lines/s of `Redactor.redact_line` (with amendments taken) on the eval logs'
  lines, already cleaned and held in memory, so only redaction is timed.

`--compare-with REV` measures the redactor of git revision REV the same way (its
`workflowai/analysis/redact.py`, loaded from `git show`; the default is main's merge base), for
before/after figures.

    .venv/bin/python bench/redaction_quality.py [--eval-dir ../shared/eval] [--limit N]
        [--show N] [--compare-with REV] [--no-compare]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.secret_corpus

from tests.secret_corpus import KINDS, generate, leaked  # noqa: E402
from workflowai.analysis.linetext import clean_line  # noqa: E402
from workflowai.analysis.redact import Redactor  # noqa: E402

MARKER = re.compile(r"\[REDACTED:([\w-]+)\]")
Log = tuple[Path, list[str]]


def eval_logs(eval_dir: Path, limit: int | None) -> list[Path]:
    logchunks = sorted((eval_dir / "logchunks-dev" / "logs").rglob("*.log"))
    cidiff = sorted(
        p for p in (eval_dir / "cidiff-dev").rglob("*.log") if p.name in ("fail.log", "pass.log")
    )
    paths = logchunks + cidiff
    return paths[:limit] if limit else paths


def read_lines(path: Path) -> list[str]:
    """The visible, non-blank lines of a log as `normalize.read_log` hands them to redaction."""
    lines = []
    with path.open("rb") as handle:
        for raw in handle:
            cleaned = clean_line(raw.decode("utf-8", errors="replace"))
            if not cleaned.hidden and cleaned.text:
                lines.append(cleaned.text)
    return lines


def redact_log(factory: Callable[[], Any], lines: list[str]) -> tuple[list[str], Counter[str]]:
    """Each line redacted (corrections of the line before applied), and the redactor's counts."""
    redactor = factory()
    take = getattr(redactor, "take_amendment", None)
    out: list[str] = []
    for line in lines:
        out.append(redactor.redact_line(line))
        if take is not None and (amended := take()) is not None and len(out) > 1:
            out[-2] = amended
    return out, Counter(redactor.counts)


def false_positives(factory: Callable[[], Any], logs: list[Log], show: int) -> None:
    total = changed = 0
    line_types: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for _, lines in logs:
        out, log_counts = redact_log(factory, lines)
        counts += log_counts
        total += len(lines)
        for before, after in zip(lines, out, strict=True):
            if before == after:
                continue
            changed += 1
            for kind in set(MARKER.findall(after)):
                line_types[kind] += 1
                if len(examples[kind]) < show:
                    examples[kind].append(after[:240])
    print(f"  eval lines: {total:,} in {len(logs)} logs; changed by redaction: {changed:,} "
          f"({changed / max(total, 1):.4%})")  # fmt: skip
    for kind, n in line_types.most_common(10):
        print(f"    {kind:22s} {n:6d} lines  ({counts[kind]} redactions)")
        for example in examples[kind]:
            print(f"      | {example}")


def throughput(factory: Callable[[], Any], logs: list[Log], repeat: int = 1) -> float:
    lines = sum(len(lines) for _, lines in logs) * repeat
    start = time.perf_counter()
    for _ in range(repeat):
        for _, log_lines in logs:
            redactor = factory()
            take = getattr(redactor, "take_amendment", None)
            for line in log_lines:
                redactor.redact_line(line)
                if take is not None:
                    take()
    return lines / (time.perf_counter() - start)


def corpus_recall(factory: Callable[[], Any]) -> None:
    """Per kind: share of cases whose values are all redacted (no 8-character substring left),
    and share whose other words all stay."""
    redacted: dict[str, list[bool]] = defaultdict(list)
    kept: dict[str, list[bool]] = defaultdict(list)
    values: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for case in generate():
        out, _ = redact_log(factory, list(case.lines))
        text = "\n".join(out)
        redacted[case.kind].append(leaked(case, text) is None)
        kept[case.kind].append(all(w in text for w in case.keep))
        values[case.kind].add(case.secrets)
    n_cases = sum(len(v) for v in redacted.values())
    n_values = sum(len(v) for v in values.values())
    recall = sum(sum(v) for v in redacted.values()) / n_cases
    words = sum(sum(v) for v in kept.values()) / n_cases
    print(f"  corpus: {len(KINDS)} kinds, {n_values:,} values, {n_cases:,} cases; "
          f"values redacted {recall:.4f}, words kept {words:.4f}")  # fmt: skip
    print(f"    {'kind':22s} redacted  kept  values cases")
    for kind in sorted(redacted, key=lambda k: (sum(redacted[k]) / len(redacted[k]), k)):
        share, keep = sum(redacted[kind]) / len(redacted[kind]), sum(kept[kind]) / len(kept[kind])
        print(f"    {kind:22s} {share:8.3f} {keep:5.3f} {len(values[kind]):6d} "
              f"{len(redacted[kind]):5d}")  # fmt: skip


def load_redactor(rev: str) -> Callable[[], Any]:
    """`Redactor` of the `redact.py` in git revision `rev` (imported from a temporary file)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:workflowai/analysis/redact.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(f"redact_{rev[:8]}", handle.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    Path(handle.name).unlink()
    return module.Redactor  # type: ignore[no-any-return]


def merge_base() -> str:
    return subprocess.run(
        ["git", "merge-base", "HEAD", "main"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()


def _logs(paths: list[Path]) -> Iterator[Log]:
    for path in paths:
        yield path, read_lines(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--limit", type=int, default=None, help="first N logs only")
    parser.add_argument("--show", type=int, default=0, help="changed lines to print per type")
    parser.add_argument("--compare-with", default=None, help="git revision (default: merge base)")
    parser.add_argument("--no-compare", action="store_true")
    args = parser.parse_args()

    logs = list(_logs(eval_logs(args.eval_dir, args.limit)))
    rows: list[tuple[str, Callable[[], Any]]] = [("this tree", Redactor)]
    if not args.no_compare:
        rev = args.compare_with or merge_base()
        rows.append((f"before ({rev[:10]})", load_redactor(rev)))
    for name, factory in rows:
        print(f"== {name}")
        false_positives(factory, logs, args.show)
        corpus_recall(factory)
        print(f"  throughput: {throughput(factory, logs):,.0f} lines/s")


if __name__ == "__main__":
    main()
