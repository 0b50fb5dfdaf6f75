"""Secrets recognized by their context: the name they are assigned to, the flag, header, URL or
command that carries them. Each finder appends `(start, end, type)` spans for one line.

- Assignments: `NAME=value`, `name: value`, `"name": "value"`, `name => value`, their
  URL-encoded (`password%3D...`) and escaped-JSON (`\\"password\\":\\"...\\"`) forms, under any
  name `redact_names.is_secret_name` accepts (env dumps, YAML, JSON, .npmrc, .pypirc, -D
  properties, connection strings, query strings). An unquoted value runs to the next space
  (env dumps hold `pa$$;w&rd` whole); after `?`/`&` it ends at the next `&`, and when the name
  follows a `;` or `,` (a list of pairs: `;AccountKey=...;EndpointSuffix=`) at the next
  `;name=`/`,name=`.
- Flags: `--password V`, `-storepass V`, `--account-key V`; `docker login -p V`,
  `sshpass -p V`, `openssl -passin pass:V`, `curl -u user:V`, `mysql -pV`, `zip -P V`,
  `echo V | docker login --password-stdin`, `aws configure set NAME V`, `ENV NAME V`.
- Headers: `Authorization: <scheme> V`, `Cookie: a=V; b=V`, `Set-Cookie: a=V; Path=/`.
- URLs: `scheme://user:V@host` (V may hold `! $ & ; + @ %xx`), `scheme://TOKEN@host`.
- Generic: a random-looking value of 20+ characters assigned to any env-style name that is
  not an id, hash or digest (`SESSION=Zk9a...`).
"""

from __future__ import annotations

import base64
import binascii
import re

from workflowai.analysis.redact_names import (
    is_ambiguous_name,
    is_secret_name,
    is_secret_value,
    looks_random,
    name_words,
)
from workflowai.analysis.redact_shapes import Span

# words that must occur in a name for the name to be judged at all (lowercase, cheap `in`)
NAME_NEEDLES = ("pass", "pw", "psw", "secret", "token", "key", "auth", "cred", "sig", "sas")
NAME_NEEDLES += ("contrase", "cookie", "_pat", "pat_")
_NAME_RE = "pass|pw|psw|secret|token|key|auth|cred|sig|sas|contrase|cookie|_pat|pat_"
_QUOTE = r"(?:\\?[\"']|%2[27])"
_VALUE = (
    r"(?:\\\"(?P<v1>(?:[^\\]|\\(?!\"))*?)\\\""  # \"...\" (JSON inside a JSON string)
    r"|\"(?P<v2>(?:[^\"\\]|\\.)*)(?:\"|$)"  # "..." (to the end of the line if unterminated)
    r"|'(?P<v3>[^']*)(?:'|$)"
    r"|%22(?P<v4>.*?)(?:%22|$)"  # URL-encoded "..."
    r"|(?P<v5>[^\s\"'][^\s]*))"  # unquoted: to the next space, trimmed below
)
_ASSIGNMENT = re.compile(
    rf"(?<![\w.-])(?P<name>[\w.-]*?(?:{_NAME_RE})[\w.-]*){_QUOTE}?"
    rf"\s*(?:=>|:=|[:=]|%3[dDaA])\s*{_VALUE}",
    re.IGNORECASE,
)
# a secret's name with nothing after its separator: the value is on the next line(s)
TRAILING_NAME = re.compile(
    rf"(?<![\w.-])(?P<name>[\w.-]*?(?:{_NAME_RE})[\w.-]*){_QUOTE}?\s*[:=]\s*"
    r"(?P<block>[|>][+-]?\d?)?\s*$",
    re.IGNORECASE,
)
# what every _ASSIGNMENT match holds (a needle, the rest of the name, a quote, the separator),
# searched first: the full pattern tries a name at each position of the line, ~30 us a line on
# the "PASSED" lines of a pytest log, where this search finds no separator after the needle
_ASSIGNMENT_HINT = re.compile(
    rf"(?:{_NAME_RE})[\w.-]*{_QUOTE}?\s*(?:=>|:=|[:=]|%3[dDaA])", re.IGNORECASE
)
_NEXT_PAIR = re.compile(r"[;&,](?=\s?[\w.-]+=)|%22|%26(?=[\w.-]+%3[dD])")
_NEXT_ENCODED_PAIR = re.compile(r"%26(?=[\w.-]+%3[dD])")  # `...%26user%3D...`: `&user=`
_TRAILING_PUNCT = ",;)]}>'\"\\`"
_ARG = r"(?:\"(?P<v2>[^\"]*)\"|'(?P<v3>[^']*)'|(?P<v5>[^\s\"'-]\S*))"  # one argument
_FLAG = re.compile(rf"(?<![\w-])(?P<name>--?[\w-]*?(?:{_NAME_RE})[\w-]*)\s+" + _ARG, re.IGNORECASE)
_REGISTRY_LOGIN = re.compile(
    r"(?i)\b(?:docker|podman|buildah|skopeo|nerdctl|oras|helm|crane|regctl|cosign)\b.*\blogin\b"
)
_SHORT_P = re.compile(r"(?<![\w-])-p(?:\s+|=)?" + _ARG)
_SSHPASS = re.compile(r"\bsshpass\s+(?:-[^p\s]\S*\s+)*-p\s*" + _ARG)
_PASS_ARG = re.compile(r"(?<![\w-])-\w*pass\w*\s+[\"']?pass:(?P<v5>[^\s\"']+)", re.IGNORECASE)
_OPENSSL_K = re.compile(r"\bopenssl\b.*?\s-k\s+" + _ARG)
_MYSQL = re.compile(r"\b(?:mysql|mariadb)\w*\b")
_MYSQL_P = re.compile(r"(?<![\w-])-p(?P<v5>[^\s-]\S*)")
_ARCHIVE_P = re.compile(
    r"\b(?:zip|unzip|7za?|7zz|rar|unrar)\b.*?(?<![\w-])-[pP]\s*(?P<v5>[^\s-]\S*)"
)
_CURL_USER = re.compile(
    r"(?<![\w-])(?:-u|--user|-U|--proxy-user)(?:\s+|=)?[\"']?[^\s:\"']*:(?P<v5>[^\s\"']+)"
)
_ECHO_PIPE = re.compile(
    r"\b(?:echo|printf)\s+(?:-\w+\s+|%s\s+)*(?:\"(?P<v2>[^\"]+)\"|'(?P<v3>[^']+)'|(?P<v5>[^\s|]+))"
    r"\s*\|\s*[^|]*--password-stdin"
)
_CONFIG_SET = re.compile(
    r"(?:\b(?:config(?:ure)?\s+set|config|setenv|set-variable)|\bENV|\bARG)\s+(?:--?[\w-]+\s+)*"
    r"(?P<name>[^\s=\"']+)\s+(?:\"(?P<v2>[^\"]*)\"|'(?P<v3>[^']*)'|(?P<v5>[^\s\"'-]\S*))"
)
_AUTHORIZATION = re.compile(
    rf"(?i)(?<![\w-])(?:proxy-)?authorization{_QUOTE}?\s*[:=]\s*{_QUOTE}?"
    r"(?:(?P<scheme>basic|bearer|token|digest|negotiate|ntlm|otp|sso-key|apikey|key|hmac"
    r"|aws4-hmac-sha256|jwt|dpop|gitlab-ci-token)\s+)?(?P<v5>[^\s\"'\\]+)(?P<rest>[^\"'\\]*)"
)
_SCHEME_TOKEN = re.compile(r"(?i)\b(?:bearer|token)\s+(?P<v5>[A-Za-z0-9._~+/-]{16,}=*)")
_BASIC = re.compile(r"(?i)\bbasic\s+(?P<v5>[A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])")
_COOKIE = re.compile(r"(?i)(?<![\w-])(?P<set>set-)?cookie2?" + _QUOTE + r"?\s*:\s*(?P<rest>.*)")
_CURL_COOKIE = re.compile(r"(?<![\w-])(?:-b|--cookie)\s+[\"']?(?P<rest>[^\"'\s][^\"']*)")
_COOKIE_PAIR = re.compile(r"(?:^|;)\s*(?P<name>[^=;,\s\"']+)=(?P<value>[^;\"'\s]*)")
_URL_PASSWORD = re.compile(
    r"(?i)\b[a-z][a-z0-9+.-]*://(?P<user>[^\s:/?#@\"'<>]*):(?P<v5>[^\s/?#\"'<>]+)@"
)
_URL_TOKEN = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://(?P<v5>[A-Za-z0-9_.~%-]{16,})@")
# env-style `NAME=value` only: `name: value` is as often a class, a test list or a header id
_KV_ENTROPY = re.compile(
    r"(?<![\w.-])(?P<name>[A-Z][A-Z0-9_]*)=[\"']?(?P<v5>[A-Za-z0-9+/_=-]{20,})(?=[\s\"',;&]|$)"
)
_ID_WORDS = frozenset(
    {"id", "ids", "hash", "sha", "sha1", "sha256", "sha512", "md5", "digest", "checksum", "etag"}
    | {"commit", "rev", "revision", "uuid", "guid", "nonce", "integrity", "version", "build"}
    | {"fingerprint", "trace", "span", "request", "correlation", "run", "job", "node", "ref"}
)


def _value(match: re.Match[str]) -> tuple[str, int, int] | None:
    """The value group that matched and its span (quotes excluded)."""
    for group in ("v1", "v2", "v3", "v4", "v5"):
        if group in match.re.groupindex and match.group(group) is not None:
            return (group, *match.span(group))
    return None


def _trimmed(line: str, start: int, end: int, *, query: bool, pairs: bool) -> int:
    """End of an unquoted value: before trailing punctuation and, in a list of `name=value`
    pairs (`pairs`), before the next `;name=`/`&name=` (connection and query strings)."""
    value = line[start:end]
    if query:
        cut = min((i for i in (value.find("&"), value.find("#")) if i >= 0), default=-1)
        value = value[:cut] if cut >= 0 else value
    else:
        nxt = (_NEXT_PAIR if pairs else _NEXT_ENCODED_PAIR).search(value)
        value = value[: nxt.start()] if nxt is not None else value
    return start + len(value.rstrip(_TRAILING_PUNCT))


def _add(spans: list[Span], line: str, start: int, end: int, kind: str) -> None:
    if end > start and is_secret_value(line[start:end].strip()):
        spans.append((start, end, kind))


def _add_match(
    spans: list[Span],
    line: str,
    match: re.Match[str],
    kind: str,
    *,
    query: bool = False,
    pairs: bool = False,
) -> None:
    found = _value(match)
    if found is None:
        return
    group, start, end = found
    if group == "v5":  # unquoted: runs to the next space, which may hold the next pair
        raw = line[start:end]
        if not (is_secret_value(raw) and is_secret_value(raw.rstrip(",;'\"`"))):
            return  # `[secure]',` `${X}` before trimming could cut them into something else
        end = _trimmed(line, start, end, query=query, pairs=pairs)
    _add(spans, line, start, end, kind)


def find_assignments(line: str, spans: list[Span]) -> None:
    """Secret-named assignments; run after `find_url_credentials` (a `name=` inside a URL's
    password is part of that password)."""
    if _ASSIGNMENT_HINT.search(line) is None:
        return
    in_urls = [(s, e) for s, e, kind in spans if kind == "url-credentials"]
    for match in _ASSIGNMENT.finditer(line):
        name = match.group("name")
        start = match.start()
        if not is_secret_name(name) or line[max(0, start - 3) : start] == "://":
            continue
        if any(s <= start < e for s, e in in_urls):
            continue
        if name_words(name)[-1:] in (["authorization"], ["cookie"], ["cookie2"]):
            continue  # header finders know the scheme word and the `name=value` pairs
        before = line[start - 1] if start > 0 else ""
        query = before in ("?", "&")
        if (
            match.group("v5") is not None
            and is_ambiguous_name(name)
            and ":" in match.group(0)[len(name) : match.start("v5") - start]
            and not looks_random(match.group("v5").rstrip(_TRAILING_PUNCT), min_length=8)
        ):
            continue  # `PASS: test_x`, `token: ']'`: `name: word` reads as output, not a secret
        if name == "PASS" and match.group("v5") is not None:
            continue  # `PASS: TestX`, `--- PASS: TestX (0.1s)`: a test result
        if (match.group("v5") or "").rstrip(_TRAILING_PUNCT + ".") == name.rstrip("."):
            continue  # `sess.key. => memc.sess.key.`: a setting listed with its own name
        # in a list of pairs (`;AccountKey=...;Suffix=`, `--set a=1,b.password=x,c=2`) the value
        # ends at the next pair; elsewhere (`DB_PASS=pa;ss=w`) at the next space
        pairs = before in (";", ",")
        _add_match(spans, line, match, "secret-assignment", query=query, pairs=pairs)


def find_flags(line: str, low: str, spans: list[Span], *, named: bool) -> None:
    """Flags and commands; `named`: the line holds one of NAME_NEEDLES (else no flag name can
    be a secret's)."""
    if named:
        for match in _FLAG.finditer(line):
            name = match.group("name")
            if name[1] != "-" and not name[1:].islower():
                continue  # `-pHunter2Secret ssh`: a short flag glued to its value, not a name
            if is_secret_name(name) and not name.lower().endswith(("-stdin", "-file", "-env")):
                _add_match(spans, line, match, "password-flag")
    finders: list[tuple[bool, re.Pattern[str]]] = [
        ("login" in low and _REGISTRY_LOGIN.search(line) is not None, _SHORT_P),
        ("sshpass" in low, _SSHPASS),
        ("pass:" in low, _PASS_ARG),
        ("openssl" in low, _OPENSSL_K),
        ("curl" in low, _CURL_USER),
        ("-stdin" in low, _ECHO_PIPE),
        ("zip" in low or "7z" in low or "rar" in low, _ARCHIVE_P),
    ]
    if "mysql" in low or "mariadb" in low:
        finders.append((_MYSQL.search(line) is not None, _MYSQL_P))
    for wanted, pattern in finders:
        if wanted:
            for match in pattern.finditer(line):
                _add_match(spans, line, match, "password-flag")
    if named and ("config" in low or "ENV" in line or "ARG" in line or "setenv" in low):
        for match in _CONFIG_SET.finditer(line):
            if is_secret_name(match.group("name")):
                _add_match(spans, line, match, "secret-assignment")


def find_headers(line: str, low: str, spans: list[Span]) -> None:
    if "authorization" in low:
        for match in _AUTHORIZATION.finditer(line):
            scheme = (match.group("scheme") or "").lower()
            start, end = match.span("v5")
            if scheme in ("digest", "aws4-hmac-sha256", "hmac", "negotiate", "ntlm"):
                end = match.end("rest")  # parameters to the end: `Credential=..., Signature=...`
            _add(spans, line, start, end, "authorization")
    if "bearer" in low or "token " in low:
        for match in _SCHEME_TOKEN.finditer(line):
            value = match.group("v5")
            if "bearer" in match.group(0).lower() or looks_random(value):
                _add_match(spans, line, match, "bearer-token")
    if "basic " in low:
        for match in _BASIC.finditer(line):
            if _is_basic_credential(match.group("v5")):
                _add_match(spans, line, match, "authorization")
    if "cookie" in low:
        for match in _COOKIE.finditer(line):
            _cookie_values(line, match, spans, first_only=bool(match.group("set")))
    if "curl" in low and ("-b " in low or "--cookie " in low):
        for match in _CURL_COOKIE.finditer(line):
            _cookie_values(line, match, spans, first_only=False)


def _is_basic_credential(value: str) -> bool:
    """`Basic <base64 of user:password>`: decodes to printable text with a colon."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in text and text.isprintable()


def _cookie_values(line: str, match: re.Match[str], spans: list[Span], *, first_only: bool) -> None:
    offset = match.start("rest")
    for pair in _COOKIE_PAIR.finditer(match.group("rest")):
        start, end = pair.span("value")
        if end > start:
            spans.append((offset + start, offset + end, "cookie"))
        if first_only:
            return


def find_url_credentials(line: str, spans: list[Span]) -> None:
    for match in _URL_PASSWORD.finditer(line):
        _add_match(spans, line, match, "url-credentials")
    for match in _URL_TOKEN.finditer(line):
        token = match.group("v5")
        if looks_random(token, min_length=16) or (
            len(token) >= 32 and any(c.isdigit() for c in token)
        ):
            _add_match(spans, line, match, "url-credentials")


def find_high_entropy(line: str, spans: list[Span]) -> None:
    for match in _KV_ENTROPY.finditer(line):
        words = name_words(match.group("name"))
        if words and not _ID_WORDS.intersection(words) and looks_random(match.group("v5")):
            start, end = match.span("v5")
            spans.append((start, end, "high-entropy"))
