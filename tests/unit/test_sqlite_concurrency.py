"""The SQLite file under real concurrency: a writer SIGKILLed mid-batch, readers during writes.

The writer is a separate Python process (tests/unit/test_sqlite_concurrency.py run as a
script) that writes batches of BATCH chunks forever and prints `begin N` / `done N` around each
batch; the test kills it once batch N's pages start reaching the WAL, inside the transaction.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workflowai.errors import StoreUnavailableError
from workflowai.knowledge.embedding import FakeEmbedder
from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
from workflowai.schemas import Chunk, EmbeddedChunk

# big enough that a batch spills past SQLite's page cache into the WAL before its commit
BATCH = 2000
EMBEDDER = FakeEmbedder(dim=32)
REPO = Path(__file__).resolve().parents[2]
WORDS = [
    "runner",
    "build",
    "failed",
    "timeout",
    "network",
    "cache",
    "docker",
    "npm",
    "maven",
    "gradle",
    "pytest",
    "heap",
]


def batch(number: int) -> list[EmbeddedChunk]:
    chunks = []
    for i in range(BATCH):
        text = " ".join(WORDS[(number + i + j) % len(WORDS)] for j in range(300))
        doc = f"doc-{number}-{i // 4}"
        chunk = Chunk(
            id=Chunk.make_id(doc, i % 4, text),
            document_id=doc,
            document_hash=f"h{number}",
            position=i % 4,
            title=f"batch {number}",
            text=f"{text} marker{number}",
            source="synthetic",
            metadata={"batch": number},
        )
        chunks.append(EmbeddedChunk(chunk=chunk, embedding=EMBEDDER.embed_query(text)))
    return chunks


def writer_main(path: str) -> None:
    store = SqliteKnowledgeStore(Path(path))
    store.ensure_schema(model=EMBEDDER.model_name, dim=EMBEDDER.dim)
    number = 0
    while True:
        chunks = batch(number)
        print(f"begin {number}", flush=True)
        store.write(chunks)
        print(f"done {number}", flush=True)
        number += 1


def start_writer(path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, __file__, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdout is not None
    for got in proc.stdout:
        if got.strip() == line:
            return
    pytest.fail(f"writer exited (rc={proc.wait()}) before printing {line!r}")


def check_usable(path: Path, expected_batches: set[int]) -> SqliteKnowledgeStore:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
    store = SqliteKnowledgeStore(path)
    store.ensure_schema(model=EMBEDDER.model_name, dim=EMBEDDER.dim)
    assert store.count() == BATCH * len(expected_batches)
    for number in expected_batches:
        hits = store.keyword_search(f"marker{number}", top_k=BATCH + 1)
        assert len(hits) == BATCH, number
    vectors = store.vector_search(EMBEDDER.embed_query("runner build"), top_k=5)
    assert len(vectors) == 5
    return store


@pytest.mark.slow
def test_writer_killed_mid_batch_leaves_a_usable_file_without_a_partial_batch(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kb.sqlite"
    wal = path.with_name(path.name + "-wal")
    proc = start_writer(path)
    try:
        wait_for(proc, "done 1")
        before = wal.stat().st_mtime_ns
        wait_for(proc, "begin 2")
        # the batch's pages reach the WAL before its commit (it outgrows the page cache):
        # kill as soon as they start arriving, i.e. inside the transaction
        while wal.stat().st_mtime_ns == before and proc.poll() is None:
            time.sleep(0.001)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = SqliteKnowledgeStore(path)
    committed = store.count() // BATCH
    assert committed in (2, 3)  # batch 2 entirely or not at all
    store.close()
    store = check_usable(path, set(range(committed)))
    # the next writer picks up where the dead one stopped
    assert store.write(batch(committed)) == BATCH
    assert store.count() == (committed + 1) * BATCH
    store.close()


@pytest.mark.slow
def test_readers_see_whole_batches_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "kb.sqlite"
    proc = start_writer(path)
    reader = SqliteKnowledgeStore(path, timeout_s=30)
    seen: list[int] = []
    try:
        wait_for(proc, "done 0")
        for number in range(1, 5):
            wait_for(proc, f"begin {number}")
            count = reader.count()
            hits = reader.vector_search(EMBEDDER.embed_query("docker cache"), top_k=10**6)
            keyword = reader.keyword_search("marker0", top_k=BATCH + 1)
            assert count % BATCH == 0 and len(hits) % BATCH == 0
            assert len(keyword) == BATCH
            seen.append(count)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # each read saw only committed batches, and never fewer than before
    assert seen == sorted(seen) and seen[0] >= BATCH
    assert reader.count() % BATCH == 0
    reader.close()


def test_a_held_write_lock_is_a_transient_store_unavailable_error(tmp_path: Path) -> None:
    path = tmp_path / "kb.sqlite"
    store = SqliteKnowledgeStore(path, timeout_s=0.05)
    store.ensure_schema(model=EMBEDDER.model_name, dim=EMBEDDER.dim)
    blocker = sqlite3.connect(path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailableError, match="locked"):
            store.write(batch(0)[:1])
        assert store.count() == 0  # reads still work while a writer holds the lock
    finally:
        blocker.rollback()
        blocker.close()
    assert store.write(batch(0)[:1]) == 1
    store.close()


if __name__ == "__main__":
    writer_main(sys.argv[1])
