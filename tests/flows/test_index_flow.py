"""`index` end to end: real SQLite store, real MiniLM embedder, a tiny temp corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.index import index_flow
from tests.flows.corpus import RUNBOOKS, write_corpus
from workflowai.knowledge.factory import build_store
from workflowai.params import IndexParams
from workflowai.settings import Settings


def _count() -> int:
    store = build_store(Settings())
    try:
        return store.count()
    finally:
        store.close()


def test_embedding_tasks_ask_for_no_concurrency_slots() -> None:
    # Prefect acquires a tagged task run's `tag:<tag>` slots through the API before the run
    # starts (it remembers "no such limit" for 5 s only). On the embedded SQLite server that
    # call met the event writes of the batch before (HTTP 503, then 2-7 s of client backoff per
    # batch: bench/README.md). Nothing limits embedding, so these tasks carry no tag; only
    # generation (`gpu`) is limited.
    from tasks.history import confirm_or_reject
    from tasks.indexing import index_batch
    from tasks.reindex import build_version

    assert [t.tags for t in (index_batch, build_version, confirm_or_reject)] == [set()] * 3


@pytest.mark.slow
def test_index_flow_indexes_then_skips_unchanged(workflowai_home: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first = index_flow(IndexParams(paths=[corpus], batch_chunks=2))
    assert first.documents_seen == len(RUNBOOKS)
    assert first.documents_indexed == len(RUNBOOKS)
    assert first.chunks_written >= len(RUNBOOKS)
    assert first.tokens_embedded > 0
    assert first.failures == []
    chunks = _count()
    assert chunks == first.chunks_written

    second = index_flow(IndexParams(paths=[corpus]))
    assert second.documents_unchanged == len(RUNBOOKS)
    assert second.documents_indexed == 0
    assert second.chunks_written == 0
    assert _count() == chunks


@pytest.mark.slow
def test_index_flow_replaces_changed_and_prunes_removed(
    workflowai_home: Path, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    index_flow(IndexParams(paths=[corpus]))
    (corpus / "docker-rate-limit.txt").unlink()
    (corpus / "java-heap.md").write_text("# JVM heap\n\nRaise -Xmx to 4g for Gradle.\n")
    (corpus / "notes.bin").write_bytes(b"\x00\x01")  # unsupported: skipped without a failure

    # a source that cannot be read must not count as "documents removed": no prune then
    summary = index_flow(IndexParams(paths=[corpus, tmp_path / "missing"], prune=True))
    assert summary.documents_indexed == 1
    assert summary.documents_unchanged == 1
    assert summary.documents_pruned == 0
    reasons = [f.reason for f in summary.failures]
    assert reasons[0] == "no such file or directory"
    assert reasons[1].startswith("prune skipped: 1 source(s) failed to read")
    assert _count() == 3

    summary = index_flow(IndexParams(paths=[corpus], prune=True))
    assert summary.documents_pruned == 1
    assert summary.failures == []
    assert _count() == 2  # one short chunk per remaining document
