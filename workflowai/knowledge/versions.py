"""Physical index versions behind one name that readers use (an alias), for both backends.

`reindex` builds a new version next to the live one, checks it and then moves the alias in
one atomic step, so readers never see a half-built index; older versions stay for rollback.
- Elasticsearch: indices `<alias>-v<N>`; the alias moves in ONE `update_aliases` request.
- SQLite: files `<stem>-v<N>.sqlite` beside the configured file and a pointer file
  `<stem>.current` replaced with os.replace (atomic on POSIX). A knowledge base that was never
  reindexed is the configured file itself, listed as version `v0`.
Each version remembers the version that was live when it was first activated (its
predecessor: an ES `_meta` entry, a SQLite sidecar file), so rollback walks back the real
activation history, never to a build that failed verification and was never live.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol

from workflowai.errors import StoreError
from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
from workflowai.settings import ElasticsearchSettings

_VERSION = re.compile(r"(?:^|-)v(\d+)$")


def version_number(name: str) -> int:
    match = _VERSION.search(name)
    return int(match.group(1)) if match else 0


class IndexVersions(Protocol):
    def current(self) -> str | None: ...

    def list(self) -> list[str]:
        """Every version, oldest first."""

    def create(self, *, model: str, dim: int) -> str:
        """A new, empty version with this model's schema; not live."""

    def open(self, version: str) -> KnowledgeStore: ...

    def activate(self, version: str) -> str | None:
        """Make `version` live atomically; returns the version that was live before.

        The replaced version is recorded as `version`'s predecessor unless it has one already
        (re-activating an older version on rollback keeps its own history).
        """

    def predecessor(self, version: str) -> str | None:
        """The version that was live when `version` was first activated."""

    def drop(self, version: str) -> None: ...


class SqliteIndexVersions:
    def __init__(self, path: Path) -> None:
        self.base = Path(path)
        self.pointer = self.base.with_name(self.base.stem + ".current")

    def _path(self, version: str) -> Path:
        if version == "v0":
            return self.base
        return self.base.with_name(f"{self.base.stem}-{version}{self.base.suffix}")

    def live_path(self) -> Path:
        current = self.current()
        return self._path(current) if current else self.base

    def current(self) -> str | None:
        if self.pointer.exists():
            return self.pointer.read_text().strip() or None
        return "v0" if self.base.exists() else None

    def _previous_file(self, version: str) -> Path:
        path = self._path(version)
        return path.with_name(path.name + ".previous")

    def predecessor(self, version: str) -> str | None:
        marker = self._previous_file(version)
        return (marker.read_text().strip() or None) if marker.exists() else None

    def list(self) -> list[str]:
        found = ["v0"] if self.base.exists() else []
        pattern = re.compile(rf"^{re.escape(self.base.stem)}-(v\d+){re.escape(self.base.suffix)}$")
        for path in self.base.parent.glob(f"{self.base.stem}-v*{self.base.suffix}"):
            match = pattern.match(path.name)
            if match:
                found.append(match.group(1))
        return sorted(set(found), key=version_number)

    def create(self, *, model: str, dim: int) -> str:
        versions = self.list()
        version = f"v{(version_number(versions[-1]) if versions else 0) + 1}"
        store = SqliteKnowledgeStore(self._path(version))
        try:
            store.ensure_schema(model=model, dim=dim)
        finally:
            store.close()
        return version

    def open(self, version: str) -> KnowledgeStore:
        path = self._path(version)
        if not path.exists():
            raise StoreError(f"no knowledge-base version {version} ({path})")
        return SqliteKnowledgeStore(path)

    def activate(self, version: str) -> str | None:
        if not self._path(version).exists():
            raise StoreError(f"no knowledge-base version {version} to activate")
        previous = self.current()
        self.base.parent.mkdir(parents=True, exist_ok=True)
        # v0 (the file from before versions) has no history: it never gets a predecessor
        if version != "v0" and previous != version and not self._previous_file(version).exists():
            # written on first activation only, empty when nothing was live
            self._previous_file(version).write_text((previous or "") + "\n")
        tmp = self.pointer.with_name(self.pointer.name + ".tmp")
        with tmp.open("w") as handle:
            handle.write(version + "\n")
            handle.flush()
            os.fsync(handle.fileno())  # the new name must never point at unwritten bytes
        os.replace(tmp, self.pointer)
        return previous

    def drop(self, version: str) -> None:
        if version == self.current():
            raise StoreError(f"refusing to drop the live version {version}")
        path = self._path(version)
        for suffix in ("", "-wal", "-shm", ".previous"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)


class ElasticsearchIndexVersions:
    def __init__(self, settings: ElasticsearchSettings) -> None:
        self.settings = settings
        self.alias = settings.alias
        self._probe = ElasticsearchKnowledgeStore(settings, index=self.alias)

    def _calls(self, action: str):
        return self._probe._calls(action)

    def current(self) -> str | None:
        client = self._probe.client
        with self._calls("read alias"):
            if not client.indices.exists_alias(name=self.alias):
                return None
            indices = list(client.indices.get_alias(name=self.alias).body)
        return indices[0] if indices else None

    def list(self) -> list[str]:
        with self._calls("list versions"):
            names = list(self._probe.client.indices.get(index=f"{self.alias}-v*").body)
        own = re.compile(rf"{re.escape(self.alias)}-v\d+")
        return sorted((n for n in names if own.fullmatch(n)), key=version_number)

    def create(self, *, model: str, dim: int) -> str:
        versions = self.list()
        name = f"{self.alias}-v{(version_number(versions[-1]) if versions else 0) + 1}"
        self._shared(name).ensure_schema(model=model, dim=dim)
        return name

    def open(self, version: str) -> KnowledgeStore:
        return ElasticsearchKnowledgeStore(self.settings, index=version)

    def _shared(self, index: str) -> ElasticsearchKnowledgeStore:
        """A store on `index` that borrows this object's client (nothing to close)."""
        return ElasticsearchKnowledgeStore(self.settings, index=index, client=self._probe.client)

    def _meta(self, version: str) -> dict[str, Any]:
        return self._shared(version).schema_meta()

    def predecessor(self, version: str) -> str | None:
        value = self._meta(version).get("previous_version")
        return str(value) if value else None

    def activate(self, version: str) -> str | None:
        with self._calls("check version"):
            if not self._probe.client.indices.exists(index=version):
                raise StoreError(f"no knowledge-base version {version} to activate")
        previous = self.current()
        meta = self._meta(version)
        if previous != version and "previous_version" not in meta:
            # first activation only ("" when nothing was live); put_mapping replaces _meta whole
            with self._calls("record previous version"):
                self._probe.client.indices.put_mapping(
                    index=version, meta={**meta, "previous_version": previous or ""}
                )
        # remove + add in ONE request: Elasticsearch applies it atomically, so readers of the
        # alias see the old index or the new one, never none and never both
        actions: list[dict[str, dict[str, str]]] = []
        if previous:
            actions.append({"remove": {"index": previous, "alias": self.alias}})
        actions.append({"add": {"index": version, "alias": self.alias}})
        with self._calls("move alias"):
            self._probe.client.indices.update_aliases(actions=actions)
        return previous

    def drop(self, version: str) -> None:
        if version == self.current():
            raise StoreError(f"refusing to drop the live index {version}")
        self._shared(version).drop()
