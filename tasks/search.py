"""Knowledge-base search tasks: `search` (a query) and `retrieve_context` (for a log)."""

from __future__ import annotations

from prefect import task

from tasks.policy import task_policy
from tasks.resources import get_embedder, get_store
from workflowai.knowledge.search import search
from workflowai.schemas import SearchRequest, SearchResult
from workflowai.settings import Settings


@task(**task_policy(timeout_seconds=120))
def search_knowledge(request: SearchRequest, settings: Settings) -> SearchResult:
    """Ranked hits for `request` (hybrid, semantic or keyword)."""
    return search(get_store(settings), get_embedder(settings), request, settings.search)
