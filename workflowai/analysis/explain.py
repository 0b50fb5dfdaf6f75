"""Prose from findings: the summary and root cause name what failed, fixes name it too.

Pure functions of a `FindingSet` (no retrieval, no model), so a report without a model is
still specific: "3 tests failed: tests/test_invoices.py::test_apply_discount (AssertionError:
...), ...". Fix templates (`fix` steps of knowledge-base entries, and `GENERIC_FIXES` here)
carry placeholders (`{test_id}`, `{file}`, `{line}`, `{package}`, `{command}`, `{host}`, ...)
filled from the finding the fix is about; a placeholder the finding cannot fill is shown as a
neutral marker (`<failing test>`), never with another project's example.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from urllib.parse import urlsplit

from workflowai.analysis.findings import FindingSet
from workflowai.analysis.kinds import category_of
from workflowai.analysis.report import Category, Finding, FindingKind

MAX_ITEMS = 3
MAX_MESSAGE = 160

PLACEHOLDERS: dict[str, str] = {
    "test_id": "<failing test>",
    "file": "<file>",
    "line": "<line>",
    "column": "<column>",
    "code": "<code>",
    "package": "<package>",
    "version": "<version>",
    "requirement": "<requirement>",
    "command": "<command>",
    "host": "<host>",
    "message": "<message>",
    "step": "<step>",
    "tool": "<tool>",
}

# what to try when no knowledge-base entry fits; templates like the entries' fix steps
GENERIC_FIXES: dict[FindingKind, str] = {
    FindingKind.TEST_FAILURE: "Run {test_id} locally with the job's command and inputs; fix "
    "the assertion or the code under test.",
    FindingKind.COMPILE_ERROR: "Fix the compiler error at {file}:{line} ({message}), then rebuild.",
    FindingKind.LINT_VIOLATION: "Fix {code} at {file}:{line}, or run {tool} locally with the "
    "project's configuration and apply its fixes.",
    FindingKind.TYPE_ERROR: "Fix the type error at {file}:{line} ({code}: {message}).",
    FindingKind.DEPENDENCY_CONFLICT: "Make the version constraints of {package} compatible "
    "({requirement}), then refresh the lock file.",
    FindingKind.MISSING_DEPENDENCY: "Check that {package} {version} exists in the registry the "
    "job uses and is declared in the project's dependencies.",
    FindingKind.COMMAND_NOT_FOUND: "Install {command} in the job's image or setup step, or fix "
    "its name or PATH.",
    FindingKind.NETWORK_ERROR: "Check that {host} is reachable from the runner (DNS, proxy, "
    "firewall, service up); rerun if it was briefly down.",
    FindingKind.TIMEOUT: "Find what hangs or slowed down in step {step}; raise the limit only "
    "if the work legitimately grew.",
    FindingKind.OUT_OF_MEMORY: "Lower the memory use of {command} (parallelism, heap size) or "
    "give the job more memory.",
    FindingKind.PERMISSION_DENIED: "Check the credentials, token scopes and file permissions "
    "{command} uses for {host}.",
    FindingKind.CONFIG_ERROR: "Check the configuration at {file}:{line}: {message}.",
    FindingKind.INFRASTRUCTURE_ERROR: "Check the runner or cluster resources the job depends "
    "on: {message}.",
    FindingKind.PROCESS_EXIT: "Run {command} locally and read its output above the exit line.",
}

UNKNOWN_FIX = "Read the evidence lines below, starting with the highlighted ones."

_NOUNS: dict[FindingKind, tuple[str, str]] = {
    FindingKind.TEST_FAILURE: ("test failed", "tests failed"),
    FindingKind.COMPILE_ERROR: ("compile error", "compile errors"),
    FindingKind.LINT_VIOLATION: ("lint violation", "lint violations"),
    FindingKind.TYPE_ERROR: ("type error", "type errors"),
    FindingKind.DEPENDENCY_CONFLICT: ("dependency conflict", "dependency conflicts"),
    FindingKind.MISSING_DEPENDENCY: (
        "dependency could not be installed",
        "dependencies could not be installed",
    ),
    FindingKind.COMMAND_NOT_FOUND: ("command not found", "commands not found"),
    FindingKind.NETWORK_ERROR: ("network error", "network errors"),
    FindingKind.TIMEOUT: ("timeout", "timeouts"),
    FindingKind.OUT_OF_MEMORY: ("out-of-memory error", "out-of-memory errors"),
    FindingKind.PERMISSION_DENIED: ("permission error", "permission errors"),
    FindingKind.CONFIG_ERROR: ("configuration error", "configuration errors"),
    FindingKind.INFRASTRUCTURE_ERROR: ("infrastructure error", "infrastructure errors"),
    FindingKind.PROCESS_EXIT: ("command failed", "commands failed"),
}
_FILE_NOT_FOUND = re.compile(
    r"(?:FileNotFoundError: \[Errno 2\] No such file or directory|ENOENT: no such file or "
    r"directory, \w+|No such file or directory):? '([^']+)'"
)
_SPACES = re.compile(r"\s+")
# a runner's own exit line says nothing the exit code does not
_EXIT_LINE = re.compile(r"exit code|exited with|returned exit", re.I)


def short_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """A finding's message for prose: one line, a missing file said plainly, bounded."""
    text = _SPACES.sub(" ", text).strip()
    found = _FILE_NOT_FOUND.search(text)
    if found is not None:
        text = f"cannot open {found.group(1)}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def where(finding: Finding) -> str:
    """`file:line:col`, or the file, or ''."""
    if not finding.file:
        return ""
    parts = [finding.file]
    if finding.line:
        parts.append(str(finding.line))
        if finding.column:
            parts.append(str(finding.column))
    return ":".join(parts)


def subject(finding: Finding) -> str:
    """What the finding is about, as a developer would name it."""
    if finding.kind is FindingKind.TEST_FAILURE:
        return finding.test_id or finding.file or finding.package or "a test"
    dependency = {FindingKind.DEPENDENCY_CONFLICT, FindingKind.MISSING_DEPENDENCY}
    if finding.kind in dependency and finding.package:
        if finding.requirement and finding.package in finding.requirement:
            return finding.requirement
        version = finding.version or finding.requirement
        return f"{finding.package} {version}" if version else finding.package
    if finding.kind is FindingKind.COMMAND_NOT_FOUND and finding.command:
        return finding.command
    remote = {FindingKind.NETWORK_ERROR, FindingKind.PERMISSION_DENIED}
    if finding.kind in remote and finding.host:
        return finding.host
    location = where(finding)
    if location:
        return location if not finding.code else f"{location} {finding.code}"
    return finding.command or finding.package or finding.host or finding.code or ""


def _item(finding: Finding) -> str:
    name = subject(finding)
    location = where(finding)
    if location and finding.file and finding.file not in name:
        name = f"{name} at {location}" if name else location
    message = short_message(finding.message) if finding.message else ""
    if finding.expected and finding.actual and "expected" not in message.lower():
        message = (message + "; " if message else "") + (
            f"expected {finding.expected}, got {finding.actual}"
        )
    if name and message and message != name:
        return f"{name} ({message})"
    return name or message


def _count_phrase(kind: FindingKind, count: int) -> str:
    singular, plural = _NOUNS[kind]
    return f"1 {singular}" if count == 1 else f"{count} {plural}"


def _items(findings: Sequence[Finding]) -> str:
    items = [i for i in (_item(f) for f in findings[:MAX_ITEMS]) if i]
    if len(findings) > MAX_ITEMS:
        items.append(f"and {len(findings) - MAX_ITEMS} more")
    return "; ".join(items)


def compose_summary(
    found: FindingSet, *, failing_step: str | None, exit_code: int | None
) -> str | None:
    """One or two sentences naming what failed; None when there is no finding."""
    if not found.findings:
        return None
    root = found.findings[0]
    same = [f for f in found.findings if f.kind is root.kind]
    count = found.tests_failed if root.kind is FindingKind.TEST_FAILURE else len(same)
    count = max(count, len(same))
    if root.kind is FindingKind.PROCESS_EXIT:
        command = root.command or failing_step or "the job's command"
        text = f"{command} failed" + (f" with exit code {exit_code}" if exit_code else "")
        if root.message and not _EXIT_LINE.search(root.message):
            text += f": {short_message(root.message)}"
    else:
        tool = f" ({root.tool})" if root.tool and root.kind is not FindingKind.TEST_FAILURE else ""
        text = f"{_count_phrase(root.kind, count)}{tool}: {_items(same)}"
    context = []
    if failing_step and root.kind is not FindingKind.PROCESS_EXIT:
        context.append(f"step '{failing_step}'")
    if exit_code is not None and root.kind is not FindingKind.PROCESS_EXIT:
        context.append(f"exit code {exit_code}")
    return text.rstrip(".") + "." + (f" ({', '.join(context)})" if context else "")


_ROOT_NOUNS: dict[FindingKind, str] = {
    FindingKind.TEST_FAILURE: "Failing test",
    FindingKind.COMPILE_ERROR: "Compile error",
    FindingKind.LINT_VIOLATION: "Lint violation",
    FindingKind.TYPE_ERROR: "Type error",
    FindingKind.DEPENDENCY_CONFLICT: "Dependency conflict",
    FindingKind.MISSING_DEPENDENCY: "Missing dependency",
    FindingKind.COMMAND_NOT_FOUND: "Command not found",
    FindingKind.NETWORK_ERROR: "Network error",
    FindingKind.TIMEOUT: "Timeout",
    FindingKind.OUT_OF_MEMORY: "Out of memory",
    FindingKind.PERMISSION_DENIED: "Permission denied",
    FindingKind.CONFIG_ERROR: "Configuration error",
    FindingKind.INFRASTRUCTURE_ERROR: "Infrastructure error",
    FindingKind.PROCESS_EXIT: "Failing command",
}


def compose_root_cause(found: FindingSet) -> str | None:
    """The root finding in detail (what, where, message, expected/actual, which lines), then
    the other failures of its kind and the other kinds; None when there is no finding."""
    if not found.findings:
        return None
    root = found.findings[0]
    head = _ROOT_NOUNS[root.kind] + (f" ({root.tool})" if root.tool else "")
    name = subject(root)
    location = where(root)
    if name:
        head += f": {name}"
    if location and location not in head:
        head += f" at {location}"
    parts = [head]
    if root.message and short_message(root.message) != name:
        parts.append(short_message(root.message, 300))
    if root.expected is not None or root.actual is not None:
        parts.append(f"expected {root.expected or '?'}, got {root.actual or '?'}")
    if root.requirement and root.requirement not in name:
        parts.append(f"requires {root.requirement}")
    lines = ", ".join(str(n) for n in root.evidence_lines[:5])
    text = ". ".join(parts) + (f" (line {lines})" if lines else "") + "."
    same = [f for f in found.findings[1:] if f.kind is root.kind]
    if same:
        text += f" Also: {_items(same)}."
    others = [f for f in found.findings[1:] if f.kind not in {root.kind, FindingKind.PROCESS_EXIT}]
    if others:
        also = "; ".join(f"{_NOUNS[f.kind][0]}: {_item(f)}" for f in others[:2])
        text += f" Also reported: {also}."
    return text


def placeholder_values(finding: Finding | None, *, failing_step: str | None) -> dict[str, str]:
    """What a fix template's placeholders are filled with, from `finding` and the step."""
    values: dict[str, str] = {}
    if finding is not None:
        for name in PLACEHOLDERS:
            value = getattr(finding, name, None)
            if value not in (None, ""):
                values[name] = str(value)
        if "message" in values:
            values["message"] = short_message(values["message"], 200)
        if "host" in values and "://" in values["host"]:  # steps name the host, not the URL
            values["host"] = urlsplit(values["host"]).hostname or values["host"]
    if failing_step:
        values.setdefault("step", failing_step)
    return values


def fill_template(template: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """`template` with its placeholders filled from `values`; unknown or missing ones become
    neutral markers. Returns the text and the names that were filled."""
    filled: list[str] = []
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:  # an unbalanced brace: the step is plain text
        return template, []
    for literal, name, _spec, _conv in parsed:
        out.append(literal)
        if name is None:
            continue
        if name in values and name in PLACEHOLDERS:
            out.append(values[name])
            filled.append(name)
        else:
            out.append(PLACEHOLDERS.get(name, f"<{name}>"))
    return "".join(out), list(dict.fromkeys(filled))


_NO_MODULE = re.compile(r"No module named '([\w.]+)'|Cannot find module '([^'./][^']*)'")


def _braces(text: str) -> str:
    """Log text inside a template: its braces are not placeholders."""
    return text.replace("{", "{{").replace("}", "}}")


def message_fixes(findings: Sequence[Finding], limit: int = 2) -> list[tuple[str, Finding]]:
    """Fix templates that a finding's message calls for, whatever runbook was retrieved: a
    file the failing code cannot open, a module it cannot import. At most `limit`, one per
    file or module."""
    out: list[tuple[str, Finding]] = []
    seen: set[str] = set()
    for finding in findings:
        if len(out) >= limit:
            break
        missing = _FILE_NOT_FOUND.search(finding.message)
        module = _NO_MODULE.search(finding.message)
        # the subject stays a placeholder, so the fix records what it was filled with
        who = "{test_id}" if finding.test_id else "{command}" if finding.command else "The job"
        if missing is not None and missing.group(1) not in seen:
            path = _braces(missing.group(1))
            seen.add(path)
            out.append(
                (
                    f"{who} cannot open {path}: add that file to the repository (or create it in "
                    "a step before this one), or fix the path it is built from.",
                    finding,
                )
            )
        elif module is not None:
            name = _braces(module.group(1) or module.group(2))
            if name not in seen:
                seen.add(name)
                out.append(
                    (
                        f"{who} cannot import {name}: install it in the job's environment (add "
                        "it to the dependencies the job installs) or fix the import.",
                        finding,
                    )
                )
    return out


def finding_for(category: Category | None, found: FindingSet) -> Finding | None:
    """The finding a fix of `category` is about: the first of that category, else the root."""
    if not found.findings:
        return None
    for finding in found.findings:
        if category is not None and category_of(finding.kind, finding.tool) is category:
            return finding
    return found.findings[0]
