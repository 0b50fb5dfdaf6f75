"""BM25 analyzer and title-boost choice for the Elasticsearch backend, by measurement.

Indexes the SciFact corpus (5,183 abstracts, title + text) once per analyzer that the minimal
integ-test distribution offers (`es_queries.ANALYZERS`; no stemmers there), runs the 809
train claims through `es_queries.keyword_query` at several title boosts and prints nDCG@10 and
recall@100. Needs the node from scripts/es-start.sh; temporary indices are deleted afterwards.

    .venv/bin/python bench/es_bm25_analyzer.py
    .venv/bin/python bench/es_bm25_analyzer.py --analyzers standard --stemming none,client \
        --types combined_fields --boosts 1.5

Measured 2026-11-24 (ES 8.19.21 integ-test-zip, SciFact train, 809 queries; boosts 0.5,1,1.5,2):
    analyzer       type             boost  nDCG@10   R@100
    standard       most_fields        0.5   0.6683  0.9031
    standard       most_fields          1   0.6481  0.9044
    standard       most_fields          2   0.5978  0.8785
    standard       combined_fields      1   0.6695  0.9081
    standard       combined_fields    1.5   0.6723  0.9081
    standard       combined_fields      2   0.6702  0.9075
    standard_stop  combined_fields    1.5   0.6732  0.9093
    standard_stop  combined_fields      2   0.6741  0.9093
-> combined_fields (BM25F) with title^1.5 on `standard`. Summing per-field scores
(most_fields) over-weights the short title; stop-word removal is within noise here and would
drop "not"/"no" from CI errors ("command not found", "no such file"), so no stop filter.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import uuid
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from elasticsearch import helpers  # noqa: E402

from workflowai.knowledge import es_queries as q  # noqa: E402
from workflowai.knowledge.elasticsearch_store import build_client  # noqa: E402
from workflowai.knowledge.stemming import stem_text  # noqa: E402
from workflowai.settings import ElasticsearchSettings, Stemming  # noqa: E402

SCIFACT = REPO.parent / "shared" / "eval" / "scifact"


def read_jsonl(path: Path) -> list[dict]:
    with path.open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_qrels(path: Path) -> dict[str, set[str]]:
    qrels: dict[str, set[str]] = defaultdict(set)
    for line in path.read_text().splitlines()[1:]:
        query_id, doc_id, score = line.split("\t")
        if int(score) > 0:
            qrels[query_id].add(doc_id)
    return qrels


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    return dcg / ideal if ideal else 0.0


def _stems(doc: dict) -> dict[str, str]:
    return {"title_stem": stem_text(doc["title"]), "text_stem": stem_text(doc["text"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:9200")
    parser.add_argument("--boosts", default="0.5,1,2")
    parser.add_argument("--types", default=",".join(sorted(q.MATCH_TYPES)))
    parser.add_argument(
        "--stemming",
        default="none",
        help="comma-separated: none, client (stems made here), english (needs the analyzer)",
    )
    parser.add_argument("--analyzers", default=",".join(q.ANALYZERS))
    args = parser.parse_args()
    client = build_client(ElasticsearchSettings(url=args.url, request_timeout_s=120))
    corpus = read_jsonl(SCIFACT / "corpus.jsonl")
    qrels = read_qrels(SCIFACT / "qrels" / "train.tsv")
    queries = {r["_id"]: r["text"] for r in read_jsonl(SCIFACT / "queries.jsonl")}
    query_ids = sorted(qrels)
    print(f"{'analyzer':<14} {'stemming':<9} {'type':<16} {'boost':>5} {'nDCG@10':>8} {'R@100':>7}")
    combos = [
        (analyzer, Stemming(mode))
        for analyzer in args.analyzers.split(",")
        for mode in args.stemming.split(",")
    ]
    for analyzer, stemming in combos:
        index = f"bench-bm25-{analyzer.replace('_', '-')}-{stemming}-{uuid.uuid4().hex[:8]}"
        body = q.index_body(model="none", dim=2, analyzer=analyzer, stemming=stemming)
        client.indices.create(index=index, **body)
        try:
            helpers.bulk(
                client,
                (
                    {
                        "_index": index,
                        "_id": d["_id"],
                        "_source": {
                            "document_id": d["_id"],
                            "title": d["title"],
                            "text": d["text"],
                            **(_stems(d) if stemming is Stemming.CLIENT else {}),
                        },
                    }
                    for d in corpus
                ),
                chunk_size=500,
            )
            client.indices.refresh(index=index)
            grid = [
                (match_type, float(b))
                for match_type in args.types.split(",")
                for b in args.boosts.split(",")
                if match_type == "most_fields" or float(b) >= 1  # combined_fields: boost >= 1
            ]
            for match_type, boost in grid:
                ndcg, recall = [], []
                for start in range(0, len(query_ids), 100):
                    batch = query_ids[start : start + 100]
                    searches: list[dict] = []
                    for qid in batch:
                        body = q.keyword_query(
                            queries[qid], top_k=100, title_boost=boost, match_type=match_type,
                            stemming=stemming,
                        )  # fmt: skip
                        body["_source"] = ["document_id"]
                        searches.extend([{"index": index}, body])
                    responses = client.msearch(searches=searches)["responses"]
                    for qid, response in zip(batch, responses, strict=True):
                        ranked = [h["_id"] for h in response["hits"]["hits"]]
                        ndcg.append(ndcg_at_10(ranked, qrels[qid]))
                        recall.append(len(set(ranked) & qrels[qid]) / len(qrels[qid]))
                print(
                    f"{analyzer:<14} {stemming.value:<9} {match_type:<16} {boost:>5g} "
                    f"{sum(ndcg) / len(ndcg):>8.4f} {sum(recall) / len(recall):>7.4f}",
                    flush=True,
                )
        finally:
            client.indices.delete(index=index, ignore_unavailable=True)


if __name__ == "__main__":
    main()
