"""Secret redaction: applied to every log line before anything is stored, shown or sent.

Token shapes reuse detect-secrets' plugin regexes (AWS, GitHub, GitLab, Slack, Stripe, npm,
PyPI, JWT, basic auth in URLs, private-key headers); our own patterns cover what those plugins
do not match as values on a log line: fine-grained GitHub PATs, npm tokens, Bearer headers,
`password=`/`token:`/JSON `"secret": "..."` assignments, `-p`/`--password` flags, multi-line
private key blocks and high-entropy values in key=value form.

A secret becomes `[REDACTED:<type>]`; `Redactor.counts` counts redactions by type, never values.
Line count is preserved: a key block's body lines become `[REDACTED:private-key]` one by one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector

MARK = "[REDACTED:{}]"
# a key block that never ends stops being redacted after this many lines (bounded damage)
MAX_KEY_BLOCK_LINES = 200

_KEY_NAMES = (
    r"(?:[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey"
    r"|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?))"
)
_VALUE = r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;\"'&]+)"
_ASSIGNMENT = re.compile(
    rf"(?P<key>\"?{_KEY_NAMES}\"?)(?P<sep>\s*[:=]\s*|\s+=>\s+)" + _VALUE, re.IGNORECASE
)
_FLAG = re.compile(
    r"(?P<key>(?<![\w-])(?:--password|--passwd|--token|--api-key|--secret)(?:=|\s+))" + _VALUE,
    re.IGNORECASE,
)
# mysql-style `-pSECRET` (no space; `-p name` is a prompt plus a database name)
_MYSQL_FLAG = re.compile(r"(?<![\w-])-p(?P<value>[^\s-]\S*)")
_MYSQL_TOOLS = re.compile(r"\b(?:mysql\w*|mariadb\w*)\b", re.IGNORECASE)
_KV_ENTROPY = re.compile(
    r"(?P<key>\b[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*)[\"']?(?P<value>[A-Za-z0-9+/_=-]{20,})"
    r"(?=[\s\"',;&]|$)"
)
_BEGIN_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_END_KEY = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_MARKERS = re.compile("|".join(p.pattern for p in PrivateKeyDetector.denylist))
# one cheap search first: a line with none of these shapes holds no secret we can detect
_TRIGGER = re.compile(
    r"AKIA|ASIA|ABIA|ACCA|A3T|gh[pousr]_|github_pat_|gl[a-z]{2,6}-|GR1348941|xox|hooks\.slack"
    r"|k_live_|k_test_|npm_|_authToken|pypi-|eyJ|://[^\s/]*@|PRIVATE KEY|PuTTY"
    r"|(?i:mysql|mariadb|pass(?:w|phrase|\b)|pwd|secret|token|api.?key|access.?key|auth|private|credential|bearer)|[=:]\s*[\"']?[A-Za-z0-9+/_=-]{20}"
)


def _detect_secrets(plugin: type, *, first_only: bool = False) -> list[re.Pattern[str]]:
    patterns = list(plugin.denylist)  # type: ignore[attr-defined]
    return patterns[:1] if first_only else patterns


# (type, pattern, group to replace: 0 = whole match)
_TOKEN_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    *[("private-key", p, 0) for p in [re.compile(rf"{_BEGIN_KEY.pattern}.*?{_END_KEY.pattern}")]],
    *[("aws-access-key", p, 0) for p in _detect_secrets(AWSKeyDetector, first_only=True)],
    ("aws-secret-key", AWSKeyDetector.denylist[1], 1),
    (
        "aws-secret-key",
        re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*[\"']?([A-Za-z0-9/+]{40})"),
        1,
    ),
    ("github-token", re.compile(r"github_pat_[A-Za-z0-9_]{22,255}"), 0),
    *[("github-token", p, 0) for p in _detect_secrets(GitHubTokenDetector)],
    *[("gitlab-token", p, 0) for p in _detect_secrets(GitLabTokenDetector)],
    *[("slack-token", p, 0) for p in _detect_secrets(SlackDetector)],
    ("stripe-key", re.compile(r"(?:r|s|p)k_(?:live|test)_[0-9a-zA-Z]{24,99}"), 0),
    *[("stripe-key", p, 0) for p in _detect_secrets(StripeDetector)],
    ("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0),
    ("npm-token", re.compile(NpmDetector.denylist[0].pattern.replace(".*", "")), 1),
    *[("pypi-token", p, 0) for p in _detect_secrets(PypiTokenDetector)],
    # detect-secrets' JWT pattern ends lazily, which on a log line stops before the signature
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), 0),
    *[("jwt", p, 0) for p in _detect_secrets(JwtTokenDetector)],
    ("url-credentials", BasicAuthDetector.denylist[0], 1),
    ("bearer-token", re.compile(r"(?i)\b(?:bearer|token)\s+([A-Za-z0-9._~+/-]{16,}=*)"), 1),
]


def shannon_entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _looks_random(value: str) -> bool:
    """High-entropy and mixed character classes: a generated credential, not a word or a path."""
    if len(value) < 20 or re.fullmatch(r"[0-9a-f]+", value) or "/" in value.strip("/+="):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 3 and shannon_entropy(value) >= 4.0


class Redactor:
    """Stateful line redactor (state: inside a multi-line private key block)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._in_key_block = 0

    def redact_line(self, line: str) -> str:
        """One line with every secret replaced by `[REDACTED:<type>]`."""
        if self._in_key_block:
            end = _END_KEY.search(line)
            if end is not None:
                self._in_key_block = 0
                return MARK.format("private-key") + self.redact_line(line[end.end() :])
            self._in_key_block += 1
            if self._in_key_block > MAX_KEY_BLOCK_LINES:
                self._in_key_block = 0
            return MARK.format("private-key")
        if _TRIGGER.search(line) is None:
            return line
        for kind, pattern, group in _TOKEN_PATTERNS:
            line = self._sub(line, pattern, group, kind)
        begin = _BEGIN_KEY.search(line) or _KEY_MARKERS.search(line)
        if begin is not None:
            self.counts["private-key"] += 1
            self._in_key_block = 1
            return line[: begin.start()] + MARK.format("private-key")
        line = self._sub_assignments(line)
        return line

    def _sub(self, line: str, pattern: re.Pattern[str], group: int, kind: str) -> str:
        def replace(match: re.Match[str]) -> str:
            value = match.group(group) if match.lastindex or group == 0 else None
            if not value or value.startswith("[REDACTED"):
                return match.group(0)
            self.counts[kind] += 1
            start, end = match.span(group)
            whole = match.group(0)
            offset = match.start(0)
            return whole[: start - offset] + MARK.format(kind) + whole[end - offset :]

        return pattern.sub(replace, line)

    def _sub_assignments(self, line: str) -> str:
        line = self._sub_value(line, _ASSIGNMENT, "value", "secret-assignment", _is_secret_value)
        line = self._sub_value(line, _FLAG, "value", "password-flag", _is_secret_value)
        if _MYSQL_TOOLS.search(line):
            line = self._sub_value(line, _MYSQL_FLAG, "value", "password-flag", _is_secret_value)
        return self._sub_value(line, _KV_ENTROPY, "value", "high-entropy", _looks_random)

    def _sub_value(
        self,
        line: str,
        pattern: re.Pattern[str],
        group: str,
        kind: str,
        accept: Callable[[str], bool],
    ) -> str:
        def replace(match: re.Match[str]) -> str:
            value = match.group(group)
            if value is None or not accept(value.strip("\"'")):
                return match.group(0)
            self.counts[kind] += 1
            quote = value[0] if value[:1] in "\"'" and len(value) > 1 else ""
            start, end = match.span(group)
            offset = match.start(0)
            whole = match.group(0)
            return (
                whole[: start - offset] + quote + MARK.format(kind) + quote + whole[end - offset :]
            )

        return pattern.sub(replace, line)


_PLACEHOLDERS = re.compile(
    r"^(?:\*+|x+|<[^>]*>|\$\{?[A-Za-z_][\w.]*\}?|\$\(.*\)|%[A-Za-z_]+%|\{\{.*\}\}|null|none|true"
    r"|false|required|optional|str|string|\[REDACTED.*|\[?masked\]?|\*\*\*|\(\)|\(?)$",
    re.IGNORECASE,
)


def _is_secret_value(value: str) -> bool:
    """A plausible secret, not a placeholder, a variable reference, masked text or a type."""
    if len(value) < 4 or _PLACEHOLDERS.match(value):
        return False
    return not value.endswith(("(", ")", "{", "["))


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    """Redact a whole text (any number of lines); returns it with counts by secret type."""
    redactor = Redactor()
    lines = [redactor.redact_line(line) for line in text.split("\n")]
    return "\n".join(lines), dict(redactor.counts)
