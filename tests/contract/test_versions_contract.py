"""Index versions and reindex steps, on SQLite and on the real Elasticsearch node."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.conftest import ES_URL
from tests.contract.test_store_contract import CORPUS, DIM, MODEL
from workflowai.errors import StoreError
from workflowai.knowledge.embedding import FakeEmbedder
from workflowai.knowledge.reindex import (
    VerificationError,
    prune_versions,
    rollback,
    verify_version,
)
from workflowai.knowledge.versions import (
    ElasticsearchIndexVersions,
    IndexVersions,
    SqliteIndexVersions,
)
from workflowai.settings import ElasticsearchSettings


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.integration)])
def versions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IndexVersions]:
    if request.param == "sqlite":
        yield SqliteIndexVersions(tmp_path / "kb.sqlite")
        return
    alias = f"test-versions-{uuid.uuid4().hex[:10]}"
    backend = ElasticsearchIndexVersions(ElasticsearchSettings(url=ES_URL, alias=alias))
    try:
        yield backend
    finally:
        backend._probe.client.indices.delete(index=f"{alias}-v*", ignore_unavailable=True)


def _build(versions: IndexVersions, n: int) -> str:
    version = versions.create(model=MODEL, dim=DIM)
    store = versions.open(version)
    store.write(CORPUS[:n])
    store.close()
    return version


def test_versions_activate_moves_the_live_name_atomically(versions: IndexVersions) -> None:
    assert versions.current() is None
    first = _build(versions, 2)
    assert versions.current() is None  # built, not live
    assert versions.activate(first) is None
    second = _build(versions, 5)
    assert versions.current() == first
    assert versions.activate(second) == first
    assert versions.current() == second
    assert versions.list() == [first, second]


def test_versions_rollback_returns_to_the_previous_version(versions: IndexVersions) -> None:
    first, second = _build(versions, 2), _build(versions, 5)
    versions.activate(first)
    versions.activate(second)
    assert rollback(versions) == (second, first)
    assert versions.current() == first
    with pytest.raises(StoreError, match="nothing to roll back"):
        rollback(versions)


def test_versions_prune_keeps_the_live_and_newest(versions: IndexVersions) -> None:
    built = [_build(versions, 1) for _ in range(4)]
    versions.activate(built[-1])
    dropped = prune_versions(versions, keep=2)
    assert dropped == built[:2]
    assert versions.list() == built[2:]
    with pytest.raises(StoreError, match="live"):
        versions.drop(built[-1])


def test_verify_version_checks_count_and_smoke_query(versions: IndexVersions) -> None:
    version = _build(versions, 5)
    store = versions.open(version)
    embedder = FakeEmbedder(dim=DIM)
    assert verify_version(store, expected_chunks=5, embedder=embedder, probe_text="heap") == 5
    with pytest.raises(VerificationError, match="not activated"):
        verify_version(store, expected_chunks=6, embedder=embedder, probe_text="heap")
    with pytest.raises(VerificationError, match="smoke"):
        verify_version(store, expected_chunks=5, embedder=embedder, probe_text="zzzqqq")
