"""Logs by reference: client-side packing, content addressing, the size cap, integrity checks
and the worker's second redaction. Storage is the real local-folder backend in a temp dir."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from workflowai.analysis.normalize import read_log
from workflowai.analysis.redact import Redactor
from workflowai.blobstore import BlobNotFoundError, FolderBlobStore, check_key, prune_folder
from workflowai.errors import LogIntegrityError, LogParseError, LogRefError, LogTooLargeError
from workflowai.logpack import (
    max_unpacked_bytes,
    pack_log,
    prepare_baseline,
    prepare_log,
    reredact,
    unpack_baseline,
    unpack_log,
)
from workflowai.logref import LogRef, fetch, key_for, upload
from workflowai.settings import AnalysisSettings

# fake secrets, assembled at run time so no scanner mistakes this file for a leak
GH_TOKEN = "ghp_" + "Zq8Xw2Lr5Tn9Vb3Kd7Mh1Pj4Fs6Gy0Ac2UeR"
AWS_KEY = "AKIA" + "QX7TMZ2LRB4WVN6K"
LOG = (
    "2024-05-02T09:14:01.0000000Z ##[group]Run npm ci\n"
    f"2024-05-02T09:14:03.1000000Z git clone https://x-access-token:{GH_TOKEN}@github.com/o/r\n"
    f"2024-05-02T09:14:03.2000000Z export AWS_ACCESS_KEY_ID={AWS_KEY}\n"
    "2024-05-02T09:14:04.0000000Z npm ERR! code ERESOLVE\n"
    "2024-05-02T09:14:04.0100000Z npm ERR! ERESOLVE unable to resolve dependency tree\n"
    "2024-05-02T09:14:05.0000000Z ##[error]Process completed with exit code 1.\n"
)
SETTINGS = AnalysisSettings()
LIMIT = max_unpacked_bytes(SETTINGS)


@pytest.fixture
def store(tmp_path: Path) -> FolderBlobStore:
    return FolderBlobStore(tmp_path / "log-storage")


def _all_bytes(root: Path) -> bytes:
    data = b""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        data += raw + (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else b"")
    return data


def test_prepare_log_redacts_on_the_client_and_is_deterministic() -> None:
    payload = prepare_log(LOG.encode(), SETTINGS)
    body = gzip.decompress(payload)
    assert GH_TOKEN.encode() not in body and AWS_KEY.encode() not in body
    assert b"ERESOLVE unable to resolve dependency tree" in body
    # same log, same bytes: the content address is stable across uploads
    assert prepare_log(LOG.encode(), SETTINGS) == payload


def test_upload_then_fetch_round_trips_the_normalized_log(store: FolderBlobStore) -> None:
    payload = prepare_log(LOG.encode(), SETTINGS)
    ref = upload(store, payload, max_bytes=1 << 20)
    assert ref.sha256 == hashlib.sha256(payload).hexdigest()
    assert ref.key == f"logs/{ref.sha256[:2]}/{ref.sha256}.json.gz" and ref.size == len(payload)
    log = unpack_log(fetch(store, ref, max_bytes=1 << 20), max_unpacked_bytes=LIMIT)
    local = read_log(LOG.encode(), max_bytes=SETTINGS.max_log_bytes, redactor=Redactor())
    assert log == local  # the worker sees exactly what a local run would
    assert log.total_lines == 6 and log.steps == [(1, "Run npm ci")]
    assert sum(log.redactions.values()) >= 2
    assert GH_TOKEN.encode() not in _all_bytes(store.root)


def test_upload_checks_the_size_cap_before_writing(store: FolderBlobStore) -> None:
    payload = prepare_log(LOG.encode(), SETTINGS)
    with pytest.raises(LogTooLargeError, match=f"{len(payload)} bytes, over the 100-byte cap"):
        upload(store, payload, max_bytes=100)
    assert not store.root.exists() or not any(store.root.rglob("*.gz"))


def test_fetch_refuses_a_tampered_blob_with_an_integrity_error(store: FolderBlobStore) -> None:
    ref = upload(store, prepare_log(LOG.encode(), SETTINGS), max_bytes=1 << 20)
    other = prepare_log(LOG.replace("ERESOLVE", "EINTEGRITY").encode(), SETTINGS)
    (store.root / ref.key).write_bytes(other)
    with pytest.raises(LogIntegrityError, match=f"expected sha256 {ref.sha256}"):
        fetch(store, ref, max_bytes=1 << 20)


@pytest.mark.parametrize(
    ("ref", "error"),
    [
        # a reference to something never uploaded
        (LogRef.of(b"never uploaded"), BlobNotFoundError),
        # a reference claiming more than the worker accepts: refused before reading
        (LogRef(key=key_for("a" * 64), sha256="a" * 64, size=10**12), LogTooLargeError),
    ],
)
def test_fetch_refuses_missing_or_oversized_refs(
    store: FolderBlobStore, ref: LogRef, error: type[Exception]
) -> None:
    with pytest.raises(error):
        fetch(store, ref, max_bytes=1 << 20)


@pytest.mark.parametrize(
    "fields",
    [
        # the key must be the one derived from the hash: no pointing at other objects
        {"key": "../../etc/passwd", "sha256": "a" * 64, "size": 1},
        {"key": key_for("b" * 64), "sha256": "a" * 64, "size": 1},
        {"key": key_for("A" * 64), "sha256": "A" * 64, "size": 1},
        {"key": key_for("a" * 64), "sha256": "a" * 64, "size": 0},
        {"key": key_for("a" * 64), "sha256": "a" * 64, "size": 1, "text": "log"},
    ],
)
def test_log_ref_rejects_keys_not_derived_from_the_hash(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LogRef.model_validate(fields)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"plain text, not gzip", "not a gzip payload"),
        (gzip.compress(b"{not json"), "not a JSON payload"),
        (gzip.compress(json.dumps({"format": "other/9", "data": {}}).encode()), "format 'other/9'"),
        (
            gzip.compress(json.dumps({"format": "workflowai-log/1", "kind": "baseline"}).encode()),
            "not a 'log'",
        ),
        (
            gzip.compress(
                json.dumps({"format": "workflowai-log/1", "kind": "log", "data": {}}).encode()
            ),
            "does not validate",
        ),
    ],
)
def test_unpack_log_refuses_anything_but_a_log_payload(payload: bytes, message: str) -> None:
    with pytest.raises(LogRefError, match=message):
        unpack_log(payload, max_unpacked_bytes=LIMIT)


def test_unpack_log_bounds_decompression() -> None:
    bomb = gzip.compress(b" " * (4 << 20))
    with pytest.raises(LogRefError, match="expands to more than"):
        unpack_log(bomb, max_unpacked_bytes=1 << 20)


def test_reredact_catches_what_an_older_client_missed() -> None:
    # a client that did not redact at all (old or modified): the worker still removes secrets
    unredacted = read_log(LOG.encode(), max_bytes=SETTINGS.max_log_bytes)
    log = unpack_log(pack_log(unredacted), max_unpacked_bytes=LIMIT)
    assert any(GH_TOKEN in line.text for line in log.lines.values())
    cleaned = reredact(log)
    assert not any(GH_TOKEN in line.text or AWS_KEY in line.text for line in cleaned.lines.values())
    assert sum(cleaned.redactions.values()) >= 2
    assert any("upgrade the client" in w for w in cleaned.warnings)


def test_reredact_leaves_a_client_redacted_log_unchanged() -> None:
    payload = prepare_log(LOG.encode(), SETTINGS)
    log = unpack_log(payload, max_unpacked_bytes=LIMIT)
    assert reredact(log) == log


def test_baseline_payload_holds_digests_only() -> None:
    passing = LOG.replace("npm ERR!", "added 12 packages;").encode()
    payload = prepare_baseline(passing, SETTINGS)
    body = gzip.decompress(payload)
    assert b"packages" not in body and GH_TOKEN.encode() not in body
    baseline = unpack_baseline(payload, max_unpacked_bytes=LIMIT)
    assert baseline.total_lines == 6 and baseline.contains("added 12 packages; code ERESOLVE")
    assert prepare_baseline(passing, SETTINGS) == payload


def test_prepare_log_refuses_an_empty_log_before_anything_is_sent() -> None:
    with pytest.raises(LogParseError, match="empty"):
        prepare_log(b"", SETTINGS)


def test_folder_store_is_private_and_prunes_old_blobs(store: FolderBlobStore) -> None:
    ref = upload(store, prepare_log(LOG.encode(), SETTINGS), max_bytes=1 << 20)
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.root / ref.key).stat().st_mode) == 0o600
    assert store.prune(3600) == 0  # fresh
    assert store.prune(0) == 1
    with pytest.raises(BlobNotFoundError):
        store.get(ref.key)


def test_prune_folder_keeps_recent_files(tmp_path: Path) -> None:
    old, new = tmp_path / "a" / "old.json", tmp_path / "new.json"
    old.parent.mkdir()
    for path in (old, new):
        path.write_text("{}")
    os.utime(old, (1_000_000, 1_000_000))
    assert prune_folder(tmp_path, 86_400) == 1
    assert not old.exists() and new.exists()


@pytest.mark.parametrize("key", ["../x", "logs/../../x", "/abs", "Logs/X", "logs//x", ""])
def test_check_key_refuses_keys_that_leave_the_root(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)
