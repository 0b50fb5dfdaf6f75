"""The `index` workflow: sources -> plan (skip unchanged) -> per batch chunk, embed, write.

Documents go to `index_batch` in batches of `batch_chunks` documents: one task chunks, embeds
and writes them, `batch_chunks` chunks per write (overlapped where the model runs on a GPU);
chunks and vectors never pass through Prefect, and a run costs one task run per batch. Old
chunks of changed documents are deleted before their new ones are written; with `prune`,
documents gone from the sources are deleted last.
"""

from __future__ import annotations

from prefect import flow

from flows.results import PERSIST_JSON
from tasks.indexing import (
    BatchWritten,
    index_batch,
    plan_index,
    prune_documents,
    summarize_index,
)
from tasks.progress import report_progress, start_progress
from workflowai.knowledge.indexing import iter_batches
from workflowai.params import IndexParams
from workflowai.schemas import IndexSummary
from workflowai.settings import Settings


@flow(name="index", flow_run_name="index-{params.run_label}", **PERSIST_JSON)
def index_flow(params: IndexParams) -> IndexSummary:
    settings = Settings()
    plan = plan_index(params.paths, params.prune, settings)
    prune_documents(plan.replaced, settings)
    progress = start_progress("index-progress", len(plan.changed), "documents")
    batches: list[BatchWritten] = []
    done = 0
    for documents in iter_batches(plan.changed, params.batch_chunks):
        batches.append(index_batch(documents, params.batch_chunks, settings))
        done += len(documents)
        report_progress(progress, done, len(plan.changed), "documents")
    report_progress(progress, len(plan.changed), len(plan.changed), "documents")
    prune_documents(plan.stale, settings)
    return summarize_index(plan, batches)
