"""Load benchmark: N concurrent analyze-log runs through the Prefect API, on SQLite and PostgreSQL.

For each database, one local server (127.0.0.1) with `workflowai setup` applied and a process
worker per pool; a warm-up run indexes the starter knowledge base, then for each N all runs are
created at once (create_flow_run_from_deployment) and polled until final. Prints completed /
lost counts and p50/p95 seconds from trigger to completion (the server's end time).

PostgreSQL is a private cluster: `initdb` in a temp dir as the `postgres` user (the server
refuses root), 127.0.0.1 on a free port, trust auth, stopped by its postmaster PID afterwards.

    .venv/bin/python bench/trigger_load.py --sizes 10,50 --db sqlite,postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workflowai.local_stack import LocalStack, free_port  # noqa: E402
from workflowai.settings import Settings  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
LOG = (
    "Step 4/9: pip install -r requirements.txt\n"
    "Collecting numpy==1.19.5\n"
    "ERROR: Could not find a version that satisfies the requirement numpy==1.19.5\n"
    "ERROR: No matching distribution found for numpy==1.19.5\n"
    "##[error]Process completed with exit code 1.\n"
)


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A private PostgreSQL on 127.0.0.1; yields the asyncpg URL; stops it by PID, removes it."""
    # its own top-level temp dir: the postgres user must be able to reach it
    root = Path(tempfile.mkdtemp(prefix="workflowai-pg-"))
    data = root / "pgdata"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = free_port()
    init = subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr[-2000:]}")
    server = subprocess.Popen(
        _as_postgres(
            [
                str(PG_BIN / "postgres"),
                "-D", str(data),
                "-p", str(port),
                "-c", "listen_addresses=127.0.0.1",
                "-c", f"unix_socket_directories={root}",
                "-c", "max_connections=200",
                "-c", "fsync=off",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(100):
            ready = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run(
            _as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "prefect"]),
            check=True,
        )
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/prefect"
    finally:
        pid_file = data / "postmaster.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)  # fast shutdown
        server.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _params(workflow: str, i: int, n: int, home: Path) -> dict[str, object]:
    if workflow == "search":
        return {"query": f"npm ERESOLVE peer dependency {i}", "top_k": 3}
    # logs travel by reference: redacted and uploaded to the local log storage setup created
    from workflowai.blobstore import FolderBlobStore
    from workflowai.logpack import prepare_log
    from workflowai.logref import upload

    payload = prepare_log(f"run {i} of {n}\n{LOG}".encode(), Settings().analysis)
    ref = upload(FolderBlobStore(home / "log-storage"), payload, max_bytes=1 << 26)
    return {"log_ref": ref.model_dump()}


async def _run_batch(
    api_url: str, deployment: str, n: int, timeout_s: float, home: Path
) -> dict[str, float]:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.client import FINAL_STATES

    async with PrefectClient(api_url) as client:
        deployment_id = (await client.read_deployment_by_name(deployment)).id
        started = datetime.now(UTC)

        async def one(i: int) -> UUID:
            params = {"params": _params(deployment.split("/")[0], i, n, home)}
            run = await client.create_flow_run_from_deployment(deployment_id, parameters=params)
            return run.id

        # a create the server refuses even after the client's own retries (503 when the
        # database is locked) is "rejected": the caller knows, nothing is silently lost
        created = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
        ids = [c for c in created if isinstance(c, UUID)]
        deadline = time.monotonic() + timeout_s
        runs = []
        while ids:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
            )
            final = [r for r in runs if r.state_type in FINAL_STATES]
            if len(final) == len(ids) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
    completed = [r for r in runs if r.state_type is not None and r.state_type.value == "COMPLETED"]
    latencies = sorted((r.end_time - started).total_seconds() for r in completed if r.end_time)
    return _row(n, n - len(ids), len(ids), len(completed), latencies, started)


async def _run_background_batch(
    api_url: str, n: int, timeout_s: float, home: Path
) -> dict[str, float]:
    """N background analyses (`analyze_log_background.delay`) on the warm task workers."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterId

    from flows.task_worker import analyze_log_background
    from workflowai.params import AnalyzeLogParams

    def submit(i: int) -> UUID | None:
        params = AnalyzeLogParams(**_params("analyze-log", i, n, home))  # type: ignore[arg-type]
        try:
            return analyze_log_background.delay(params).task_run_id
        except Exception:  # refused even after the client's retries: the caller knows
            return None

    started = datetime.now(UTC)
    # all at once, as many clients would: 16 submitting threads, each in a copy of this
    # context (Prefect's settings, with the API URL, live in context variables)
    contexts = [contextvars.copy_context() for _ in range(n)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        submitted = list(pool.map(lambda i: contexts[i].run(submit, i), range(n)))
    ids = [i for i in submitted if i is not None]
    rejected = n - len(ids)
    deadline = time.monotonic() + timeout_s
    runs = []
    async with PrefectClient(api_url) as client:
        while ids:
            runs = await client.read_task_runs(
                task_run_filter=TaskRunFilter(id=TaskRunFilterId(any_=ids)), limit=len(ids)
            )
            final = [r for r in runs if r.state is not None and r.state.is_final()]
            if len(final) == len(ids) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    completed = [r for r in runs if r.state is not None and r.state.is_completed()]
    latencies = sorted((r.end_time - started).total_seconds() for r in completed if r.end_time)
    return _row(n, rejected, len(ids), len(completed), latencies, started)


def _row(
    n: int, rejected: int, created: int, completed: int, latencies: list[float], started: datetime
) -> dict[str, float]:
    return {
        "n": n,
        "rejected": rejected,
        "completed": completed,
        "lost": created - completed,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[max(0, int(0.95 * len(latencies)) - 1)] if latencies else float("nan"),
        "wall": (datetime.now(UTC) - started).total_seconds(),
        # from the first trigger to the last completion: what the runs needed
        "rate": completed / max(latencies[-1], 1e-9) if latencies else 0.0,
    }


def bench_database(
    db: str,
    workflow: str,
    sizes: list[int],
    worker_limit: int,
    timeout_s: float,
    via: str = "deployment",
    task_workers: int = 1,
) -> list[dict]:
    from flows.client import ApiTarget
    from flows.client_setup import setup

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix=f"bench-{db}-") as tmp:
        root = Path(tmp)
        cluster = postgres_cluster() if db == "postgres" else None
        url = cluster.__enter__() if cluster else None
        home = root / "workflowai-home"
        # background runs pass parameters and results through this folder: shared by all
        storage = str(root / "task-storage")
        stack = LocalStack(
            home=root / "stack",
            database_url=url,
            worker_query_seconds=1.0,
            extra_env={
                "WORKFLOWAI_HOME": str(home),
                "WORKFLOWAI_GENERATION__BACKEND": "none",
                "PREFECT_RESULTS_LOCAL_STORAGE_PATH": storage,
            },
        )
        label = f"{db}/{via}"
        try:
            stack.start_server()
            settings = Settings(home=home)
            settings.prefect.api_url = stack.api_url
            # pools, deployments and the log storage block the log references point into
            target = ApiTarget.from_settings(settings)
            asyncio.run(setup(target, settings))
            if via.startswith("task-worker"):
                steps = "flow" if via == "task-worker-flow" else "inline"
                for _ in range(task_workers):
                    stack.start_task_worker(limit=worker_limit, steps=steps)

                def batch(n: int) -> dict[str, float]:
                    from prefect.settings import (
                        PREFECT_API_URL,
                        PREFECT_RESULTS_LOCAL_STORAGE_PATH,
                        temporary_settings,
                    )

                    updates = {PREFECT_API_URL: stack.api_url}
                    updates[PREFECT_RESULTS_LOCAL_STORAGE_PATH] = storage  # type: ignore[index]
                    with temporary_settings(updates=updates):
                        return asyncio.run(_run_background_batch(stack.api_url, n, timeout_s, home))
            else:
                for pool in ("cpu", "gpu"):
                    stack.start_worker(pool, limit=worker_limit)
                deployment = f"{workflow}/{workflow}-{settings.prefect.deployment_suffix}"

                def batch(n: int) -> dict[str, float]:
                    return asyncio.run(_run_batch(stack.api_url, deployment, n, timeout_s, home))

            print(f"[{label}] warm-up: {batch(1)}", flush=True)
            for n in sizes:
                row = batch(n)
                row["db"] = label
                server_log = stack.log_dir / "server.log"
                row["locked"] = server_log.read_text(errors="replace").count("database is locked")
                rows.append(row)
                print(f"[{label}] {row}", flush=True)
        finally:
            stack.stop()
            if cluster:
                cluster.__exit__(None, None, None)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200", help="comma-separated run counts")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--workflow", default="analyze-log", choices=["analyze-log", "search"], help="what to run"
    )
    parser.add_argument("--worker-limit", type=int, default=4, help="runs at once per worker")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per batch")
    parser.add_argument(
        "--via",
        default="deployment",
        help="deployment (a flow run per analysis on process workers), task-worker "
        "(background analyses on warm task workers, steps inline), task-worker-flow (the "
        "same, each analysis an analyze-log flow run), comma-separated",
    )
    parser.add_argument("--task-workers", type=int, default=1, help="task worker processes")
    args = parser.parse_args()
    os.environ.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"})
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-home-"))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows: list[dict] = []
    for db in args.db.split(","):
        for via in args.via.split(","):
            rows += bench_database(
                db.strip(), args.workflow, sizes, args.worker_limit, args.timeout,
                via=via.strip(), task_workers=args.task_workers,
            )  # fmt: skip
    print(f"\n{args.workflow}: worker limit {args.worker_limit} runs/pool, {os.cpu_count()} cores")
    print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    # locked: "database is locked" lines in the server log so far (cumulative per database)
    # per s: completed runs / seconds from the first trigger to the last completion
    head = ["N", "rejected", "completed", "lost", "p50 s", "p95 s", "wall s", "per s", "locked"]
    print(f"{'db/via':<22}" + "".join(f"{h:>10}" for h in head))
    for r in rows:
        cells = [r["n"], r["rejected"], r["completed"], r["lost"]]
        cells += [f"{r[k]:.1f}" for k in ("p50", "p95", "wall")] + [f"{r['rate']:.2f}"]
        cells.append(r["locked"])
        print(f"{r['db']:<22}" + "".join(f"{c:>10}" for c in cells))


if __name__ == "__main__":
    main()
