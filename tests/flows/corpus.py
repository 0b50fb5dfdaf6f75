"""A tiny knowledge-base corpus for the flow tests (three runbooks, three formats)."""

from __future__ import annotations

from pathlib import Path

RUNBOOKS = {
    "npm-missing-module.md": """# npm: Cannot find module

Symptom: `Error: Cannot find module 'left-pad'` while running `npm test` in CI.

Cause: the dependency is not declared in package.json or the lockfile is stale, so `npm ci`
does not install it.

Fix: add the package with `npm install --save left-pad`, commit package-lock.json and rerun.
""",
    "java-heap.md": """# JVM: java.lang.OutOfMemoryError: Java heap space

Symptom: Gradle or Maven builds stop with `java.lang.OutOfMemoryError: Java heap space`.

Cause: the build's heap (-Xmx) is too small for the test suite or the compiler daemon.

Fix: raise `org.gradle.jvmargs=-Xmx4g` in gradle.properties or MAVEN_OPTS=-Xmx4g.
""",
    "docker-rate-limit.txt": """Docker Hub pull rate limit

Symptom: `toomanyrequests: You have reached your pull rate limit` when CI pulls an image.

Cause: anonymous pulls from Docker Hub are rate limited per IP address.

Fix: log in to Docker Hub in the pipeline (docker login) or mirror the image to a registry.
""",
}


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in RUNBOOKS.items():
        (folder / name).write_text(text)
    return folder
