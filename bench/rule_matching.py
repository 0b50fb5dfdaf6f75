"""The rule pack on every line of real logs: its hits against a plain search of every rule.

`RulePack.match` skips a rule's regex where the line lacks every literal a match of it must
contain (`workflowai/analysis/literals.py`). This runs both over every line of the given logs
(default: all `*.log` under ../shared/eval and examples/), prints how many lines' hits or
named groups differ (must be 0), and the time each took, side by side in one run.

    .venv/bin/python bench/rule_matching.py [--limit-files N] [LOG ...]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workflowai.analysis.rules import RulePack, default_pack  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"

Hits = list[tuple[str, dict[str, str]]]


def plain(pack: RulePack) -> list[tuple[str, re.Pattern[str]]]:
    return [
        (rule.id, re.compile(rule.pattern, re.IGNORECASE if rule.ignore_case else 0))
        for rule in pack.rules
    ]


def plain_hits(compiled: list[tuple[str, re.Pattern[str]]], line: str) -> Hits:
    hits: Hits = []
    if not line:
        return hits
    for rule_id, pattern in compiled:
        found = pattern.search(line)
        if found is not None:
            hits.append((rule_id, {k: v for k, v in found.groupdict().items() if v is not None}))
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="*", type=Path)
    parser.add_argument("--limit-files", type=int, default=0, help="only the first N logs")
    args = parser.parse_args()
    files = args.logs or sorted(EVAL.rglob("*.log")) + sorted((REPO / "examples").glob("*.log"))
    if args.limit_files:
        files = files[: args.limit_files]
    pack = default_pack()
    compiled = plain(pack)
    lines = mismatched = hits = 0
    fast_s = slow_s = 0.0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        started = time.perf_counter()
        fast = [[(h.rule.id, h.groups) for h in pack.match(line)] for line in text]
        fast_s += time.perf_counter() - started
        started = time.perf_counter()
        slow = [plain_hits(compiled, line) for line in text]
        slow_s += time.perf_counter() - started
        lines += len(text)
        hits += sum(map(len, slow))
        for line, a, b in zip(text, fast, slow, strict=True):
            if a != b:
                mismatched += 1
                if mismatched <= 5:
                    print(f"MISMATCH {path.name}: {line[:160]!r}\n  pack {a}\n  plain {b}")
    print(f"{len(files)} logs, {lines:,} lines, {hits:,} rule hits, {len(pack.rules)} rules")
    print(f"{'':<28}{'seconds':>10}{'us a line':>12}")
    for name, seconds in (("RulePack.match", fast_s), ("plain search of every rule", slow_s)):
        print(f"{name:<28}{seconds:>10.2f}{1e6 * seconds / max(lines, 1):>12.2f}")
    print(f"lines whose hits differ: {mismatched}")
    if mismatched:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
