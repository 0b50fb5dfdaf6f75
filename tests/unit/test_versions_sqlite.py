"""SQLite index versions and reindex steps on real SQLite files (the fake embedder only
stands in for the model; Elasticsearch runs the same steps in tests/contract and
tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.errors import StoreError
from workflowai.knowledge.chunking import Chunker
from workflowai.knowledge.embedding import FakeEmbedder
from workflowai.knowledge.factory import build_store, build_versions
from workflowai.knowledge.reindex import (
    VerificationError,
    prune_versions,
    reindex_documents,
    rollback,
    rollback_target,
)
from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
from workflowai.knowledge.versions import SqliteIndexVersions, version_number
from workflowai.schemas import Document
from workflowai.settings import Settings, StoreSettings

EMBEDDER = FakeEmbedder(dim=16)
CHUNKER = Chunker(EMBEDDER, chunk_tokens=64, overlap=8)


def docs(*texts: str) -> list[Document]:
    return [
        Document(id=f"kb/{i}.md", title=f"runbook {i}", content=text, source=f"kb/{i}.md")
        for i, text in enumerate(texts)
    ]


def reindex(versions: SqliteIndexVersions, *texts: str, keep: int = 3) -> str:
    return reindex_documents(versions, EMBEDDER, CHUNKER, docs(*texts), keep=keep).version


def test_a_knowledge_base_never_reindexed_is_version_v0(tmp_path: Path) -> None:
    versions = SqliteIndexVersions(tmp_path / "kb.sqlite")
    assert (versions.current(), versions.list()) == (None, [])
    assert versions.live_path() == tmp_path / "kb.sqlite"
    store = SqliteKnowledgeStore(tmp_path / "kb.sqlite")
    store.ensure_schema(model=EMBEDDER.model_name, dim=EMBEDDER.dim)
    store.close()
    assert (versions.current(), versions.list()) == ("v0", ["v0"])


def test_activate_swaps_the_pointer_and_build_store_follows_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    versions = build_versions(settings)
    assert isinstance(versions, SqliteIndexVersions)
    first = reindex(versions, "npm ERR! code ERESOLVE unable to resolve dependency tree")
    assert (first, versions.current()) == ("v1", "v1")
    assert (tmp_path / "kb.current").read_text().strip() == "v1"
    assert not list(tmp_path.glob("*.tmp"))  # the temporary pointer was renamed, not left
    second = reindex(versions, "java.lang.OutOfMemoryError: Java heap space", "Killed: 9")
    assert (second, versions.current()) == ("v2", "v2")
    store = build_store(settings)
    try:
        assert store.count() == 2
        assert store.info().location.endswith("kb-v2.sqlite")
    finally:
        store.close()


def test_configured_sqlite_path_keeps_versions_beside_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", store=StoreSettings(sqlite_path=tmp_path / "x.db"))
    version = reindex(build_versions(settings), "disk full: no space left on device")  # type: ignore[arg-type]
    assert version == "v1"
    assert (tmp_path / "x-v1.db").exists() and (tmp_path / "x.current").exists()
    assert not (tmp_path / "home").exists()


def test_created_version_is_not_live_until_activated(tmp_path: Path) -> None:
    versions = SqliteIndexVersions(tmp_path / "kb.sqlite")
    live = reindex(versions, "segfault in libc")
    built = versions.create(model=EMBEDDER.model_name, dim=EMBEDDER.dim)
    assert versions.current() == live != built
    assert versions.activate(built) == live
    assert versions.current() == built


@pytest.mark.parametrize(
    ("names", "expected"),
    [(["kb-v2.sqlite", "kb-v10.sqlite", "kb-v9.sqlite"], ["v2", "v9", "v10"])],
)
def test_list_orders_versions_by_number(
    tmp_path: Path, names: list[str], expected: list[str]
) -> None:
    for name in [*names, "kb-vx.sqlite", "other-v3.sqlite", "kb-v4.sqlite-wal"]:
        (tmp_path / name).touch()
    assert SqliteIndexVersions(tmp_path / "kb.sqlite").list() == expected


@pytest.mark.parametrize(("name", "number"), [("v0", 0), ("v12", 12), ("kb-v3", 3), ("kb", 0)])
def test_version_number(name: str, number: int) -> None:
    assert version_number(name) == number


def test_drop_refuses_the_live_version_and_removes_wal_files(tmp_path: Path) -> None:
    versions = SqliteIndexVersions(tmp_path / "kb.sqlite")
    old, live = reindex(versions, "a flaky test"), reindex(versions, "a timeout")
    with pytest.raises(StoreError, match="live"):
        versions.drop(live)
    (tmp_path / "kb-v1.sqlite-wal").touch()
    versions.drop(old)
    assert versions.list() == [live]
    assert not list(tmp_path.glob("kb-v1.sqlite*"))


@pytest.mark.parametrize("action", ["open", "activate"])
def test_missing_version_is_a_store_error(tmp_path: Path, action: str) -> None:
    versions = SqliteIndexVersions(tmp_path / "kb.sqlite")
    with pytest.raises(StoreError, match="no knowledge-base version v7"):
        getattr(versions, action)("v7")


@pytest.mark.parametrize(
    ("built", "keep", "remaining"),
    [
        (4, 3, ["v2", "v3", "v4"]),
        (4, 2, ["v3", "v4"]),
        # keep=1 still keeps the rollback target
        (4, 1, ["v3", "v4"]),
        (1, 1, ["v1"]),
    ],
)
def test_prune_keeps_the_live_and_the_rollback_target(
    tmp_path: Path, built: int, keep: int, remaining: list[str]
) -> None:
    versions = SqliteIndexVersions(tmp_path / "kb.sqlite")
    for i in range(built):
        reindex(versions, f"error number {i}", keep=99)
    prune_versions(versions, keep=keep)
    assert versions.list() == remaining


def test_rollback_after_rollback_protects_the_new_live(tmp_path: Path) -> None:
    versions = SqliteIndexVersions(tmp_path / "kb.sqlite")
    for i in range(3):
        reindex(versions, f"error number {i}", keep=99)
    assert rollback(versions) == ("v3", "v2")
    assert rollback_target(versions) == "v1"
    assert prune_versions(versions, keep=2) == ["v3"]  # v2 live, v1 its rollback target
    assert rollback(versions) == ("v2", "v1")
    with pytest.raises(StoreError, match="nothing to roll back"):
        rollback(versions)


def test_failed_verification_leaves_the_live_version(tmp_path: Path) -> None:
    versions = SqliteIndexVersions(tmp_path / "kb.sqlite")
    live = reindex(versions, "npm ERR! peer dependency conflict")
    with pytest.raises(VerificationError, match="smoke keyword query 'zzqqxx'"):
        reindex_documents(
            versions, EMBEDDER, CHUNKER, docs("gradle build failed"), keep=3, probe_text="zzqqxx"
        )
    assert versions.current() == live
    assert versions.list() == [live, "v2"]  # the rejected build is kept for inspection


def test_rollback_reaches_the_file_from_before_versions_and_stops(tmp_path: Path) -> None:
    legacy = SqliteKnowledgeStore(tmp_path / "kb.sqlite")
    legacy.ensure_schema(model=EMBEDDER.model_name, dim=EMBEDDER.dim)
    legacy.close()
    versions = SqliteIndexVersions(tmp_path / "kb.sqlite")
    assert reindex(versions, "exit code 137") == "v1"
    assert versions.predecessor("v1") == "v0"
    assert rollback(versions) == ("v1", "v0")
    assert versions.live_path() == tmp_path / "kb.sqlite"
    with pytest.raises(StoreError, match="nothing to roll back"):
        rollback(versions)
