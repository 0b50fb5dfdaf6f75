"""prefect.yaml agrees with the registry: one deployment per type, pools, schedule, pull step.

The file is also applied for real by `prefect deploy` in tests/integration/test_prefect_e2e.py.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflowai.pool_templates import locked_process_template, template_problems
from workflowai.registry import WORKFLOW_TYPES
from workflowai.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SUFFIX = "{{ $WORKFLOWAI_PREFECT__DEPLOYMENT_SUFFIX }}"
GPU_TYPES = {"generate"}
# extra deployments of a type: the same flow on another pool (analyses that use the model)
VARIANTS = {
    "analyze-log-model": ("analyze-log", "gpu"),
    "analyze-run-model": ("analyze-run", "gpu"),
}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return yaml.safe_load((REPO / "prefect.yaml").read_text())


def _deployment(config: dict[str, Any], workflow_type: str) -> dict[str, Any]:
    matches = [d for d in config["deployments"] if d["name"] == f"{workflow_type}-{SUFFIX}"]
    assert len(matches) == 1, f"expected one deployment for {workflow_type}"
    return matches[0]


def test_prefect_yaml_has_one_deployment_per_workflow_type(config: dict[str, Any]) -> None:
    names = sorted(d["name"] for d in config["deployments"])
    assert names == sorted(f"{t}-{SUFFIX}" for t in [*WORKFLOW_TYPES, *VARIANTS])


def test_only_analyses_with_a_model_wait_for_a_gpu_worker(config: dict[str, Any]) -> None:
    from flows.client import deployment_name

    pools = config["definitions"]["work_pools"]
    assert _deployment(config, "analyze-log")["work_pool"] is pools["cpu"]
    (model,) = [d for d in config["deployments"] if d["name"] == f"analyze-log-model-{SUFFIX}"]
    assert model["work_pool"] is pools["gpu"]
    assert model["entrypoint"] == WORKFLOW_TYPES["analyze-log"].entrypoint
    settings = Settings()
    assert deployment_name("analyze-log", settings, {"log_text": "x"}) == (
        "analyze-log/analyze-log-default"
    )
    for flag in ("use_model", "agent"):
        assert deployment_name("analyze-log", settings, {"log_text": "x", flag: True}) == (
            "analyze-log/analyze-log-model-default"
        )
    assert deployment_name("generate", settings, {"use_model": True}) == "generate/generate-default"


@pytest.mark.parametrize("workflow_type", sorted(WORKFLOW_TYPES))
def test_prefect_yaml_deployment_matches_registry(
    config: dict[str, Any], workflow_type: str
) -> None:
    deployment = _deployment(config, workflow_type)
    assert deployment["entrypoint"] == WORKFLOW_TYPES[workflow_type].entrypoint
    assert deployment["description"].strip()
    assert "workflowai" in deployment["tags"]
    pool = "gpu" if workflow_type in GPU_TYPES else "cpu"
    # the anchor: the same object as the definition, not a copy that could drift
    assert deployment["work_pool"] is config["definitions"]["work_pools"][pool]


@pytest.mark.parametrize("workflow_type", sorted(WORKFLOW_TYPES))
def test_prefect_yaml_entrypoint_is_the_flow_with_typed_params(workflow_type: str) -> None:
    from prefect.utilities.callables import parameter_schema

    spec = WORKFLOW_TYPES[workflow_type]
    assert (REPO / spec.entrypoint.split(":")[0]).exists()
    flow = getattr(importlib.import_module(spec.module), spec.function)
    assert flow.name == workflow_type
    schema = parameter_schema(flow).model_dump_for_openapi()
    assert list(schema["properties"]) == ["params"]
    assert schema["required"] == ["params"]
    # the UI renders a form from the model's own definition
    assert spec.params_model.__name__ in schema["definitions"]


def test_prefect_yaml_reindex_runs_on_the_shared_cron_schedule(config: dict[str, Any]) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    reindex = _deployment(config, "reindex")
    nightly = config["definitions"]["schedules"]["nightly_reindex"]
    assert reindex["schedules"] == [nightly]
    assert reindex["schedules"][0] is nightly
    assert nightly["cron"] == "{{ $WORKFLOWAI_REINDEX__CRON }}"
    # the defaults `workflowai setup` fills in are a valid schedule
    defaults = Settings().reindex
    schedule = CronSchedule(cron=defaults.cron, timezone=defaults.timezone)
    assert schedule.cron == "0 3 * * *"
    assert reindex["parameters"] == {"params": {}}
    digest = _deployment(config, "failure-digest")
    others = [d for d in config["deployments"] if d is not reindex and d is not digest]
    assert all(d["schedules"] == [] for d in others)


def test_prefect_yaml_failure_digest_runs_on_its_cron_schedule(config: dict[str, Any]) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    digest = _deployment(config, "failure-digest")
    daily = config["definitions"]["schedules"]["daily_digest"]
    assert digest["schedules"][0] is daily
    assert daily["cron"] == "{{ $WORKFLOWAI_HISTORY__DIGEST_CRON }}"
    defaults = Settings().history
    assert CronSchedule(cron=defaults.digest_cron, timezone=defaults.digest_timezone)
    assert digest["parameters"] == {"params": {}}


def test_prefect_yaml_runs_start_in_the_repository(config: dict[str, Any]) -> None:
    (step,) = config["pull"]
    directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == "{{ prefect.variables.workflowai_repo_dir }}"


def test_prefect_yaml_uses_anchors_for_pools_and_schedules() -> None:
    text = (REPO / "prefect.yaml").read_text()
    variant_pools = [pool for _, pool in VARIANTS.values()]
    assert text.count("*gpu_pool") == len(GPU_TYPES) + variant_pools.count("gpu")
    assert text.count("*cpu_pool") == len(WORKFLOW_TYPES) - len(GPU_TYPES)
    assert text.count("*nightly_reindex") == 1
    assert text.count("*daily_digest") == 1


def test_prefect_yaml_pools_set_no_job_variables(config: dict[str, Any]) -> None:
    # the pools' templates refuse them; settings come from the workers and the flows
    for pool in config["definitions"]["work_pools"].values():
        assert "job_variables" not in pool
    assert all("job_variables" not in d for d in config["deployments"])


@pytest.mark.parametrize("workflow_type", sorted(WORKFLOW_TYPES))
def test_every_flow_persists_its_result_as_json(workflow_type: str) -> None:
    # what the pools' env used to set: `trigger --format json` reads the persisted result
    spec = WORKFLOW_TYPES[workflow_type]
    flow = getattr(importlib.import_module(spec.module), spec.function)
    assert flow.persist_result is True
    assert flow.result_serializer == "json"


def _kubernetes_template(pool: str) -> dict[str, Any]:
    path = REPO / "deployments" / "kubernetes" / f"{pool}-base-job-template.json"
    return json.loads(path.read_text())


@pytest.mark.parametrize("pool", ["cpu", "gpu"])
def test_kubernetes_job_template_declares_every_placeholder(pool: str) -> None:
    template = _kubernetes_template(pool)
    used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", json.dumps(template["job_configuration"])))
    declared = set(template["variables"]["properties"])
    assert used <= declared, used - declared
    container = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    limits = container["resources"]["limits"]
    assert ("nvidia.com/gpu" in limits) == (pool == "gpu")


@pytest.mark.parametrize("pool", ["cpu", "gpu"])
def test_kubernetes_job_template_is_locked_against_run_callers(pool: str) -> None:
    template = _kubernetes_template(pool)
    assert template_problems(template) == []
    container = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    # fixed values are literals, the command is the worker's own (no args in the manifest)
    assert "{{" not in container["image"]
    assert "args" not in container and "command" not in container
    assert isinstance(container["env"], list)
    secrets = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert "PREFECT_API_AUTH_STRING" in secrets


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        (None, "no base job template"),
        (
            {"job_configuration": {"command": "{{ command }}"}, "variables": {"properties": {}}},
            "additionalProperties",
        ),
        (
            {
                "job_configuration": {"env": "{{ env }}"},
                "variables": {
                    "properties": {"env": {"type": "object"}},
                    "additionalProperties": False,
                },
            },
            "declares job variables env",
        ),
        (
            # undeclared, but the worker fills any placeholder from the run's job variables
            {
                "job_configuration": {"image": "{{ image }}"},
                "variables": {"properties": {}, "additionalProperties": False},
            },
            "fills image",
        ),
        (
            {
                "job_configuration": {"env": {"WORKFLOWAI_HOME": "/data"}},
                "variables": {"properties": {}, "additionalProperties": False},
            },
            "merges a run's env",
        ),
    ],
)
def test_template_problems_names_what_a_caller_could_change(
    template: dict[str, Any] | None, problem: str
) -> None:
    assert any(problem in p for p in template_problems(template)), template_problems(template)


def test_prefects_default_process_template_is_not_locked_and_ours_is() -> None:
    from prefect.workers.process import ProcessWorker

    problems = template_problems(ProcessWorker.get_default_base_job_template())
    assert any("command" in p and "env" in p for p in problems)
    assert template_problems(locked_process_template()) == []
