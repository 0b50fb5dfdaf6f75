"""Allowed roots: which worker files a deployment run may read.

A path a run caller gives (`log_path`, `baseline_path`, index `paths`, reindex `sources`) is
resolved first (symlinks followed, `..` collapsed, relative to the worker's working folder)
and then accepted only when it lies under one of the configured roots, themselves resolved.
Anything else gets the same error whose message names neither the path nor what resolving it
found, so a caller cannot learn whether a file exists outside the roots.

Whether a run is a deployment run is the caller's decision (`tasks/inputs.py`): the library
only checks containment.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workflowai.errors import PathNotAllowedError

REFUSED = (
    "path refused: a deployment run reads worker files only under the allowed roots "
    "(WORKFLOWAI_INPUTS__ALLOWED_ROOTS); upload logs with `workflowai trigger --file` instead"
)


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError, ValueError):  # loops, embedded NUL, names too long
        return None


def resolve_allowed(path: Path, roots: Sequence[Path]) -> Path:
    """`path` resolved, when it lies under one of `roots`.

    Raises:
        PathNotAllowedError: outside every root, unresolvable, or no roots configured; the
            message is the same in every case.
    """
    resolved = _resolve(Path(path))
    if resolved is not None:
        for root in roots:
            base = _resolve(Path(root))
            if base is not None and resolved.is_relative_to(base):
                return resolved
    raise PathNotAllowedError(REFUSED)


def resolve_all_allowed(paths: Sequence[Path], roots: Sequence[Path]) -> list[Path]:
    """Each of `paths` resolved and checked (see `resolve_allowed`)."""
    return [resolve_allowed(path, roots) for path in paths]
