"""Blob storage for logs travelling by reference: a small protocol and a local-folder backend.

The library stays Prefect-free: `tasks/log_storage.py` adapts Prefect filesystem blocks
(LocalFileSystem -> `FolderBlobStore` on the block's base path; RemoteFileSystem and other
writable blocks through the block's own read/write) to this protocol. Keys are relative,
slash-separated paths; stores reject keys that could leave their root.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from workflowai.errors import ConfigError, LogRefError

_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)*$")


class BlobNotFoundError(LogRefError):
    """No blob under that key (deleted by retention, or never uploaded to this storage)."""


def check_key(key: str) -> str:
    """`key` when it is a safe relative key (lowercase segments, no `..`); ValueError otherwise."""
    if not _KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise ValueError(f"invalid blob key {key!r}")
    return key


class BlobStore(Protocol):
    """Where redacted logs are uploaded by the client and read by the workers."""

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` (replacing what was there)."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes under `key`; raises BlobNotFoundError when there are none."""
        ...

    def prune(self, max_age_s: float) -> int:
        """Delete blobs older than `max_age_s` seconds; returns how many were deleted."""
        ...


def prune_folder(root: Path, max_age_s: float, *, now: float | None = None) -> int:
    """Delete regular files under `root` last modified more than `max_age_s` ago.

    Files another process deletes meanwhile are skipped; empty folders are left in place.
    """
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - max_age_s
    deleted = 0
    for path in _files(root):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue
    return deleted


def _files(root: Path) -> Iterator[Path]:
    for folder, _dirs, names in os.walk(root, followlinks=False):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


class FolderBlobStore:
    """Blobs as files under one folder: private (folder 0700, files 0600), written atomically.

    For one machine (the client and the workers share the disk), and the backend a Prefect
    LocalFileSystem block maps to.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _ensure_root(self) -> None:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"log storage folder {self.root} cannot be created: {exc}") from exc

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self._ensure_root()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # write-then-rename: a reader never sees half a blob, a crash leaves no partial file
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(
                f"no log under {key!r} in the log storage folder {self.root}: deleted by "
                "retention, or uploaded on another machine (a local-file-system block works "
                "only when the client and the workers share the machine: use S3 otherwise)"
            ) from None
        except OSError as exc:
            raise LogRefError(f"log {key!r} cannot be read from the log storage: {exc}") from exc

    def prune(self, max_age_s: float) -> int:
        return prune_folder(self.root, max_age_s)
