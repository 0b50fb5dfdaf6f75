"""Upload the jobs `trigger` prepared (already redacted and packed) to the log storage block.

The block is read from the Prefect server with the CLI's own connection (`flows.client`), so
the client writes where the workers will read; the writes themselves run outside the event
loop (block methods switch to their async variants inside one). Identical payloads (the same
baseline for every job) are uploaded once: they have the same content address.
"""

from __future__ import annotations

import asyncio

from flows.client import ApiTarget, connect
from tasks.log_storage import aload_blob_store
from workflowai.blobstore import BlobStore
from workflowai.logref import LogRef, upload
from workflowai.settings import Settings
from workflowai.trigger_inputs import PreparedJob, UploadedJob


async def _store(target: ApiTarget, settings: Settings) -> BlobStore:
    async with connect(target) as client:
        return await aload_blob_store(client, settings)


def upload_jobs(
    target: ApiTarget, settings: Settings, jobs: list[PreparedJob]
) -> list[UploadedJob]:
    """Each job's log (and baseline) in the log storage; their references, in job order.

    Raises:
        ApiUnreachableError: the Prefect API does not answer (nothing was uploaded).
        ConfigError: the log storage block is missing or not a writable filesystem.
        LogTooLargeError: a payload over the cap (checked again before each write).
    """
    store = asyncio.run(_store(target, settings))
    cap = settings.log_storage.max_bytes
    done: dict[bytes, LogRef] = {}

    def put(payload: bytes, what: str) -> LogRef:
        if payload not in done:
            done[payload] = upload(store, payload, max_bytes=cap, what=what)
        return done[payload]

    return [
        UploadedJob(
            name=job.name,
            log_ref=put(job.log, f"log of job {job.name!r}"),
            baseline_ref=put(job.baseline, "baseline") if job.baseline is not None else None,
        )
        for job in jobs
    ]
