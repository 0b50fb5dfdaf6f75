"""The error tree. `TransientError` marks failures worth retrying (tasks retry on it only)."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error this package raises on purpose."""


class TransientError(Exception):
    """Mixin: the operation may succeed if retried (connection refused, 429/503, db locked)."""


class ConfigError(AppError):
    """A setting is missing, malformed or inconsistent."""


class StoreError(AppError):
    """The knowledge store failed."""


class StoreUnavailableError(StoreError, TransientError):
    """The store cannot be reached right now (connection error, timeout, 429/503, locked)."""


class DuplicateChunkError(StoreError):
    """A chunk id already exists and the duplicate policy is FAIL."""


class BulkWriteError(StoreError):
    """Some items of a bulk write failed; `failures` maps chunk id to the engine's reason."""

    def __init__(self, message: str, failures: dict[str, str]) -> None:
        super().__init__(message)
        self.failures = failures


class SchemaMismatchError(StoreError):
    """The index was built with another embedding model or dimension: reindex to change it."""


class EmbeddingError(AppError):
    """The embedding model could not be loaded or failed to embed."""


class GenerationError(AppError):
    """The generator failed or returned an unusable answer."""


class GenerationUnavailableError(GenerationError, TransientError):
    """The generation server is unreachable or overloaded right now."""


class LogParseError(AppError):
    """The input is not a log we can analyze (empty, binary, too large)."""


class WorkflowTypeError(AppError):
    """Unknown workflow type or parameters that do not validate against its model."""


class InputRefusedError(AppError):
    """The input was refused before any work: too large, or a path outside the allowed roots."""


class LogTooLargeError(InputRefusedError):
    """A redacted, compressed log is over the upload size cap (checked before uploading)."""


class PathNotAllowedError(InputRefusedError):
    """A deployment run named a path outside the allowed roots (the message never says more)."""


class LogRefError(AppError):
    """A log reference cannot be read: missing from storage, or not a log this version reads."""


class LogIntegrityError(LogRefError):
    """The stored log does not match its reference's sha256 or size (never retried)."""


class HistoryError(AppError):
    """The failure-history store failed."""


class HistoryUnavailableError(HistoryError, TransientError):
    """The history store cannot be reached right now (connection error, 429/503, locked)."""


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or anything it was raised from) is a TransientError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TransientError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
