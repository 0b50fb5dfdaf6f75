"""The `workflowai` command of the slim client distribution (client/pyproject.toml).

Only what a CI runner needs: `trigger` (send the work, wait, print the report) and `doctor`
(API, credentials, pools and workers). The same commands as the full CLI (`workflowai/cli.py`,
`workflowai/cli_ops.py`); nothing here imports the model stack, the knowledge stores or
Prefect's server, which the client distribution does not install.
"""

from __future__ import annotations

import os

import typer

from workflowai import cli_ops

app = typer.Typer(
    name="workflowai",
    help="Send a CI log to WorkflowAI on a Prefect server and print the failure report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="show Prefect's own logs"),
) -> None:
    # Prefect reads its logging config when first imported: set the defaults before that
    level = "INFO" if verbose else "CRITICAL"
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", level)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")


app.command("trigger")(cli_ops.trigger)
app.command("doctor")(cli_ops.doctor_api)
