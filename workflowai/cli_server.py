"""`workflowai server status|stop`: the local Prefect server the CLI keeps between runs.

Runs of `analyze-log`, `index`, `reindex` and `generate` without a PREFECT_API_URL go through
a local server that the first of them starts and later ones reuse (`flows/local_server.py`);
it stops by itself when idle (WORKFLOWAI_PREFECT__LOCAL_SERVER_IDLE_S). Prefect code is
imported inside the commands, so the library stays Prefect-free.
"""

from __future__ import annotations

import typer

server_app = typer.Typer(
    help="The local Prefect server that CLI runs keep between runs.", no_args_is_help=True
)


@server_app.command("status")
def status() -> None:
    """Print the kept server's API URL; exit 1 when none is running."""
    from flows.local_server import prefect_home, running_server

    url = running_server(prefect_home())
    if url is None:
        typer.echo("no local server running")
        raise typer.Exit(1)
    typer.echo(url)


@server_app.command("stop")
def stop() -> None:
    """Stop the kept server (the next run starts a new one)."""
    from flows.local_server import prefect_home, stop_server

    stopped = stop_server(prefect_home())
    typer.echo("stopped" if stopped else "no local server running")


def register(app: typer.Typer) -> None:
    app.add_typer(server_app, name="server")
