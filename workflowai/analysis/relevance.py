"""Which retrieved knowledge-base entries fit this log: ecosystem, CI provider and tools.

Retrieval ranks by words and meaning; it cannot know that an RSpec runbook does not apply to
a pytest log. `relevant_hits` drops entries whose ecosystem contradicts the ecosystems the
log's findings and rules show (a language runbook for another language, a CI provider's
runbook for another provider) and re-ranks the rest: an entry naming one of the log's tools
moves up, one naming only other tools of the log's ecosystem moves down. Entries of
ecosystems that hold in any job (general, linux, docker, kubernetes, terraform) always fit.
Past incidents and notes have no ecosystem and always fit.
"""

from __future__ import annotations

from collections.abc import Sequence

from workflowai.schemas import ScoredChunk

NEUTRAL = frozenset({"general", "linux", "docker", "kubernetes", "terraform", ""})
# CI providers as runbook ecosystems -> the `ci_provider` names normalize.py detects
PROVIDERS = {
    "github-actions": "github-actions",
    "gitlab-ci": "gitlab",
    "jenkins": "jenkins",
    "travis": "travis",
}
# ecosystems that share runbooks (one build tool chain)
FAMILIES = [frozenset({"java", "scala", "kotlin", "groovy"}), frozenset({"c-cpp", "c", "cpp"})]
# retrieval fetches this many times the entries it will cite, so dropping misfits leaves enough
RETRIEVAL_OVERFETCH = 3
TOOL_MATCH = 1.25
TOOL_MISMATCH = 0.7


def _meta(hit: ScoredChunk, key: str) -> str:
    value = hit.chunk.metadata.get(key)
    return str(value).strip().lower() if value is not None else ""


def _tools(hit: ScoredChunk) -> set[str]:
    value = hit.chunk.metadata.get("tools")
    if isinstance(value, list):
        return {str(v).strip().lower() for v in value if str(v).strip()}
    return {t.strip().lower() for t in str(value or "").split(",") if t.strip()}


def _related(ecosystem: str, ecosystems: set[str]) -> bool:
    if ecosystem in ecosystems:
        return True
    return any(ecosystem in family and family & ecosystems for family in FAMILIES)


def fits(hit: ScoredChunk, ecosystems: Sequence[str], ci_provider: str | None) -> bool:
    """False when the entry's ecosystem contradicts what the log shows."""
    ecosystem = _meta(hit, "ecosystem")
    if ecosystem in NEUTRAL:
        return True
    if ecosystem in PROVIDERS:
        return ci_provider is None or PROVIDERS[ecosystem] == ci_provider.lower()
    known = {e.lower() for e in ecosystems}
    return not known or _related(ecosystem, known)


def relevant_hits(
    hits: Sequence[ScoredChunk],
    *,
    ecosystems: Sequence[str],
    tools: Sequence[str],
    ci_provider: str | None,
) -> list[ScoredChunk]:
    """`hits` that fit the log, best first after the tool re-ranking (scores adjusted)."""
    log_tools = {t.lower() for t in tools}
    known = {e.lower() for e in ecosystems}
    out: list[ScoredChunk] = []
    for hit in hits:
        if not fits(hit, ecosystems, ci_provider):
            continue
        entry_tools = _tools(hit)
        factor = 1.0
        if entry_tools and log_tools:
            if entry_tools & log_tools:
                factor = TOOL_MATCH
            elif _meta(hit, "ecosystem") in known:
                factor = TOOL_MISMATCH
        out.append(hit if factor == 1.0 else hit.model_copy(update={"score": hit.score * factor}))
    return sorted(out, key=lambda h: -h.score)
