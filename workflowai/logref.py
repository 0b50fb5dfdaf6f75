"""Logs by reference: what a flow run's parameters carry instead of log text.

The client uploads a redacted, gzip-compressed payload (`workflowai.logpack`) content-addressed
by its sha256; the flow gets a `LogRef` (key, sha256, size) and reads the payload back with
`fetch`, which checks size and hash before anything uses it. The key is derived from the hash
(a validator enforces it), so a reference cannot name any other object in the storage.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflowai.blobstore import BlobStore
from workflowai.errors import LogIntegrityError, LogTooLargeError

KEY_PREFIX = "logs"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def key_for(sha256: str) -> str:
    """The storage key of a payload: `logs/<2 hex>/<sha256>.json.gz`."""
    return f"{KEY_PREFIX}/{sha256[:2]}/{sha256}.json.gz"


class LogRef(BaseModel):
    """A redacted log in the log storage: where it is, its sha256 and its size in bytes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="storage key, derived from the sha256")
    sha256: str = Field(pattern=_SHA256.pattern, description="of the stored (compressed) bytes")
    size: int = Field(ge=1, description="stored (compressed) bytes")

    @model_validator(mode="after")
    def _key_matches_hash(self) -> LogRef:
        if self.key != key_for(self.sha256):
            raise ValueError("key must be logs/<sha256[:2]>/<sha256>.json.gz")
        return self

    @classmethod
    def of(cls, payload: bytes) -> LogRef:
        digest = hashlib.sha256(payload).hexdigest()
        return cls(key=key_for(digest), sha256=digest, size=len(payload))


def check_size(payload: bytes, max_bytes: int, what: str = "log") -> None:
    """Raise LogTooLargeError when `payload` is over the upload cap."""
    if len(payload) > max_bytes:
        raise LogTooLargeError(
            f"the redacted, compressed {what} is {len(payload)} bytes, over the "
            f"{max_bytes}-byte cap (WORKFLOWAI_LOG_STORAGE__MAX_BYTES): send the failing "
            "part of the log, or raise the cap on the client and the workers"
        )


def upload(store: BlobStore, payload: bytes, *, max_bytes: int, what: str = "log") -> LogRef:
    """Store `payload` under its content address; the size cap is checked before any write.

    Raises:
        LogTooLargeError: over `max_bytes` (nothing was written).
    """
    check_size(payload, max_bytes, what)
    ref = LogRef.of(payload)
    store.put(ref.key, payload)
    return ref


def fetch(store: BlobStore, ref: LogRef, *, max_bytes: int) -> bytes:
    """The payload `ref` names, after checking its size and sha256.

    Raises:
        LogTooLargeError: the reference claims more than `max_bytes` (nothing was read).
        BlobNotFoundError: nothing under the key (retention deleted it, or another storage).
        LogIntegrityError: the stored bytes differ from the reference (never retried).
    """
    if ref.size > max_bytes:
        raise LogTooLargeError(
            f"log reference of {ref.size} bytes is over the {max_bytes}-byte cap of this worker"
        )
    payload = store.get(ref.key)
    digest = hashlib.sha256(payload).hexdigest()
    if len(payload) != ref.size or digest != ref.sha256:
        raise LogIntegrityError(
            f"stored log {ref.key} does not match its reference: expected sha256 {ref.sha256} "
            f"and {ref.size} bytes, found sha256 {digest} and {len(payload)} bytes"
        )
    return payload
