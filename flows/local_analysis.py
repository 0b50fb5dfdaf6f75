"""Warm local analyses: the kept local server also runs `analyze-log` flows for the CLI.

A CLI process that runs the flow itself pays for importing Prefect and the analysis code
(seconds of CPU) on every call. The kept local server (`flows/local_server.py`) is already a
long-lived process with Prefect imported; it also preloads the analysis code, store and
embedder, and answers `POST /workflowai/analyze-log` by running the same `analyze-log` flow in a
worker thread against its own API: the flow run, its logs and the report artifact are
recorded, its steps called inline (no task run each: the API that would record them shares
this process; ~0.4 s of a ~3 s warm analysis). The CLI then only imports its own models and
sends the parameters (`analyze_via_kept_server`).

Guard rails: a random token in PREFECT_HOME (mode 0600) is required, so other local users
cannot have logs analyzed; and the server only serves a CLI whose WORKFLOWAI_* variables,
working folder and `.env` match its own (the flow builds `Settings()` from them), else the
CLI runs the flow itself. Only 127.0.0.1 is bound.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflowai.errors import AppError

if TYPE_CHECKING:
    from workflowai.analysis.report import AnalysisReport
    from workflowai.params import AnalyzeLogParams

PATH = "/workflowai/analyze-log"


def environment_fingerprint() -> str:
    """What `Settings()` is built from here: WORKFLOWAI_* variables, cwd and its `.env`."""
    env = {k: v for k, v in os.environ.items() if k.startswith("WORKFLOWAI_")}
    dotenv = Path(".env")
    content = dotenv.read_text(errors="replace") if dotenv.is_file() else ""
    raw = json.dumps([sorted(env.items()), os.getcwd(), content])
    return hashlib.sha256(raw.encode()).hexdigest()


def analyze_via_kept_server(
    params: AnalyzeLogParams, url: str | None, token: str | None
) -> AnalysisReport | None:
    """The report from the kept server's warm process, or None when it cannot serve this CLI
    (no server, another configuration, not ready): the caller then runs the flow itself.

    Raises:
        AppError: the analysis ran and failed (unreadable log, store error, ...).
    """
    if not url or not token:
        return None
    from workflowai.analysis.report import AnalysisReport

    body = json.dumps(
        {"fingerprint": environment_fingerprint(), "params": params.model_dump(mode="json")}
    ).encode()
    request = urllib.request.Request(
        url.removesuffix("/api") + PATH,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=3600) as response:
            return AnalysisReport.model_validate(json.loads(response.read())["report"])
    except urllib.error.HTTPError as exc:
        if exc.code != 422:
            return None  # 409 another configuration, 403, 404: run it here instead
        raise AppError(json.loads(exc.read()).get("message", "analysis failed")) from None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process took the PID: ours is gone
        return False
    return True


class AnalysisEndpoint:
    """ASGI wrapper: serves PATH itself, hands every other request to Prefect's app."""

    def __init__(self, app: Any, api_url: str, token: str) -> None:
        self.app = app
        self.api_url = api_url
        self.token = token
        self.fingerprint = environment_fingerprint()
        self._ready = threading.Event()

    def preload(self, generator_after: int | None = None) -> None:
        """Import the flow and open the store and embedder before the first request; with
        `generator_after` (the PID of the CLI whose run with the model started the server),
        load the model once that process has exited. The CLI runs its own analysis with its
        own copy of the model: loading a second one meanwhile would compete with it for the
        cores, or for a GPU's memory. Requests do not wait for this load (one that needs the
        model waits for the load under way)."""
        try:
            import flows.analyze_log  # noqa: F401  (seconds of imports, once)
            from tasks.resources import get_embedder, get_store
            from workflowai.settings import Settings

            settings = Settings()
            get_store(settings).count()
            get_embedder(settings).embed_query("warm up")
        except Exception:  # a failed warm-up only makes the first run pay for it
            pass
        finally:
            self._ready.set()
        if generator_after is not None:
            while _alive(generator_after):
                time.sleep(0.5)
            self._preload_generator()

    @staticmethod
    def _preload_generator() -> None:
        """Load the configured model; one line on stderr (the server's log) says how it went
        (a failure is the next model run's to report)."""
        from tasks.resources import load_generator
        from workflowai.settings import Settings

        sys.stderr.write("workflowai: loading the model\n")
        sys.stderr.flush()
        start = time.perf_counter()
        try:
            loaded = load_generator(Settings())
        except Exception as exc:
            sys.stderr.write(f"workflowai: could not preload the model: {exc}\n")
            return
        if loaded is not None:
            seconds = time.perf_counter() - start
            sys.stderr.write(f"workflowai: model {loaded.info().model} loaded in {seconds:.1f} s\n")
        sys.stderr.flush()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        import anyio.to_thread

        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = dict(scope.get("headers") or [])
        status, payload = await anyio.to_thread.run_sync(
            self._handle, headers.get(b"authorization", b"").decode(), body
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})

    def _handle(self, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if not hmac.compare_digest(authorization, f"Bearer {self.token}"):
            return 403, {"message": "bad token"}
        try:
            request = json.loads(body)
        except ValueError:
            return 400, {"message": "not JSON"}
        if request.get("fingerprint") != self.fingerprint:
            return 409, {"message": "another configuration: run the flow in the CLI"}
        self._ready.wait(timeout=120)
        from pydantic import ValidationError

        from workflowai.params import AnalyzeLogParams

        try:
            params = AnalyzeLogParams.model_validate(request.get("params"))
            report = self._run(params)
        except (AppError, ValidationError, OSError, ValueError) as exc:
            return 422, {"message": str(exc) or type(exc).__name__}
        except Exception as exc:  # the flow's own failure, reported like the CLI would
            return 422, {"message": f"{type(exc).__name__}: {exc}"}
        return 200, {"report": report.model_dump(mode="json")}

    def _run(self, params: AnalyzeLogParams) -> AnalysisReport:
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
            temporary_settings,
        )

        from flows.analyze_log import analyze_log_flow, flow_steps_inline

        updates = {PREFECT_API_URL: self.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
        with temporary_settings(updates=updates), flow_steps_inline():
            return analyze_log_flow(params)
