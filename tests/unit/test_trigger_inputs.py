"""`trigger --file`: specs, client-side redaction and packing, the cap, the run parameters."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from workflowai.errors import ConfigError, LogParseError, LogTooLargeError
from workflowai.logref import LogRef
from workflowai.settings import Settings
from workflowai.trigger_inputs import (
    FileSpec,
    UploadedJob,
    parse_spec,
    prepare_jobs,
    run_parameters,
)

GH_TOKEN = "ghp_" + "Zq8Xw2Lr5Tn9Vb3Kd7Mh1Pj4Fs6Gy0Ac2UeR"
LOG = (
    "##[group]Run npm ci\n"
    f"npm config set //registry.npmjs.org/:_authToken={GH_TOKEN}\n"
    "npm ERR! code ERESOLVE\n"
    "npm ERR! ERESOLVE unable to resolve dependency tree\n"
    "##[error]Process completed with exit code 1.\n"
)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    (tmp_path / "build-ubuntu.log").write_text(LOG)
    (tmp_path / "lint.txt").write_text(LOG.replace("ERESOLVE", "E501 line too long"))
    (tmp_path / "green.log").write_text(LOG.replace("npm ERR!", "added 3 packages"))
    (tmp_path / "a=b.log").write_text(LOG)
    (tmp_path / "empty.log").write_text("")
    return tmp_path


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("build.log", FileSpec(None, "build.log")),
        ("build (ubuntu, 3.11)=logs/1.txt", FileSpec("build (ubuntu, 3.11)", "logs/1.txt")),
        ("lint=-", FileSpec("lint", "-")),
        ("-", FileSpec(None, "-")),
    ],
)
def test_parse_spec_reads_an_optional_job_name(spec: str, expected: FileSpec) -> None:
    assert parse_spec(spec) == expected


def test_parse_spec_takes_an_existing_file_with_equals_as_a_path(logs: Path) -> None:
    spec = parse_spec(str(logs / "a=b.log"))
    assert spec == FileSpec(None, str(logs / "a=b.log")) and spec.job_name == "a=b"


@pytest.mark.parametrize("spec", ["=x.log", " =x.log", "name="])
def test_parse_spec_refuses_an_empty_name_or_path(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_spec(spec)


def test_prepare_jobs_redacts_logs_and_names_on_the_client(logs: Path) -> None:
    jobs = prepare_jobs(
        [
            f"deploy {GH_TOKEN}={logs / 'build-ubuntu.log'}",
            str(logs / "lint.txt"),
            str(logs / "build-ubuntu.log"),
        ],
        [],
        Settings(),
    )
    assert [job.name for job in jobs][1:] == ["lint", "build-ubuntu"]
    assert GH_TOKEN not in jobs[0].name and "REDACTED" in jobs[0].name
    for job in jobs:
        body = gzip.decompress(job.log)
        assert GH_TOKEN.encode() not in body and b"npm ERR!" in body


def test_prepare_jobs_pairs_baselines_by_job_name(logs: Path) -> None:
    green = str(logs / "green.log")
    jobs = prepare_jobs(
        [f"build={logs / 'build-ubuntu.log'}", str(logs / "lint.txt")],
        [f"build={green}"],
        Settings(),
    )
    assert jobs[0].baseline is not None and jobs[1].baseline is None
    both = prepare_jobs(
        [str(logs / "build-ubuntu.log"), str(logs / "lint.txt")], [green], Settings()
    )
    assert both[0].baseline == both[1].baseline is not None


def test_prepare_jobs_numbers_repeated_job_names(logs: Path) -> None:
    jobs = prepare_jobs(
        [f"test={logs / 'lint.txt'}", f"test={logs / 'build-ubuntu.log'}"], [], Settings()
    )
    assert [job.name for job in jobs] == ["test", "test (2)"]


@pytest.mark.parametrize(
    ("files", "baselines", "error", "message"),
    [
        (["missing.log"], [], ConfigError, "no such log file"),
        (["empty.log"], [], LogParseError, "empty"),
        (["-", "x=-"], [], ConfigError, "stdin"),
        (["lint.txt"], ["nope=green.log"], ConfigError, "nope"),
        (["lint.txt"], ["green.log", "lint.txt"], ConfigError, "at most one --baseline"),
    ],
)
def test_prepare_jobs_refuses_bad_input_before_anything_is_sent(
    logs: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: list[str],
    baselines: list[str],
    error: type[Exception],
    message: str,
) -> None:
    monkeypatch.chdir(logs)
    with pytest.raises(error, match=message):
        prepare_jobs(files, baselines, Settings())


def test_prepare_jobs_checks_the_cap_on_the_client(logs: Path) -> None:
    settings = Settings.model_validate({"log_storage": {"max_bytes": 64}})
    with pytest.raises(LogTooLargeError, match="over the 64-byte cap"):
        prepare_jobs([str(logs / "lint.txt")], [], settings)


def test_run_parameters_hold_references_sizes_and_hashes_only(logs: Path) -> None:
    (job,) = prepare_jobs([f"build={logs / 'build-ubuntu.log'}"], [], Settings())
    ref = LogRef.of(job.log)
    params = run_parameters([UploadedJob(job.name, ref)], {"top_k": 3})
    assert params["jobs"] == [{"name": "build", "log_ref": ref.model_dump()}]
    assert params["top_k"] == 3
    text = json.dumps(params)
    assert "ERESOLVE" not in text and GH_TOKEN not in text
