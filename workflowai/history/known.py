"""People's decisions applied to a report: a confirmed cause is cited first, rejected matches
are not proposed again for that fingerprint.

The confirmed cause becomes the first citation, titled "Known issue (confirmed <date>): ...",
and its fix steps come first; citations, fixes and (before assembly) knowledge-base hits of a
rejected entry are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from workflowai.analysis.assemble import MAX_EXCERPT_CHARS, MAX_FIXES
from workflowai.analysis.report import AnalysisReport, Citation, Origin, SuggestedFix
from workflowai.history.models import CauseDecision, KnownIssue
from workflowai.schemas import ScoredChunk


def known_issue(decisions: Sequence[CauseDecision]) -> CauseDecision | None:
    """The newest confirmed (not rejected) cause among `decisions`, or None."""
    confirmed = [d for d in decisions if not d.rejected]
    return max(confirmed, key=lambda d: d.decided_at) if confirmed else None


def rejected_entries(decisions: Sequence[CauseDecision]) -> list[str]:
    return sorted({d.entry_id for d in decisions if d.rejected})


def known_issue_title(decision: CauseDecision) -> str:
    return f"Known issue (confirmed {decision.decided_at:%Y-%m-%d}): {decision.title}"


def as_known_issue(decision: CauseDecision) -> KnownIssue:
    return KnownIssue(
        entry_id=decision.entry_id,
        title=decision.title,
        cause=decision.cause,
        fix=list(decision.fix),
        confirmed_at=decision.decided_at,
        source=decision.source,
    )


def _hit_entry(hit: ScoredChunk) -> str:
    value = hit.chunk.metadata.get("entry_id")
    return str(value) if value is not None else ""


def drop_rejected_hits(
    hits: Sequence[ScoredChunk], decisions: Sequence[CauseDecision]
) -> list[ScoredChunk]:
    """Knowledge-base hits without the entries people rejected for this failure."""
    rejected = set(rejected_entries(decisions))
    if not rejected:
        return list(hits)
    return [
        h for h in hits if _hit_entry(h) not in rejected and h.chunk.document_id not in rejected
    ]


def _is_entry(citation: Citation, entry_id: str, document_id: str = "") -> bool:
    same_document = bool(document_id) and citation.document_id == document_id
    return citation.entry_id == entry_id or same_document


def apply_decisions(report: AnalysisReport, decisions: Sequence[CauseDecision]) -> AnalysisReport:
    """The report with rejected entries removed and the confirmed cause (if any) first."""
    rejected = set(rejected_entries(decisions))
    citations = [
        c for c in report.citations if not any(_is_entry(c, entry, entry) for entry in rejected)
    ]
    fixes = [f for f in report.suggested_fixes if f.entry_id not in rejected]
    known = known_issue(decisions)
    if known is not None:
        earlier = next(
            (c for c in citations if _is_entry(c, known.entry_id, known.document_id)), None
        )
        first = Citation(
            chunk_id=earlier.chunk_id if earlier else known.chunk_id,
            document_id=known.document_id or known.entry_id,
            title=known_issue_title(known),
            source=known.source,
            score=earlier.score if earlier else 1.0,
            excerpt=known.cause[:MAX_EXCERPT_CHARS],
            entry_id=known.entry_id,
        )
        citations = [first, *(c for c in citations if c is not earlier)]
        steps = [
            SuggestedFix(text=step, origin=Origin.RETRIEVAL, entry_id=known.entry_id)
            for step in known.fix
        ]
        texts = {s.text for s in steps}
        fixes = [*steps, *(f for f in fixes if f.text not in texts)]
    fixes = fixes[:MAX_FIXES]
    if citations == report.citations and fixes == report.suggested_fixes:
        return report
    provenance = report.provenance.model_copy(update={"fixes": [f.origin for f in fixes]})
    return report.model_copy(
        update={"citations": citations, "suggested_fixes": fixes, "provenance": provenance}
    )
