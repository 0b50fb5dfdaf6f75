"""Is this name a secret's name, is this value a real value? The judgements context rules share.

A name is split into words (`DB_PASS` -> db, pass; `AccountKey` -> account, key;
`_authToken` -> auth, token) and is a secret's name when a word says so: password, passphrase,
secret, credential, token, auth, pass, pwd, sig(nature), cookie, or `key` qualified by another
word (`api_key`, `ACCOUNT_KEY`, not `cache key` or `primary_key`). A last word that describes
the secret instead of holding it (`token_url`, `password_file`, `TokenService`,
`InvalidTokenException`) makes it not one. A value is not a secret when it is a placeholder, a
variable reference, a mask another tool already applied (`***`, `[secure]`, `[MASKED]`), a
boolean, a short number or a word that reports a state (`expired`, `required`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STRONG_PARTS = ("password", "passwd", "passphrase", "passwort", "contrase", "secret", "credential")
_STRONG_WORDS = frozenset(
    {
        "pass", "pwd", "pw", "psw", "pswd", "token", "auth", "sas", "cookie", "creds", "cred",
        "apikey", "authtoken", "accesstoken", "apitoken", "privatekey", "accesskey", "secretkey",
        "accountkey", "authkey", "masterkey", "sshkey", "privkey", "signingkey", "deploykey",
        "pat",
    }
)  # fmt: skip
_NOT_PASS = frozenset(
    {"bypass", "compass", "overpass", "underpass", "trespass", "surpass", "askpass"}
)
_NOT_TOKEN = frozenset({"tokenizer", "tokenizers", "tokenize", "tokenized", "tokens"})
_NOT_AUTH = frozenset({"oauth"})  # `oauth: true`; OAUTH_TOKEN is caught by `token`
# `key` with one of these is an identifier, not a credential (cache key, primary key, key id)
_KEY_CONTEXT = frozenset(
    {
        "cache", "primary", "foreign", "sort", "partition", "routing", "map", "dict", "lookup",
        "public", "pub", "object", "s3", "bucket", "row", "column", "index", "unique",
        "idempotency", "dedup", "group", "hash", "shard", "name", "composite", "natural",
        "surrogate", "known", "host", "hot", "translation", "i18n", "message", "label", "setting",
        "config", "registry", "metric", "option", "property", "json", "yaml", "field", "attribute",
        "state", "react", "list", "item", "node", "cursor", "search", "query", "sorting",
    }
)  # fmt: skip
# a last word that says what the secret is about, not the secret itself
_DESCRIBES = frozenset(
    {
        "type", "types", "method", "mode", "url", "uri", "urls", "endpoint", "host", "provider",
        "user", "username", "name", "names", "id", "ids", "file", "files", "path", "paths", "dir",
        "directory", "env", "enabled", "enable", "disabled", "required", "length", "len", "count",
        "expiry", "expires", "expiration", "expired", "ttl", "timeout", "scope", "scopes",
        "policy", "prompt", "manager", "helper", "hint", "reset", "field", "fields", "min", "max",
        "rotation", "changed", "algorithm", "algo", "alg", "format", "version", "kind", "source",
        "location", "stdin", "reason", "status", "valid", "error", "errors", "storage", "store",
        "header", "headers", "prefix", "suffix", "label", "description", "ref", "arn", "region",
        "index", "fingerprint", "size", "bits", "usage", "exists", "present", "missing",
        "available", "class", "schema", "template", "var", "variable", "lifetime", "duration",
        "regex", "pattern", "rule", "rules", "check", "checker", "validator", "validation",
        "strength", "complexity", "level", "number", "limit", "placeholder", "input", "service",
        "services", "handler", "filter", "factory", "interceptor", "exception", "test", "tests",
        "spec", "util", "utils", "controller", "module", "impl", "generator", "parser", "resolver",
        "repository", "loader", "cache", "mgr", "list", "map", "set", "flow", "request",
        "response", "view", "page", "form", "action", "command", "plugin", "extension",
        "middleware", "strategy", "backend", "server", "verification", "verifier", "verify",
        "refresh", "issuer", "audience", "claims", "age", "at", "in", "on", "used", "created",
        "updated", "secs", "seconds", "minutes", "hours", "days", "ms", "encoding", "sha", "sha1",
        "sha256", "md5", "digest", "checksum", "integrity", "mount", "volume", "volumes", "refs",
        "role", "roles", "permissions", "permission", "account", "accounts", "email", "mail",
        "login", "domain", "realm", "tenant", "client", "localhost", "com", "org", "net", "io",
        "local", "internal",
    }
)  # fmt: skip
# a first word that makes the name a switch about the secret (`--with-password-argon2=/usr`)
_SWITCHES = frozenset(
    {"with", "without", "enable", "disable", "use", "no", "is", "has", "should", "allow"}
    | {"require", "requires", "skip", "show", "check", "validate", "verify", "test"}
)
_CODE_FILE = re.compile(
    r"\.(?:py|pyc|go|java|kt|kts|scala|groovy|rb|js|jsx|mjs|cjs|ts|tsx|c|cc|cpp|cxx|h|hpp|rs"
    r"|cs|fs|vb|php|pl|pm|swift|m|mm|dart|ex|exs|erl|hs|ml|clj|lua|r|jl|sh|bash|ps1|tf|sol"
    r"|vue|svelte|html|css|scss|yml|yaml|json|xml|toml|ini|cfg|conf|properties|gradle|md"
    r"|txt|log|lock|class|jar|so|o|a|dll|exe|zip|gz|tar|whl|gem|nupkg|pem|crt|cer|key|pub"
    r"|p12|pfx|jks|der|gpg|asc|sig|enc|rst)$",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"""(?ix)^(?:
        \**|x{3,}|X{3,}|\.{3}|-+|_+|#+|\?+                  # masks: ***, xxx, ..., ---
        |<[^<>]*>|\[[^\[\]]*\]|\([^()]*\)|\{\}|\[\]          # <your-token>, [secure], [MASKED]
        |\$\{\{.*|\$\{.*\}?|\$\(.*\)?|\$[A-Za-z_][\w.]*|\$\d  # ${{ secrets.X }}, ${X}, $(cmd), $X
        |%[A-Za-z_][\w.]*%|\{\{.*\}\}?|\{\{.*|@[A-Za-z_]\w*@|__[A-Za-z_]\w*__|\#\{.*\}?
        |null|nil|none|undefined|true|false|yes|no|on|off|enabled|disabled|empty|unset
        |required|optional|str|string|int|bool|boolean|object|any|dict|list|bytes|secretstr
        |redacted|hidden|masked|filtered|omitted|sensitive|removed|secret|password|token
        |invalid|expired|missing|found|provided|supplied|given|specified|incorrect|wrong
        |denied|failed|error|ok|valid|present|absent|unavailable|updated|created|deleted
        |saved|stored|rotated|revoked|changed|accepted|rejected|refreshed|generated|not
        |is|are|was|were|has|have|the|a|an|for|from|to|of|and|or|set|default|env|file|stdin
        |prompt|inherit|auto|automatic|none\)|n/a|na|tbd|todo|new|migrating|migrated
        |(?-i:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)|:.*           # an env var's name; `x::cast`
    )$""",
)


# code, not a value: `frames.nextToken()`, `ref1[j]`, `i}else`
_CAMEL = re.compile(r"[A-Za-z][a-z0-9]+(?:[A-Z][a-z0-9]*)+")
_CALL = re.compile(r"[A-Za-z_$][\w.$]*[(\[]|.*[{}]")


def name_words(name: str) -> list[str]:
    """`DB_PASS` -> [db, pass]; `AccountKey` -> [account, key]; `_authToken` -> [auth, token]."""
    return [w.lower() for w in _WORD.findall(name)]


def _says_secret(word: str, words: list[str]) -> bool:
    if word == "sig":  # SAS `sig=`; `scriptSig`, `sig_handler` are not secrets
        return words == ["sig"]
    if word in ("pwd", "oldpwd") and len(words) == 1:  # the shell's working directory
        return False
    if word == "signature":  # a signed URL's `Signature=`, `X-Amz-Signature=`; not `mojo.signature`
        return words == ["signature"] or words[-3:-1] in (["x", "amz"], ["x", "goog"])
    if word in _STRONG_WORDS:
        return True
    for part in (*_STRONG_PARTS, "token"):
        if part in word:  # `passwordfile`, `tokenfilter` describe the secret: not one
            return word not in _NOT_TOKEN and word.split(part)[-1] not in _DESCRIBES
    if word.endswith("pass"):  # sshpass, storepass, DBPASS
        return word not in _NOT_PASS
    if word.endswith("auth") and len(word) > 4:  # basicauth, npmauth
        return word not in _NOT_AUTH
    if word == "key":
        others = [w for w in words if w != "key"]
        return bool(others) and not any(w in _KEY_CONTEXT for w in others)
    return False


def is_secret_name(name: str) -> bool:
    """Does this variable, key, flag or header name hold a secret (see the module docstring)?"""
    if _CODE_FILE.search(name):  # `auth.go:12:`, `test_password.py:3:` are file positions
        return False
    words = name_words(name)
    if not words or words[-1] in _DESCRIBES or words[0] in _SWITCHES:
        return False
    return any(_says_secret(w, words) for w in words)


# one-word names that also head ordinary output (`PASS: test_x`, `token: ']'`, `Secret: none`)
_AMBIGUOUS = frozenset(
    {"pass", "token", "auth", "key", "signature", "cookie", "secret", "secrets", "pat", "cred"}
    | {"creds", "credential", "credentials", "sig", "sas", "jwt"}
)


def is_ambiguous_name(name: str) -> bool:
    """A name that heads ordinary output as often as a secret: one word such as `PASS`/`token`,
    a camelCase name (a class, method or migration: `AddAuthTokenToUsers: migrating`) or a
    lowercase name whose only secret word is `pass` (`elixir_erl_pass`, a compiler pass).
    Env-style names (`DB_PASS`) are never ambiguous."""
    if "_" in name and name.isupper():
        return False
    if _CAMEL.fullmatch(name):
        return True
    words = name_words(name)
    if len(words) == 1:
        return words[0] in _AMBIGUOUS
    return [w for w in words if _says_secret(w, words)] == ["pass"]


def is_secret_value(value: str) -> bool:
    """A plausible secret, not a placeholder, a variable reference, a mask or a state word."""
    if len(value) < 3 or value.startswith("[REDACTED"):
        return False
    if value.isdigit() and len(value) < 6:  # counts, ports, line numbers
        return False
    if _PLACEHOLDER.match(value) or _CALL.match(value):
        return False
    return not value.endswith(("(", "{", "[", "=>", "->"))


def shannon_entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


_HEX = re.compile(r"[0-9a-fA-F]+")


def _char_class(ch: str) -> int:
    return 0 if ch.islower() else 1 if ch.isupper() else 2 if ch.isdigit() else 3


def looks_random(value: str, *, min_length: int = 20) -> bool:
    """A generated credential, not a word, an identifier, a path or a hash: lower and upper case
    and digits, high entropy, and the character class changing often (in base62/base64 about
    every other character; in `testWithNewSomething_withlog1` once in six)."""
    if len(value) < min_length or _HEX.fullmatch(value) or "/" in value.strip("/+="):
        return False
    classes = [_char_class(ch) for ch in value]
    if not {0, 1, 2} <= set(classes):
        return False
    changes = sum(a != b for a, b in itertools.pairwise(classes))
    if changes < 0.3 * (len(value) - 1):
        return False
    return shannon_entropy(value) >= min(4.0, 0.8 * math.log2(len(value)))
