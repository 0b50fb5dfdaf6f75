"""The input side of `workflowai trigger --file`: local files -> redacted payloads -> parameters.

Everything here runs on the machine that triggers (a CI runner), before anything is sent:
each `--file [NAME=]PATH` is normalized and redacted (`logpack.prepare_log`), compressed and
checked against the upload cap; each `--baseline [NAME=]PATH` becomes template digests. Job
names are redacted too (a job name is CI data). Uploading is the caller's (`flows/log_upload.py`,
which needs the Prefect block); `run_parameters` then builds the `analyze-run` parameters from
the references, so no log text is ever a parameter.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflowai.analysis.redact import Redactor
from workflowai.errors import ConfigError
from workflowai.logpack import prepare_baseline, prepare_log
from workflowai.logref import LogRef, check_size
from workflowai.settings import Settings

STDIN = "-"


@dataclass(frozen=True)
class FileSpec:
    """One `[NAME=]PATH` argument: a job name (None: not given) and a path (`-`: stdin)."""

    name: str | None
    path: str

    @property
    def job_name(self) -> str:
        if self.name:
            return self.name
        return "stdin" if self.path == STDIN else Path(self.path).stem or self.path


def parse_spec(spec: str) -> FileSpec:
    """`NAME=PATH` or `PATH` (a path that itself contains `=` works when the file exists).

    Raises ConfigError for an empty name or path.
    """
    name, sep, path = spec.partition("=")
    if not sep or Path(spec).is_file():
        return FileSpec(None, spec)
    if not name.strip() or not path:
        raise ConfigError(f"expected [NAME=]PATH, got {spec!r}")
    return FileSpec(name.strip(), path)


@dataclass(frozen=True)
class PreparedJob:
    """A job ready to upload: its redacted name and its packed payloads."""

    name: str
    log: bytes
    baseline: bytes | None = None


def _source(path: str) -> Path | Any:
    if path == STDIN:
        return sys.stdin.buffer  # read_log spools it to an anonymous temporary file
    source = Path(path)
    if not source.is_file():
        raise ConfigError(f"no such log file: {path}")
    return source


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _baselines(
    specs: Sequence[FileSpec], jobs: Sequence[str], settings: Settings
) -> list[bytes | None]:
    """The baseline payload of each job: its named one, else the unnamed one, else None."""
    named = {spec.name: spec for spec in specs if spec.name}
    unknown = sorted(set(named) - set(jobs))
    if unknown:
        raise ConfigError(f"--baseline names jobs that no --file has: {', '.join(unknown)}")
    unnamed = [spec for spec in specs if not spec.name]
    if len(unnamed) > 1:
        raise ConfigError("give at most one --baseline without a job name")
    packed: dict[str, bytes] = {}

    def payload(spec: FileSpec) -> bytes:
        if spec.path not in packed:
            packed[spec.path] = prepare_baseline(_source(spec.path), settings.analysis)
            check_size(packed[spec.path], settings.log_storage.max_bytes, f"baseline {spec.path}")
        return packed[spec.path]

    default = unnamed[0] if unnamed else None
    out: list[bytes | None] = []
    for job in jobs:
        spec = named.get(job, default)
        out.append(payload(spec) if spec is not None else None)
    return out


def prepare_jobs(
    files: Sequence[str], baselines: Sequence[str], settings: Settings
) -> list[PreparedJob]:
    """Each `--file` redacted and packed, with its baseline, all checked against the cap.

    Raises:
        ConfigError: a bad spec, a missing file, stdin used twice.
        LogParseError: an empty or binary log.
        LogTooLargeError: a payload over `settings.log_storage.max_bytes`.
    """
    specs = [parse_spec(spec) for spec in files]
    base_specs = [parse_spec(spec) for spec in baselines]
    if [s.path for s in [*specs, *base_specs]].count(STDIN) > 1:
        raise ConfigError("stdin (-) can be read only once")
    redactor = Redactor()
    names = _unique([redactor.redact_line(spec.job_name)[:200] for spec in specs])
    raw_names = [spec.name for spec in specs]
    # a baseline names the job as given on the command line (before redaction)
    by_given = [n or spec.job_name for n, spec in zip(raw_names, specs, strict=True)]
    jobs: list[PreparedJob] = []
    for name, spec in zip(names, specs, strict=True):
        payload = prepare_log(_source(spec.path), settings.analysis)
        check_size(payload, settings.log_storage.max_bytes, f"log of job {name!r}")
        jobs.append(PreparedJob(name=name, log=payload))
    base_payloads = _baselines(base_specs, by_given, settings)
    return [
        PreparedJob(name=job.name, log=job.log, baseline=base)
        for job, base in zip(jobs, base_payloads, strict=True)
    ]


@dataclass(frozen=True)
class UploadedJob:
    name: str
    log_ref: LogRef
    baseline_ref: LogRef | None = None


def run_parameters(jobs: Sequence[UploadedJob], options: dict[str, Any]) -> dict[str, Any]:
    """The `analyze-run` parameters: the jobs' references plus `--param` options, validated.

    Raises WorkflowTypeError when an option does not validate.
    """
    from workflowai.registry import validate_parameters

    raw = {
        **options,
        "jobs": [
            {
                "name": job.name,
                "log_ref": job.log_ref.model_dump(),
                **({"baseline_ref": job.baseline_ref.model_dump()} if job.baseline_ref else {}),
            }
            for job in jobs
        ],
    }
    return validate_parameters("analyze-run", raw).model_dump(mode="json", exclude_none=True)
