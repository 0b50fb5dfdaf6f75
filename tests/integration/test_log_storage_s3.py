"""The remote log storage kind against a real S3-compatible server on 127.0.0.1.

The server is moto's server mode (`moto[server]`, a dev dependency), started as a child process
on a free port and stopped by its PID. The block is Prefect's own RemoteFileSystem over fsspec
(`s3fs`), exactly what a team configures as `remote-file-system/<name>`; credentials are the
server's dummy ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflowai.blobstore import BlobNotFoundError
from workflowai.errors import LogIntegrityError
from workflowai.local_stack import free_port
from workflowai.logpack import open_log, prepare_log
from workflowai.logref import LogRef, fetch, upload
from workflowai.settings import Settings

pytest.importorskip("s3fs")
pytest.importorskip("moto")
pytestmark = pytest.mark.integration

BUCKET = "workflowai-logs"
TOKEN = "ghp_" + "Zq8Xw2Lr5Tn9Vb3Kd7Mh1Pj4Fs6Gy0Ac2UeR"
LOG = (
    "##[group]Run npm ci\n"
    f"git clone https://x-access-token:{TOKEN}@github.com/acme/app\n"
    "npm ERR! code ERESOLVE\n"
    "npm ERR! ERESOLVE unable to resolve dependency tree\n"
    "##[error]Process completed with exit code 1.\n"
)


@pytest.fixture(scope="module")
def s3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except (urllib.error.URLError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture
def block(s3_url: str) -> object:
    from prefect.filesystems import RemoteFileSystem

    block = RemoteFileSystem(
        basepath=f"s3://{BUCKET}/ci",
        settings={
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": s3_url, "region_name": "eu-west-1"},
            "skip_instance_cache": True,
        },
    )
    if not block.filesystem.exists(BUCKET):
        block.filesystem.mkdir(BUCKET)
    return block


@pytest.fixture
def store(block: object) -> object:
    from tasks.log_storage import BlockBlobStore, store_for_block

    store = store_for_block(block, "remote-file-system/test")
    assert isinstance(store, BlockBlobStore)
    return store


def test_remote_storage_round_trips_a_redacted_log(store: object, block: object) -> None:
    settings = Settings()
    ref = upload(store, prepare_log(LOG.encode(), settings.analysis), max_bytes=1 << 20)
    keys = block.filesystem.find(f"{BUCKET}/ci")  # type: ignore[attr-defined]
    assert keys == [f"{BUCKET}/ci/{ref.key}"]
    stored = block.filesystem.cat_file(keys[0])  # type: ignore[attr-defined]
    assert TOKEN.encode() not in stored
    log = open_log(store, ref, settings)
    texts = [line.text for line in log.lines.values()]
    assert "npm ERR! ERESOLVE unable to resolve dependency tree" in texts
    assert not any(TOKEN in text for text in texts)


def test_remote_storage_refuses_a_replaced_object(store: object, block: object) -> None:
    ref = upload(store, prepare_log(LOG.encode(), Settings().analysis), max_bytes=1 << 20)
    block.filesystem.pipe_file(f"{BUCKET}/ci/{ref.key}", b"\x1f\x8b tampered")  # type: ignore[attr-defined]
    with pytest.raises(LogIntegrityError):
        fetch(store, ref, max_bytes=1 << 20)


def test_remote_storage_reports_a_missing_object(store: object) -> None:
    with pytest.raises(BlobNotFoundError):
        fetch(store, LogRef.of(b"never uploaded"), max_bytes=1 << 20)


def test_remote_storage_prunes_by_age(store: object, tmp_path: Path) -> None:
    ref = upload(store, prepare_log(LOG.encode(), Settings().analysis), max_bytes=1 << 20)
    assert store.prune(3600) == 0  # type: ignore[attr-defined]
    assert store.prune(0) >= 1  # type: ignore[attr-defined]
    with pytest.raises(BlobNotFoundError):
        fetch(store, ref, max_bytes=1 << 20)
