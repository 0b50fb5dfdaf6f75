"""Elasticsearch bodies of the history backend as pure functions (the store does I/O).

Two indices: `<prefix>-runs` (one document per analyzed failure or recorded success, the
record's JSON) and `<prefix>-decisions` (confirmed causes and rejected matches). One shard
each, so the terms aggregation behind `stats` counts exactly.
"""

from __future__ import annotations

from typing import Any

from workflowai.history.models import CauseDecision, RunQuery, RunRecord, SignatureStats

MAX_VALUES = 20
_KEYWORD = {"type": "keyword"}
_STORED = {"type": "keyword", "index": False, "doc_values": False}
_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}


def runs_index_body() -> dict[str, Any]:
    context = {
        name: _KEYWORD
        for name in ("repository", "branch", "commit", "job", "provider", "default_branch")
    }
    context["attempt"] = {"type": "integer"}
    context["run_url"] = _STORED
    return {
        "settings": _SETTINGS,
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "id": _KEYWORD,
                "outcome": _KEYWORD,
                "recorded_at": {"type": "date"},
                "context": {"properties": context},
                "on_default_branch": {"type": "boolean"},
                "fingerprint": _KEYWORD,
                "failure_signature": _KEYWORD,
                "signature_text": {"type": "text", "index": False},
                "category": _KEYWORD,
                "summary": {"type": "text", "index": False},
                "ecosystem": _KEYWORD,
                "finding_fingerprints": _KEYWORD,
                "finding_lines": {"type": "text", "index": False},
                "cited_entries": _KEYWORD,
            },
        },
    }


def decisions_index_body() -> dict[str, Any]:
    return {
        "settings": _SETTINGS,
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "fingerprint": _KEYWORD,
                "entry_id": _KEYWORD,
                "rejected": {"type": "boolean"},
                "decided_at": {"type": "date"},
                "failure_signature": _KEYWORD,
                "title": {"type": "text", "index": False},
                "cause": {"type": "text", "index": False},
                "fix": {"type": "text", "index": False},
                "document_id": _STORED,
                "chunk_id": _STORED,
                "source": _STORED,
            },
        },
    }


def run_document(run: RunRecord) -> dict[str, Any]:
    return run.model_dump(mode="json")


def decision_document(decision: CauseDecision) -> dict[str, Any]:
    return decision.model_dump(mode="json")


def run_filter(query: RunQuery) -> dict[str, Any]:
    """A bool filter for every set field of `query` (match_all when none is)."""
    filters: list[dict[str, Any]] = []
    terms = {
        "fingerprint": query.fingerprint,
        "failure_signature": query.failure_signature,
        "context.repository": query.repository,
        "context.job": query.job,
        "outcome": query.outcome.value if query.outcome else None,
        "on_default_branch": query.on_default_branch,
    }
    filters += [{"term": {field: value}} for field, value in terms.items() if value is not None]
    if query.commits is not None:
        filters.append({"terms": {"context.commit": list(query.commits)}})
    span: dict[str, str] = {}
    if query.since is not None:
        span["gte"] = query.since.isoformat()
    if query.until is not None:
        span["lt"] = query.until.isoformat()
    if span:
        filters.append({"range": {"recorded_at": span}})
    return {"bool": {"filter": filters}} if filters else {"match_all": {}}


def find_runs_body(query: RunQuery) -> dict[str, Any]:
    return {
        "query": run_filter(query),
        "sort": [{"recorded_at": "desc"}, {"id": "asc"}],
        "size": query.limit,
    }


def stats_body(query: RunQuery) -> dict[str, Any]:
    base = run_filter(query)
    filters = base["bool"]["filter"] if "bool" in base else []
    values = {"size": MAX_VALUES, "order": {"_key": "asc"}}
    return {
        "size": 0,
        "query": {"bool": {"filter": [*filters, {"exists": {"field": "fingerprint"}}]}},
        "aggs": {
            "fingerprints": {
                "terms": {
                    "field": "fingerprint",
                    "size": query.limit,
                    "order": [{"_count": "desc"}, {"last_seen": "desc"}, {"_key": "asc"}],
                },
                "aggs": {
                    "first_seen": {"min": {"field": "recorded_at"}},
                    "last_seen": {"max": {"field": "recorded_at"}},
                    "jobs": {"terms": {"field": "context.job", **values}},
                    "branches": {"terms": {"field": "context.branch", **values}},
                    "repositories": {"terms": {"field": "context.repository", **values}},
                    "latest": {
                        "top_hits": {"size": 1, "sort": [{"recorded_at": "desc"}, {"id": "asc"}]}
                    },
                },
            }
        },
    }


def stats_from_response(response: Any) -> list[SignatureStats]:
    out: list[SignatureStats] = []
    for bucket in response["aggregations"]["fingerprints"]["buckets"]:
        latest = RunRecord.model_validate(bucket["latest"]["hits"]["hits"][0]["_source"])
        out.append(
            SignatureStats(
                fingerprint=bucket["key"],
                count=int(bucket["doc_count"]),
                first_seen=bucket["first_seen"]["value_as_string"],
                last_seen=bucket["last_seen"]["value_as_string"],
                jobs=[b["key"] for b in bucket["jobs"]["buckets"]],
                branches=[b["key"] for b in bucket["branches"]["buckets"]],
                repositories=[b["key"] for b in bucket["repositories"]["buckets"]],
                signature_text=latest.signature_text,
                summary=latest.summary,
                category=latest.category,
            )
        )
    return out


def decisions_body(key: str) -> dict[str, Any]:
    return {
        "query": {
            "bool": {
                "should": [
                    {"term": {"fingerprint": key}},
                    {"term": {"failure_signature": key}},
                ],
                "minimum_should_match": 1,
            }
        },
        "sort": [{"decided_at": "desc"}, {"entry_id": "asc"}],
        "size": 1000,
    }
