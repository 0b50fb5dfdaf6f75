"""Elasticsearch fixtures for the integration tests.

`es_url`: the shared node `scripts/es-start.sh` starts (default http://127.0.0.1:9200, or
WORKFLOWAI_TEST_ES_URL); a test that needs it fails, not skips, when the node does not answer.
`private_es_node`: a node of our own on another port (started and stopped with the same
scripts), for tests that kill or freeze the engine without disturbing anyone else's node.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ES_URL = os.environ.get("WORKFLOWAI_TEST_ES_URL", "http://127.0.0.1:9200")
PRIVATE_PORT = os.environ.get("WORKFLOWAI_TEST_ES_PRIVATE_PORT")  # default: a free port


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def node_answers(url: str) -> bool:
    # the integ-test-zip has no rest-root module (GET / answers 405): ask for cluster health
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def es_url() -> str:
    if not node_answers(ES_URL):
        pytest.fail(
            f"no Elasticsearch node answers at {ES_URL}: start it with scripts/es-start.sh",
            pytrace=False,
        )
    return ES_URL


@dataclass
class EsNode:
    """A node this test session started; killed, frozen and restarted only by its own PID."""

    port: int
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _script(self, name: str) -> str:
        result = subprocess.run(
            ["bash", str(REPO / "scripts" / name)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{name} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def start(self) -> str:
        return self._script("es-start.sh")

    def stop(self) -> str:
        return self._script("es-stop.sh")

    @property
    def pid(self) -> int:
        return int((Path(self.env["ES_RUN_DIR"]) / "es.pid").read_text().strip())


@pytest.fixture(scope="module")
def private_es_node() -> Iterator[EsNode]:
    # data, logs and PID file in a world-traversable place: as root the node runs as its own user
    # a port (and so a run dir) of its own: parallel test sessions must not share a node
    port = int(PRIVATE_PORT) if PRIVATE_PORT else free_port()
    run_dir = Path(tempfile.gettempdir()) / f"workflowai-es-test-{port}"
    env = {**os.environ, "ES_PORT": str(port), "ES_RUN_DIR": str(run_dir)}
    node = EsNode(port=port, env=env)
    node.start()
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(run_dir, ignore_errors=True)  # its data was only this session's
