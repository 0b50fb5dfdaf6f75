"""What stays on a machine stays private: the local stack's folder, and a warning when
Elasticsearch credentials would cross the network in clear text."""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import pytest
from pydantic import SecretStr

from workflowai.knowledge.elasticsearch_store import InsecureTransportWarning, build_client
from workflowai.local_stack import make_private
from workflowai.settings import ElasticsearchSettings


def test_make_private_creates_or_tightens_the_stack_folder(tmp_path: Path) -> None:
    fresh = make_private(tmp_path / "home" / "stack")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    existing = tmp_path / "shared"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    make_private(existing)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o700


KEY = SecretStr("VnVhQ2ZHY0JDZGJrU" + "W0zQmJfV1k6dWkybHAyYXhUTm1zeUFrMTlF")


@pytest.mark.parametrize(
    ("url", "fields", "warns"),
    [
        ("http://es.internal:9200", {"api_key": KEY}, True),
        ("http://10.0.0.5:9200", {"username": "elastic", "password": SecretStr("pw-1234")}, True),
        ("HTTP://es.internal:9200", {"api_key": KEY}, True),
        ("https://es.internal:9200", {"api_key": KEY}, False),
        ("http://127.0.0.1:9200", {}, False),  # no credentials: nothing to leak
    ],
)
def test_credentials_over_plain_http_warn(url: str, fields: dict[str, object], warns: bool) -> None:
    settings = ElasticsearchSettings(url=url, **fields)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_client(settings).close()
    found = [w for w in caught if issubclass(w.category, InsecureTransportWarning)]
    assert bool(found) == warns
    if warns:
        assert "clear text" in str(found[0].message)
        assert KEY.get_secret_value() not in str(found[0].message)
