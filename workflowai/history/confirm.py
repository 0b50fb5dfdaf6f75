"""Confirmed causes and rejected matches: people's word on a failure, kept for the next time.

`confirm_cause` turns the latest recorded failure with a fingerprint into a knowledge-base
entry (a past incident carrying its signature, findings, cause and fix), writes it as a YAML
runbook under the confirmed folder (`HistorySettings.confirmed_dir`), indexes it at once and
records the decision, so the next failure with that fingerprint cites it first.
`reject_match` records that an entry proposed for a fingerprint is wrong, so it is not
proposed again for it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from workflowai.errors import HistoryError
from workflowai.history.known import known_issue
from workflowai.history.models import CauseDecision, Outcome, RunQuery, RunRecord
from workflowai.history.protocol import HistoryStore
from workflowai.knowledge.chunking import Chunker, chunk_documents
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.knowledge.indexing import index_documents
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.knowledge.sources import iter_documents
from workflowai.schemas import Document

ENTRY_PREFIX = "confirmed-"


def latest_failure(store: HistoryStore, key: str) -> RunRecord:
    """The latest recorded failure whose fingerprint (or failure signature) is `key`.

    Raises HistoryError when there is none, or when it has no fingerprint (only generic exit
    lines: a cause confirmed for it could not be matched reliably).
    """
    for query in (
        RunQuery(fingerprint=key, outcome=Outcome.FAILURE, limit=1),
        RunQuery(failure_signature=key, outcome=Outcome.FAILURE, limit=1),
    ):
        found = store.find_runs(query)
        if found:
            run = found[0]
            if run.fingerprint is None:
                raise HistoryError(
                    f"failure {key} shows only generic exit lines (no fingerprint): a cause "
                    "confirmed for it would match unrelated failures"
                )
            return run
    raise HistoryError(
        f"no recorded failure has fingerprint or signature {key!r}: analyze its log first "
        "(analyze-log records every failure; `workflowai history top` lists them)"
    )


def entry_mapping(
    run: RunRecord, *, title: str, cause: str, fix: list[str], now: datetime
) -> dict[str, Any]:
    """The knowledge-base entry (runbook keys plus its provenance) for a confirmed cause."""
    signatures = [line for line in run.signature_text.splitlines() if line.strip()]
    signatures += [line for line in run.finding_lines if line not in signatures]
    return {
        "id": f"{ENTRY_PREFIX}{run.fingerprint}",
        "title": title.strip(),
        "category": run.category or "unknown",
        "ecosystem": run.ecosystem or "general",
        "symptoms": [run.summary] if run.summary else [],
        "signatures": signatures,
        "cause": cause.strip(),
        "fix": [step.strip() for step in fix if step.strip()],
        "tags": ["confirmed", "past-incident"],
        "fingerprint": run.fingerprint,
        "failure_signature": run.failure_signature,
        "confirmed_at": now.isoformat(),
        "example_run": run.context.run_url or "",
    }


def write_entry(directory: Path, entry: dict[str, Any]) -> Path:
    """Write the entry as `<directory>/<id>.yaml` (replacing an earlier confirmation)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{entry['id']}.yaml"
    text = yaml.safe_dump(entry, sort_keys=False, allow_unicode=True, width=100)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _document(directory: Path, path: Path) -> Document:
    # ids as the index and reindex runs give them: "<folder name>/<file name>"
    wanted = f"{directory.name}/{path.name}"
    for item in iter_documents([directory]):
        if isinstance(item, Document) and item.id == wanted:
            return item
    raise HistoryError(f"{path} could not be read back as a knowledge-base entry")


def confirm_cause(
    history: HistoryStore,
    knowledge: KnowledgeStore,
    embedder: Embedder,
    chunker: Chunker,
    *,
    key: str,
    title: str,
    cause: str,
    fix: list[str],
    directory: Path,
    now: datetime,
) -> CauseDecision:
    """Confirm the cause of failure `key`; returns the decision (its entry is indexed)."""
    run = latest_failure(history, key)
    entry = entry_mapping(run, title=title, cause=cause, fix=fix, now=now)
    path = write_entry(directory, entry)
    document = _document(directory, path)
    index_documents(knowledge, embedder, chunker, [document])
    first = next(c for c in chunk_documents([document], chunker) if c.position == 0)
    decision = CauseDecision(
        fingerprint=str(run.fingerprint),
        failure_signature=run.failure_signature,
        entry_id=entry["id"],
        decided_at=now,
        title=entry["title"],
        cause=entry["cause"],
        fix=entry["fix"],
        document_id=document.id,
        chunk_id=first.id,
        source=document.id,
    )
    history.save_decision(decision)
    return decision


def reject_match(
    history: HistoryStore, *, key: str, entry_id: str | None, now: datetime
) -> CauseDecision:
    """Mark `entry_id` (default: the confirmed cause, else the entry cited first by the latest
    failure) as wrong for failure `key`. Raises HistoryError when there is nothing to reject."""
    run = latest_failure(history, key)
    fingerprint = str(run.fingerprint)
    if entry_id is None:
        confirmed = known_issue(history.decisions(fingerprint))
        entry_id = confirmed.entry_id if confirmed else next(iter(run.cited_entries), None)
    if not entry_id:
        raise HistoryError(f"failure {key} cited no knowledge-base entry: name one to reject")
    decision = CauseDecision(
        fingerprint=fingerprint,
        failure_signature=run.failure_signature,
        entry_id=entry_id,
        rejected=True,
        decided_at=now,
    )
    history.save_decision(decision)
    return decision


def confirmed_sources(directory: Path) -> list[Path]:
    """The confirmed folder when it holds entries: index and reindex runs must keep them."""
    return [directory] if directory.is_dir() and any(directory.glob("*.yaml")) else []
