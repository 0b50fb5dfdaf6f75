"""The history workflows: `record-success`, `confirm-cause` and the scheduled `failure-digest`.

`analyze-log` records every failure itself (tasks.history.record_history); these three add
what people and schedules know: a job passed, a cause is confirmed (or a match is wrong), and
what failed most this week.
"""

from __future__ import annotations

from prefect import flow

from flows.results import PERSIST_JSON
from tasks.history import collect_digest, confirm_or_reject, publish_digest, record_success_run
from workflowai.history.digest import Digest
from workflowai.history.models import CauseDecision, RunRecord
from workflowai.params import ConfirmCauseParams, FailureDigestParams, RecordSuccessParams
from workflowai.settings import Settings


@flow(name="record-success", flow_run_name="record-success-{params.run_label}", **PERSIST_JSON)
def record_success_flow(params: RecordSuccessParams) -> RunRecord:
    return record_success_run(params, Settings())


@flow(name="confirm-cause", flow_run_name="confirm-cause-{params.run_label}", **PERSIST_JSON)
def confirm_cause_flow(params: ConfirmCauseParams) -> CauseDecision:
    return confirm_or_reject(params, Settings())


@flow(name="failure-digest", flow_run_name="failure-digest-{params.run_label}", **PERSIST_JSON)
def failure_digest_flow(params: FailureDigestParams) -> Digest:
    digest = collect_digest(params, Settings())
    publish_digest(digest)
    return digest
