"""The log storage as a Prefect filesystem block, adapted to the library's `BlobStore`.

`settings.log_storage.block` names the block (`<block-type-slug>/<name>`); the client
(`trigger`) and the workers load the same block from the Prefect server, so its base path is
stored once, server-side:
- `local-file-system/...`: a folder on one machine, used through the library's
  `FolderBlobStore` (private 0700 folder, 0600 files, atomic writes). `workflowai setup`
  creates `local-file-system/workflowai-log-storage` under `<home>/log-storage` when missing.
- `remote-file-system/...` (S3-compatible storage through fsspec, `s3fs` installed on the
  client and the workers) or any other writable filesystem block: through the block's own
  `read_path`/`write_path`. Put credentials in the environment of the client and the workers
  (`AWS_ACCESS_KEY_ID`, ...), not in the block's `settings`: a block document is readable by
  anyone who can read the Prefect API.
Retention: old blobs are deleted by listing the folder (local) or the fsspec file system
(remote); other block kinds rely on the storage's own lifecycle rules.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect.blocks.core import Block
from prefect.client.orchestration import PrefectClient
from prefect.filesystems import LocalFileSystem, RemoteFileSystem, WritableFileSystem

from workflowai.blobstore import BlobNotFoundError, BlobStore, FolderBlobStore, check_key
from workflowai.errors import ConfigError, LogRefError
from workflowai.logref import KEY_PREFIX
from workflowai.settings import Settings

LOCAL_BLOCK_TYPE = "local-file-system"


class BlockBlobStore:
    """A writable filesystem block (RemoteFileSystem, SMB, ...) as a BlobStore.

    Call from synchronous code only: the block methods dispatch to their async variants when
    an event loop is running.
    """

    def __init__(self, block: WritableFileSystem) -> None:
        self.block = block

    def put(self, key: str, data: bytes) -> None:
        self.block.write_path(check_key(key), data)

    def get(self, key: str) -> bytes:
        try:
            return self.block.read_path(check_key(key))  # type: ignore[return-value]
        except FileNotFoundError:
            raise BlobNotFoundError(f"no log under {key!r} in the log storage") from None
        except OSError as exc:
            raise LogRefError(f"log {key!r} cannot be read from the log storage: {exc}") from exc

    def prune(self, max_age_s: float) -> int:
        if not isinstance(self.block, RemoteFileSystem):
            return 0  # no listing API on other blocks: the storage's lifecycle rules apply
        fs = self.block.filesystem
        root = f"{self.block.basepath.rstrip('/')}/{KEY_PREFIX}"
        cutoff = time.time() - max_age_s
        try:
            paths = fs.find(root)
        except FileNotFoundError:
            return 0
        old = [path for path in paths if fs.modified(path).timestamp() < cutoff]
        if old:
            fs.rm(old)
        return len(old)


def store_for_block(block: Any, name: str) -> BlobStore:
    """The BlobStore behind a loaded filesystem block; ConfigError for any other block."""
    if isinstance(block, LocalFileSystem):
        if not block.basepath:
            raise ConfigError(f"log storage block {name!r} needs a basepath")
        return FolderBlobStore(Path(block.basepath))
    if isinstance(block, WritableFileSystem):
        return BlockBlobStore(block)
    raise ConfigError(f"log storage block {name!r} is not a writable filesystem block")


def _missing(name: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"log storage block {name!r} not found on the Prefect server: run `workflowai setup` "
        f"(creates a local-file-system block) or create it (see deployments/README.md): {exc}"
    )


def load_blob_store(settings: Settings) -> BlobStore:
    """The configured log storage, loaded through the current run's Prefect client (sync)."""
    name = settings.log_storage.block
    try:
        block = Block.load(name)
    except ValueError as exc:
        raise _missing(name, exc) from exc
    return store_for_block(block, name)


async def aload_blob_store(client: PrefectClient, settings: Settings) -> BlobStore:
    """The configured log storage, loaded with `client` (the CLI's authenticated client).

    Use the returned store from synchronous code (outside the event loop).
    """
    name = settings.log_storage.block
    try:
        block = await Block.aload(name, client=client)
    except ValueError as exc:
        raise _missing(name, exc) from exc
    return store_for_block(block, name)


async def ensure_log_storage_block(client: PrefectClient, settings: Settings) -> bool:
    """Create the configured block when it is a missing local-file-system one; True if created.

    Raises:
        ConfigError: a block of another type is configured but missing (create it yourself:
            its base path and credentials are yours to choose).
    """
    name = settings.log_storage.block
    kind, _, block_name = name.partition("/")
    try:
        await Block.aload(name, client=client)
        return False
    except ValueError as exc:
        if kind != LOCAL_BLOCK_TYPE or not block_name:
            raise _missing(name, exc) from exc
    folder = settings.home.expanduser().resolve() / "log-storage"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    await LocalFileSystem(basepath=str(folder)).asave(block_name, client=client)
    return True
