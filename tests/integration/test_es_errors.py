"""How the Elasticsearch store translates engine answers into our errors.

FAULT INJECTION: a tiny HTTP server on 127.0.0.1 answers as an overloaded or broken node
would (429, 503, 400, bulk items rejected with 429), answers a real node cannot be made to
give on demand. The real node's behaviour is tested in test_es_store and test_es_faults.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.contract.test_store_contract import CORPUS
from workflowai.errors import BulkWriteError, StoreError, StoreUnavailableError, is_transient
from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore
from workflowai.settings import ElasticsearchSettings


class ScriptedNode(BaseHTTPRequestHandler):
    """Healthy on /_cluster/health, an index without `_meta` on /<index>/_mapping (the store
    reads how the index is stemmed before a write); every other request gets `status` and
    `body`."""

    status: ClassVar[int] = 200
    body: ClassVar[dict[str, Any]] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        if self.path.startswith("/_cluster/health"):
            status, body = 200, {"status": "green"}
        elif self.path.split("?")[0].endswith("/_mapping") and self.status == 200:
            status, body = 200, {"kb": {"mappings": {}}}
        else:
            status, body = self.status, self.body
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-elastic-product", "Elasticsearch")  # the client checks it
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def node() -> Iterator[tuple[str, type[ScriptedNode]]]:
    handler = type("Node", (ScriptedNode,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _store(url: str) -> ElasticsearchKnowledgeStore:
    settings = ElasticsearchSettings(url=url, max_retries=0, request_timeout_s=5)
    return ElasticsearchKnowledgeStore(settings, index="kb")


def _error(kind: str) -> dict[str, Any]:
    return {"error": {"type": kind, "reason": f"injected {kind}"}, "status": 0}


@pytest.mark.parametrize(
    ("status", "transient"),
    [(429, True), (503, True), (502, True), (400, False), (404, False), (500, False)],
)
def test_es_http_errors_become_store_errors(
    node: tuple[str, type[ScriptedNode]], status: int, transient: bool
) -> None:
    url, handler = node
    handler.status, handler.body = status, _error("injected_failure")
    with pytest.raises(StoreError) as raised:
        _store(url).count()
    assert isinstance(raised.value, StoreUnavailableError) is transient
    assert is_transient(raised.value) is transient
    assert f"HTTP {status}" in str(raised.value)


def _bulk_answer(statuses: list[int]) -> dict[str, Any]:
    items = []
    for chunk, status in zip(CORPUS, statuses, strict=False):
        result: dict[str, Any] = {"_id": chunk.chunk.id, "status": status}
        if status >= 300:
            result["error"] = {"type": "rejected", "reason": f"injected {status}"}
        items.append({"index": result})
    return {"took": 1, "errors": any(s >= 300 for s in statuses), "items": items}


@pytest.mark.parametrize(
    ("statuses", "error", "failed"),
    [
        ([201, 429, 201, 429], StoreUnavailableError, None),  # only throttling: retry later
        ([201, 400, 201, 429], BulkWriteError, [1, 3]),  # every failure named, none dropped
    ],
)
def test_es_bulk_item_failures(
    node: tuple[str, type[ScriptedNode]],
    statuses: list[int],
    error: type[StoreError],
    failed: list[int] | None,
) -> None:
    url, handler = node
    handler.status, handler.body = 200, _bulk_answer(statuses)
    with pytest.raises(error) as raised:
        _store(url).write(CORPUS[: len(statuses)])
    assert type(raised.value) is error
    if failed is not None:
        assert isinstance(raised.value, BulkWriteError)
        assert sorted(raised.value.failures) == sorted(CORPUS[i].chunk.id for i in failed)
        assert all("injected" in reason for reason in raised.value.failures.values())
