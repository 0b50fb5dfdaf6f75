"""Allowed roots: resolve, then check containment; one message for every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.allowed_paths import REFUSED, resolve_all_allowed, resolve_allowed
from workflowai.errors import PathNotAllowedError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """roots/ci-logs/{job.log, link-out -> /etc/hostname-like file outside, sub/}"""
    logs = tmp_path / "roots" / "ci-logs"
    (logs / "sub").mkdir(parents=True)
    (logs / "job.log").write_text("npm ERR! code ERESOLVE\n")
    (logs / "sub" / "deep.log").write_text("FAILED tests/test_x.py::test_y\n")
    secret = tmp_path / "private" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (logs / "link-out").symlink_to(secret)
    (logs / "dir-link").symlink_to(secret.parent, target_is_directory=True)
    # a sibling whose name starts like the root: containment is by path parts, not prefix
    (tmp_path / "roots" / "ci-logs-evil").mkdir()
    (tmp_path / "roots" / "ci-logs-evil" / "x.log").write_text("x\n")
    return tmp_path


@pytest.mark.parametrize(
    "relative",
    ["roots/ci-logs/job.log", "roots/ci-logs/sub/deep.log", "roots/ci-logs/sub/../job.log"],
)
def test_paths_under_a_root_are_accepted_resolved(tree: Path, relative: str) -> None:
    root = tree / "roots" / "ci-logs"
    resolved = resolve_allowed(tree / relative, [root])
    assert resolved == (tree / relative).resolve()
    assert resolved.is_relative_to(root)


@pytest.mark.parametrize(
    "relative",
    [
        "private/id_rsa",  # exists, outside
        "private/no-such-file",  # does not exist, outside
        "roots/ci-logs/../../private/id_rsa",  # climbs out
        "roots/ci-logs/link-out",  # a symlink inside pointing outside
        "roots/ci-logs/dir-link/id_rsa",  # through a linked folder
        "roots/ci-logs-evil/x.log",  # a sibling sharing the root's name prefix
        "roots/ci-logs/no\x00such.log",  # an embedded NUL
    ],
)
def test_paths_outside_every_root_get_one_generic_error(tree: Path, relative: str) -> None:
    with pytest.raises(PathNotAllowedError) as caught:
        resolve_allowed(tree / relative, [tree / "roots" / "ci-logs"])
    # the same words whether the file exists or not, and nothing about the path
    assert str(caught.value) == REFUSED


@pytest.mark.parametrize("path", ["/etc/ssl/openssl.cnf", "/etc/no-such-file", "build.log"])
def test_no_configured_roots_refuses_everything(path: str) -> None:
    with pytest.raises(PathNotAllowedError, match="allowed roots"):
        resolve_allowed(Path(path), [])


def test_relative_paths_resolve_against_the_working_folder(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree / "roots")
    assert resolve_all_allowed([Path("ci-logs/job.log")], [Path("ci-logs")]) == [
        tree / "roots" / "ci-logs" / "job.log"
    ]
