"""`workflowai doctor`'s checks of this machine, with the library only (no Prefect): the
knowledge base, the embedding model, the generator. The slim client (client/pyproject.toml)
skips them: a CI runner has neither.
"""

from __future__ import annotations

from workflowai.errors import AppError, ConfigError
from workflowai.settings import Settings


def library_checks(settings: Settings, models: bool) -> list[tuple[str, bool, str]]:
    """Knowledge base and models, checked with the library (no Prefect)."""
    lines: list[tuple[str, bool, str]] = []
    model: str | None = None
    dim: int | None = None
    if models:
        try:
            from workflowai.knowledge.embedding import build_embedder

            embedder = build_embedder(settings.embedding)
            model, dim = embedder.model_name, len(embedder.embed_query("doctor"))
            lines.append(("embedding model", True, f"{model} dim={dim}"))
        except (AppError, ImportError, OSError) as exc:
            lines.append(("embedding model", False, str(exc)))
    try:
        from workflowai.knowledge.factory import build_store

        store = build_store(settings)
        try:
            info = store.info()
        finally:
            store.close()
        detail = (
            f"{info.backend} {info.location}: {info.chunks} chunks, "
            f"model={info.embedding_model} dim={info.embedding_dim}"
        )
        # an empty store has no model yet; a filled one must match the configured embedder
        problems = [
            f"expected {name}={want}"
            for name, have, want in (
                ("model", info.embedding_model, model),
                ("dim", info.embedding_dim, dim),
            )
            if have is not None and want is not None and have != want
        ]
        lines.append(("knowledge base", not problems, "; ".join([detail, *problems])))
    except (AppError, ImportError, OSError) as exc:
        lines.append(("knowledge base", False, str(exc)))
    if models and settings.generation.backend != "none":
        try:
            from workflowai.llm.factory import build_generator
            from workflowai.schemas import GenerationRequest

            generator = build_generator(settings.generation)
            if generator is None:
                raise ConfigError("generation backend configured but no generator built")
            # backends load lazily: one token proves the model loads (or the server answers)
            generator.generate(GenerationRequest(prompt="ping", max_tokens=1, temperature=0.0))
            detail = f"{settings.generation.backend}: {settings.generation.model}"
            lines.append(("generator", True, detail))
        except (AppError, ImportError, OSError) as exc:
            lines.append(("generator", False, str(exc)))
    return lines
