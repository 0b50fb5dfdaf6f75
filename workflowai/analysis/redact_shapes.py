"""Secret values recognized by their shape alone, whatever name or context they appear under.

Each shape is a vendor's documented token format (a fixed prefix, a length, an alphabet), so a
match is a secret with near certainty and is redacted wherever it stands: in an env dump under
an innocuous name (`SENDGRID=SG....`), in a URL, in JSON or in prose. Where detect-secrets
already has the pattern it is reused; the others are written from the vendors' formats.

Each rule carries *needles*: literal substrings at least one of which a match must contain. A
line is searched with a rule's regex only when one of its needles is in it. Tokens are long
runs of `[A-Za-z0-9_.-]`, so needles are looked for in the line's runs of 16+ such characters
only (one regex scan; a third of real log lines have none, the rest have few), except for the
rules marked `anywhere` whose match is not one run (`-----BEGIN ... PRIVATE KEY-----`). Logs of
hundreds of MB stream through here: a regex of literals only (no classes, no IGNORECASE)
scans ~10x faster than one that mixes in character classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.sendgrid import SendGridDetector

Span = tuple[int, int, str]  # (start, end, type): text[start:end] is a secret of that type

BEGIN_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
END_KEY = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
# detect-secrets' markers: PEM headers plus PuTTY's key file
KEY_MARKERS = re.compile("|".join(p.pattern for p in PrivateKeyDetector.denylist))


@dataclass(frozen=True)
class Shape:
    kind: str
    needles: tuple[str, ...]  # case-sensitive; see the module docstring
    pattern: re.Pattern[str]
    group: int = 0  # the group holding the secret (0: the whole match)
    anywhere: bool = False  # look for the needles in the whole line, not only in long runs


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    # (?<![\w]) / (?![\w]) keep a token from matching inside a longer identifier
    return re.compile(pattern, flags)


_END = r"(?![A-Za-z0-9_])"
# every prefix detect-secrets' GitLab patterns name (glpat, gldt, glrt, glcbt, ...)
_GITLAB_PREFIXES = tuple(
    sorted({m for p in GitLabTokenDetector.denylist for m in re.findall(r"gl[a-z]+", p.pattern)})
)
_START = r"(?<![A-Za-z0-9_])"

SHAPES: tuple[Shape, ...] = (
    Shape(
        "private-key",
        ("PRIVATE KEY",),
        # the key between its markers, which stay visible (a key printed on one line, `\n`s)
        _re(rf"{BEGIN_KEY.pattern}(.+?)(?:{END_KEY.pattern}|$)"),
        1,
        anywhere=True,
    ),
    Shape(
        "aws-access-key",
        ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
        _re(rf"(?<![A-Z0-9]){AWSKeyDetector.denylist[0].pattern}(?![A-Z0-9])"),
    ),
    # AWS's own names for the secret key: `aws_secret_access_key = V`, `SecretAccessKey: V`,
    # `aws configure set aws_secret_access_key V`
    Shape(
        "aws-secret-key",
        ("ecret_access_key", "ECRET_ACCESS_KEY", "ecretAccessKey"),
        _re(r"(?i)secret_?access_?key[\"']?\s*(?:[=:]|\s)\s*[\"']?([A-Za-z0-9/+]{40})(?![\w/+])"),
        1,
    ),
    # detect-secrets: `aws ... key ... "<40 chars>"` (a quoted secret key near its name)
    Shape("aws-secret-key", ("aws", "AWS", "Aws"), AWSKeyDetector.denylist[1], 1),
    # Azure storage: `AccountKey=<base64>` (88 characters for a real key) in connection strings,
    # `SharedAccessKey=` (Service Bus, Event Hubs); SAS tokens' `sig=` signature
    Shape(
        "azure-storage-key",
        ("AccountKey=", "SharedAccessKey="),
        _re(r"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{20,}={0,2})"),
        1,
        anywhere=True,
    ),
    Shape(
        "azure-sas",
        ("sig=",),
        _re(r"(?<![\w-])sig=([A-Za-z0-9%+/=]{16,})"),
        1,
        anywhere=True,
    ),
    Shape(
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        _re(rf"{_START}(?:gh[pousr]_[A-Za-z0-9_]{{36,251}}|github_pat_[A-Za-z0-9_]{{22,255}})"),
    ),
    # GitLab's token prefixes (the ones detect-secrets knows), one regex for all
    Shape(
        "gitlab-token",
        (*(f"{p}-" for p in _GITLAB_PREFIXES), "GR1348941"),
        _re(
            rf"{_START}(?:(?:{'|'.join(_GITLAB_PREFIXES)})-(?:[0-9a-fA-F]{{2}}_)?"
            rf"[A-Za-z0-9_-]{{20,1024}}|GR1348941[A-Za-z0-9_-]{{20,50}}){_END}"
        ),
    ),
    # Atlassian: Bitbucket app passwords (ATBB), API tokens (ATATT3), access tokens (ATCTT3)
    Shape(
        "bitbucket-token",
        ("ATBB", "ATATT", "ATCTT"),
        _re(rf"{_START}AT(?:BB|ATT3|CTT3)[A-Za-z0-9_=+/.-]{{24,}}"),
    ),
    Shape("npm-token", ("npm_",), _re(rf"{_START}npm_[A-Za-z0-9]{{36}}{_END}")),
    Shape("pypi-token", ("pypi-AgE",), _re(r"pypi-AgE[A-Za-z0-9_-]{50,}")),
    Shape("nuget-key", ("oy2",), _re(rf"{_START}oy2[a-z0-9]{{43}}{_END}")),
    Shape("rubygems-token", ("rubygems_",), _re(rf"{_START}rubygems_[0-9a-f]{{48}}{_END}")),
    Shape("docker-hub-token", ("dckr_",), _re(rf"{_START}dckr_(?:pat|oat)_[A-Za-z0-9_-]{{20,}}")),
    Shape(
        "slack-token",
        ("xox", "xapp-"),
        _re(r"xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{20,}"),
    ),
    Shape(
        "slack-webhook",
        ("hooks.slack.com",),
        _re(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]+"),
        anywhere=True,
    ),
    Shape(
        "stripe-key",
        ("k_live_", "k_test_", "whsec_"),
        _re(rf"{_START}(?:[rs]k_(?:live|test)_[0-9A-Za-z]{{16,247}}|whsec_[A-Za-z0-9]{{24,}})"),
    ),
    Shape("sendgrid-key", ("SG.",), SendGridDetector.denylist[0]),
    # Twilio: API key SIDs (SK...) and account SIDs (AC...) are 32 lowercase hex digits
    Shape("twilio-key", ("SK", "AC"), _re(rf"{_START}(?:SK|AC)[0-9a-f]{{32}}{_END}")),
    Shape("google-api-key", ("AIza",), _re(r"AIza[0-9A-Za-z_-]{35}")),
    Shape(
        "google-oauth",
        ("GOCSPX-", "ya29."),
        _re(r"GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{20,}"),
    ),
    Shape(
        "jwt",
        ("eyJ",),
        # detect-secrets' JWT pattern ends lazily, which on a log line stops before the signature
        _re(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"),
    ),
    Shape(
        "ai-api-key",
        ("sk-", "hf_"),
        _re(
            rf"{_START}(?:sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?[A-Za-z0-9_-]{{20,}}"
            rf"T3BlbkFJ[A-Za-z0-9_-]{{20,}}|sk-(?:proj|svcacct|ant-api\d\d)-[A-Za-z0-9_-]{{40,}}"
            rf"|hf_[A-Za-z0-9]{{34}}{_END})"
        ),
    ),
    Shape(
        "cloud-token",
        ("_v1_", "hvs.", "hvb.", "atlasv1.", "shp", "dapi", "NRAK-"),
        _re(
            rf"{_START}(?:do[por]_v1_[a-f0-9]{{64}}|hv[sb]\.[A-Za-z0-9_-]{{24,}}"
            rf"|[A-Za-z0-9]{{14}}\.atlasv1\.[A-Za-z0-9_-]{{60,}}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{{32}}"
            rf"|dapi[a-f0-9]{{32}}(?:-\d)?|NRAK-[A-Z0-9]{{27}}){_END}"
        ),
    ),
    Shape(
        "mail-api-key",
        ("key-", "-us"),
        _re(rf"{_START}(?:key-[0-9a-f]{{32}}|[0-9a-f]{{32}}-us\d{{1,2}}){_END}"),
    ),
    Shape(
        "square-token",
        ("sq0", "EAAA"),
        _re(rf"{_START}(?:sq0(?:atp|csp)-[0-9A-Za-z_-]{{22,43}}|EAAA[A-Za-z0-9_-]{{60}}){_END}"),
    ),
    Shape("age-key", ("AGE-SECRET-KEY-",), _re(r"AGE-SECRET-KEY-1[0-9A-Z]{58}")),
)


_RUN = re.compile(r"[A-Za-z0-9_.-]{16,}")


def _literals(needles: set[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in sorted(needles)))


_RUN_NEEDLES = _literals({n for shape in SHAPES if not shape.anywhere for n in shape.needles})
_LINE_NEEDLES = _literals({n for shape in SHAPES if shape.anywhere for n in shape.needles})


def find_shapes(line: str, spans: list[Span]) -> None:
    """Append a span for every shaped secret on `line`."""
    runs = " ".join(_RUN.findall(line))
    if (not runs or _RUN_NEEDLES.search(runs) is None) and _LINE_NEEDLES.search(line) is None:
        return
    for shape in SHAPES:
        text = line if shape.anywhere else runs
        if not any(map(text.__contains__, shape.needles)):
            continue
        for match in shape.pattern.finditer(line):
            start, end = match.span(shape.group)
            if end > start:
                spans.append((start, end, shape.kind))
