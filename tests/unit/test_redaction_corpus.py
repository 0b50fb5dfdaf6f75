"""Redaction recall on the generated corpus of fake secrets (tests/secret_corpus.py).

Every value of every kind, in every one of its log shapes, must come out with no substring of
8+ characters left, the words around it kept and the line count unchanged; the same corpus
streamed through `read_log` (the path every log takes) must leave no value in the kept lines.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from tests.secret_corpus import KINDS, PER_KIND, Case, generate, leaked
from workflowai.analysis.normalize import read_log
from workflowai.analysis.redact import Redactor, redact_lines

CASES: dict[str, list[Case]] = defaultdict(list)
for _case in generate():
    CASES[_case.kind].append(_case)


def test_redaction_corpus_has_25_kinds_of_50_values() -> None:
    assert len(KINDS) >= 25
    values = Counter({kind: len({c.secrets for c in cases}) for kind, cases in CASES.items()})
    assert min(values.values()) >= PER_KIND >= 50, values


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_redaction_corpus_every_value_is_redacted(kind: str) -> None:
    failures = []
    for case in CASES[kind]:
        out = list(redact_lines(case.lines))
        text = "\n".join(out)
        gram = leaked(case, text)
        lost = [w for w in case.keep if w not in text]
        if gram or lost or len(out) != len(case.lines):
            failures.append((case.lines, out, gram, lost))
    recall = 1 - len(failures) / len(CASES[kind])
    assert not failures, f"recall {recall:.3f}; first: {failures[0]}"


def test_redaction_corpus_redacting_again_changes_and_counts_nothing() -> None:
    """The worker redacts what the client already redacted (logpack.reredact) and warns about
    whatever it finds: redaction must be idempotent, or every upload would raise that warning."""
    for case in (c for cases in CASES.values() for c in cases):
        once = list(redact_lines(case.lines))
        again = Redactor()
        assert list(redact_lines(once, again)) == once, case.lines
        assert not again.counts, (once, dict(again.counts))


def test_redaction_corpus_through_read_log_keeps_no_value() -> None:
    cases = [case for kind in sorted(CASES) for case in CASES[kind]]
    lines = [line for case in cases for line in case.lines]
    log = read_log(
        "\n".join(lines) + "\n", max_bytes=10**9, redactor=Redactor(), tail_lines=len(lines)
    )
    assert log.total_lines == len(lines) and len(log.lines) == len(lines)
    number = 1
    for case in cases:
        kept = [log.lines[n].text for n in range(number, number + len(case.lines))]
        assert leaked(case, "\n".join(kept)) is None, (case.lines, kept)
        number += len(case.lines)
    assert sum(log.redactions.values()) >= len(cases)
