"""The `search` workflow: ranked knowledge-base hits for a query."""

from __future__ import annotations

from prefect import flow

from flows.results import PERSIST_JSON
from tasks.search import search_knowledge
from workflowai.params import SearchParams
from workflowai.schemas import SearchRequest, SearchResult
from workflowai.settings import Settings


@flow(name="search", flow_run_name="search-{params.run_label}", **PERSIST_JSON)
def search_flow(params: SearchParams) -> SearchResult:
    settings = Settings()
    request = SearchRequest.model_validate(params.model_dump())
    return search_knowledge(request, settings)
