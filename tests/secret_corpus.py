"""A corpus of format-valid FAKE secrets embedded in realistic CI log lines, built at run time.

Nothing here is a real credential and nothing is stored: every value is drawn from a seeded
`random.Random` in the vendor's documented format (prefix, length, alphabet), so the same seed
gives the same corpus. Used by `tests/unit/test_redaction_corpus.py` (every value must be
redacted) and `bench/redaction_quality.py` (recall per kind).

A `Case` is a few log lines (an ordinary line before and after the secret's own lines), the
secret values that must not survive redaction, and the words around them that must.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

SEED = 1616
PER_KIND = 50
MIN_LEAK = 8  # a value leaks when any substring of it this long survives

B62 = string.ascii_letters + string.digits
B64 = B62 + "+/"
B64URL = B62 + "-_"
HEX = "0123456789abcdef"
LOWER_ALNUM = string.ascii_lowercase + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
PASSWORD = B62 + "!$&;+*~-_.=,^%"  # what a URL, env dump or JSON value can hold unencoded
SLOT = "<<value>>"  # where the value goes in a template
_MARKER = re.compile(r"\[REDACTED:[\w-]+\]")

ORDINARY = (
    "npm WARN deprecated request@2.88.2: request has been deprecated",
    "Downloading https://repo.maven.apache.org/maven2/org/junit/junit-bom/5.9.1/junit-bom.pom",
    "Collecting pytest==7.4.0",
    "Step 4/9 : RUN make build",
    "go: downloading github.com/stretchr/testify v1.8.4",
    "Compiling serde v1.0.188",
    "Run actions/checkout@v4",
    "Successfully built 3f2c1a9e0b7d",
    "error: process completed with exit code 1",
    "[INFO] BUILD FAILURE",
    "Resolving deltas: 100% (1432/1432), done.",
    "+ make test",
)


@dataclass(frozen=True)
class Case:
    kind: str
    lines: tuple[str, ...]
    secrets: tuple[str, ...]
    keep: tuple[str, ...]  # words of the lines that redaction must leave in place
    hidden: tuple[str, ...] = ()  # the secrets as the lines hold them (a wrapped token's parts)


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def password(rng: random.Random, n: int = 0) -> str:
    """A strong password with symbols; at least one digit, upper and lower case letter."""
    n = n or rng.randint(12, 24)
    core = rand(rng, PASSWORD, n - 3)
    return rng.choice(string.ascii_uppercase) + core + rng.choice(string.digits) + "x"


def user(rng: random.Random) -> str:
    return rng.choice(("ci", "deploy", "admin", "svc-build", "jenkins", "app"))


def host(rng: random.Random) -> str:
    return rng.choice(("db.internal", "10.0.3.12", "registry.example.com", "cache", "api.corp"))


# -- values -----------------------------------------------------------------------------------


def aws_access_key(rng: random.Random) -> str:
    return rng.choice(("AKIA", "ASIA")) + rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def aws_secret_key(rng: random.Random) -> str:
    return rand(rng, B64, 40)


def azure_key(rng: random.Random) -> str:
    return b64(rng.randbytes(64))  # 88 characters ending `==`, often with `/` and `+`


def github_token(rng: random.Random) -> str:
    return rng.choice(("ghp_", "gho_", "ghs_", "ghu_", "ghr_")) + rand(rng, B62, 36)


def github_pat(rng: random.Random) -> str:
    return f"github_pat_11{rand(rng, UPPER_ALNUM, 20)}_{rand(rng, B62, 59)}"


def jwt(rng: random.Random) -> str:
    header = {"alg": rng.choice(("HS256", "RS256")), "typ": "JWT"}
    payload = {"sub": rand(rng, LOWER_ALNUM, 12), "iat": rng.randint(1.6e9, 1.8e9)}
    parts = [json.dumps(header).encode(), json.dumps(payload).encode(), rng.randbytes(32)]
    return ".".join(b64url(p) for p in parts)


def pem_body(rng: random.Random, lines: int) -> list[str]:
    return [b64(rng.randbytes(48)) for _ in range(lines)]


# -- kinds: each returns the samples (log shapes) for one freshly drawn value ----------------


@dataclass(frozen=True)
class Sample:
    lines: tuple[str, ...]
    secrets: tuple[str, ...]
    hide: tuple[str, ...] = ()  # more text that is secret (not a word to keep), e.g. a PEM


Maker = Callable[[random.Random], list[Sample]]


def _one(value: str, *templates: str) -> list[Sample]:
    """One single-line sample per template; SLOT marks where the value goes."""
    return [Sample((t.replace(SLOT, value),), (value,)) for t in templates]


def _lines(value: str, *lines: str) -> Sample:
    return Sample(tuple(line.replace(SLOT, value) for line in lines), (value,))


def kind_aws_access_key(rng: random.Random) -> list[Sample]:
    v = aws_access_key(rng)
    return _one(
        v,
        f"export AWS_ACCESS_KEY_ID={SLOT}",
        f"aws_access_key_id = {SLOT}",
        f'{{"AccessKeyId": "{SLOT}", "Expiration": "2024-05-01T12:00:00Z"}}',
        f"Using credentials {SLOT} from environment",
    )


def kind_aws_secret_key(rng: random.Random) -> list[Sample]:
    v = aws_secret_key(rng)
    return _one(
        v,
        f"aws_secret_access_key = {SLOT}",
        f"+ aws configure set aws_secret_access_key {SLOT}",
        f"AWS_SECRET_ACCESS_KEY={SLOT}",
        f'"SecretAccessKey": "{SLOT}",',
    )


def kind_azure_storage_key(rng: random.Random) -> list[Sample]:
    v, account = azure_key(rng), rand(rng, string.ascii_lowercase, 10)
    conn = f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={SLOT}"
    return _one(
        v,
        f"{conn};EndpointSuffix=core.windows.net",
        f'AZURE_STORAGE_CONNECTION_STRING="{conn}"',
        f"+ az storage blob upload --account-name {account} --account-key {SLOT} -f out.zip",
        f"AZURE_STORAGE_KEY={SLOT}",
    )


def kind_azure_sas(rng: random.Random) -> list[Sample]:
    v = quote(b64(rng.randbytes(32)), safe="")
    query = f"sv=2022-11-02&ss=b&srt=co&sp=rwdlac&se=2025-01-01T00:00:00Z&spr=https&sig={SLOT}"
    return _one(
        v,
        f"Uploading to https://ci{rng.randint(1, 99)}.blob.core.windows.net/a/b.zip?{query}",
        f'azcopy copy "dist/*" "https://st.blob.core.windows.net/web?{query}" --recursive',
        f"SharedAccessSignature={query}",
    )


def kind_gcp_service_account(rng: random.Random) -> list[Sample]:
    body = pem_body(rng, rng.randint(8, 14))
    key = "-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(body) + "\\n-----END PRIVATE KEY-----\\n"
    kid = rand(rng, HEX, 40)
    email = f"ci@proj-{rand(rng, LOWER_ALNUM, 6)}.iam.gserviceaccount.com"
    one = json.dumps({"type": "service_account", "private_key_id": kid, "client_email": email})
    one = one[:-1] + f', "private_key": "{SLOT}"}}'
    pretty = (
        "{",
        '  "type": "service_account",',
        f'  "private_key_id": "{kid}",',
        f'  "private_key": "{SLOT}",',
        f'  "client_email": "{email}"',
        "}",
    )
    return [
        Sample(tuple(line.replace(SLOT, key) for line in lines), tuple(body), (key,))
        for lines in ((one,), pretty, (f"GOOGLE_CREDENTIALS={one}",))
    ]


def kind_google_api_key(rng: random.Random) -> list[Sample]:
    v = "AIza" + rand(rng, B64URL, 35)
    return _one(
        v,
        f"Loading maps with key {SLOT}",
        f"GOOGLE_MAPS={SLOT}",
        f"GET https://maps.googleapis.com/maps/api/geocode/json?address=x&key={SLOT} 200",
    )


def kind_github_token(rng: random.Random) -> list[Sample]:
    v = github_token(rng)
    return _one(
        v,
        f"git clone https://x-access-token:{SLOT}@github.com/org/repo.git",
        f"GH_TOKEN={SLOT}",
        f'curl -H "Authorization: token {SLOT}" https://api.github.com/user',
        f"Token {SLOT} has no scope repo",
    )


def kind_github_fine_grained(rng: random.Random) -> list[Sample]:
    v = github_pat(rng)
    return _one(
        v,
        f"echo {SLOT} | gh auth login --with-token",
        f"GITHUB_PAT={SLOT}",
        f"remote: Invalid username or password for {SLOT}",
    )


def kind_gitlab_token(rng: random.Random) -> list[Sample]:
    v = rng.choice(("glpat-", "gldt-", "glrt-")) + rand(rng, B64URL, 20)
    return _one(
        v,
        f'curl --header "PRIVATE-TOKEN: {SLOT}" https://gitlab.example.com/api/v4/projects',
        f"git push https://oauth2:{SLOT}@gitlab.com/group/project.git",
        f"Registering runner with token {SLOT}... succeeded",
    )


def kind_bitbucket_token(rng: random.Random) -> list[Sample]:
    v = "ATBB" + rand(rng, B62, 28) + rand(rng, HEX.upper(), 8)
    return _one(
        v,
        f"BITBUCKET_APP_PASSWORD={SLOT}",
        f"git clone https://{user(rng)}:{SLOT}@bitbucket.org/team/repo.git",
        f"Using app password {SLOT} for pipelines",
    )


def kind_npm_token(rng: random.Random) -> list[Sample]:
    v = "npm_" + rand(rng, B62, 36)
    return _one(
        v,
        f"//registry.npmjs.org/:_authToken={SLOT}",
        f"NPM_TOKEN={SLOT}",
        f"npm config set //registry.npmjs.org/:_authToken {SLOT}",
        f'echo "//npm.pkg.github.com/:_authToken={SLOT}" >> .npmrc',
    )


def kind_pypi_token(rng: random.Random) -> list[Sample]:
    v = "pypi-AgEIcHlwaS5vcmc" + rand(rng, B64URL, rng.randint(70, 160))
    return _one(
        v,
        f"password = {SLOT}",
        f"TWINE_PASSWORD={SLOT}",
        f"+ twine upload -u __token__ -p {SLOT} dist/*",
    )


def kind_nuget_key(rng: random.Random) -> list[Sample]:
    v = "oy2" + rand(rng, LOWER_ALNUM, 43)
    return _one(
        v,
        f"dotnet nuget push pkg.nupkg --api-key {SLOT} --source https://api.nuget.org/v3/index.json",
        f"NUGET_API_KEY={SLOT}",
        f"nuget push Foo.1.0.0.nupkg {SLOT} -Source nuget.org",
    )


def kind_rubygems_key(rng: random.Random) -> list[Sample]:
    v = "rubygems_" + rand(rng, HEX, 48)
    return _one(
        v,
        f"GEM_HOST_API_KEY={SLOT}",
        f":rubygems_api_key: {SLOT}",
        f"Pushing gem with key {SLOT}",
    )


def kind_docker_hub_token(rng: random.Random) -> list[Sample]:
    v = "dckr_pat_" + rand(rng, B64URL, 27)
    return _one(
        v,
        f"DOCKERHUB_TOKEN={SLOT}",
        f"docker login -u {user(rng)} -p {SLOT}",
        f"Authenticating with token {SLOT}",
    )


def kind_slack_token(rng: random.Random) -> list[Sample]:
    digits = string.digits
    v = f"xoxb-{rand(rng, digits, 12)}-{rand(rng, digits, 13)}-{rand(rng, B62, 24)}"
    path = f"T{rand(rng, UPPER_ALNUM, 8)}/B{rand(rng, UPPER_ALNUM, 10)}/{rand(rng, B62, 24)}"
    hook = f"https://hooks.slack.com/services/{path}"
    return [
        *_one(v, f"SLACK_BOT_TOKEN={SLOT}", f"Posting to #builds with {SLOT}"),
        *_one(hook, f"curl -X POST -d @payload.json {SLOT}"),
    ]


def kind_stripe_key(rng: random.Random) -> list[Sample]:
    v = rng.choice(("sk_live_", "rk_live_", "sk_test_")) + rand(rng, B62, rng.randint(24, 99))
    return _one(
        v,
        f"STRIPE_SECRET_KEY={SLOT}",
        f"Stripe::InvalidRequestError: Invalid API Key provided: {SLOT}",
        f"stripe.api_key = '{SLOT}'",
    )


def kind_sendgrid_key(rng: random.Random) -> list[Sample]:
    v = f"SG.{rand(rng, B64URL, 22)}.{rand(rng, B64URL, 43)}"
    return _one(v, f"SENDGRID={SLOT}", f"SENDGRID_API_KEY: {SLOT}", f"mail: using key {SLOT}")


def kind_twilio(rng: random.Random) -> list[Sample]:
    sid, token = "SK" + rand(rng, HEX, 32), rand(rng, HEX, 32)
    return [
        *_one(sid, f"TWILIO_API_KEY={SLOT}", f"twilio: authenticating as {SLOT}"),
        *_one(token, f"TWILIO_AUTH_TOKEN={SLOT}", f'"auth_token": "{SLOT}"'),
    ]


def kind_jwt(rng: random.Random) -> list[Sample]:
    v = jwt(rng)
    return _one(
        v,
        f"Authorization: Bearer {SLOT}",
        f"ID_TOKEN={SLOT}",
        f'{{"access_token": "{SLOT}", "expires_in": 3600}}',
        f"Received token {SLOT} for audience api://default",
    )


def kind_pem_private_key(rng: random.Random) -> list[Sample]:
    label = rng.choice(("RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY"))
    body = pem_body(rng, rng.randint(6, 26))
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    raw = ("Writing deploy key", begin, *body, end, "ssh-add: identity added")
    indented = (
        "  ssh_private_key: |",
        f"    {begin}",
        *(f"    {b}" for b in body),
        f"    {end}",
        "  known_hosts: github.com",
    )
    echoed = (f"+ echo '{begin}", *body, f"{end}'", "+ chmod 600 id_rsa")
    return [Sample(lines, tuple(body)) for lines in (raw, indented, echoed)]


def kind_url_credentials(rng: random.Random) -> list[Sample]:
    v = password(rng)
    u, h = user(rng), host(rng)
    return _one(
        v,
        f"git clone https://{u}:{SLOT}@github.com/org/repo.git",
        f"DATABASE_URL=postgres://{u}:{SLOT}@{h}:5432/app",
        f"Connecting to mongodb+srv://{u}:{SLOT}@cluster0.example.net/test?retryWrites=true",
        f"redis://:{SLOT}@{h}:6379/0",
        f"Fetching ftp://{u}:{SLOT}@{h}/pub/file.tar.gz",
    )


def kind_json_password(rng: random.Random) -> list[Sample]:
    v, u = password(rng), user(rng)
    auth = b64(f"{u}:{password(rng)}".encode())
    return [
        *_one(
            v,
            f'{{"username": "{u}", "password": "{SLOT}"}}',
            f'{{"user": "{u}", "pass": "{SLOT}", "host": "{host(rng)}"}}',
            f'  "secret": "{SLOT}",',
            f'config: {{\\"db_password\\":\\"{SLOT}\\",\\"port\\":5432}}',
        ),
        *_one(
            auth, f'{{"auths": {{"{host(rng)}": {{"auth": "{SLOT}"}}}}}}', f'    "auth": "{SLOT}"'
        ),
    ]


ENV_NAMES = (
    "DB_PASS", "SMTP_PASS", "DB_PASSWORD", "MYSQL_ROOT_PASSWORD", "POSTGRES_PASSWORD", "API_KEY",
    "APP_SECRET", "SECRET_KEY_BASE", "JWT_SECRET", "REDIS_PASSWORD", "SENTRY_AUTH_TOKEN",
    "CLIENT_SECRET", "ENCRYPTION_KEY", "SIGNING_KEY", "ADMIN_PWD", "MAIL_PASSWD", "AUTH_TOKEN",
    "RABBITMQ_DEFAULT_PASS", "KEYSTORE_PASSWORD", "CREDENTIALS",
)  # fmt: skip


def kind_env_dump(rng: random.Random) -> list[Sample]:
    v, name = password(rng), rng.choice(ENV_NAMES)
    return _one(
        v,
        f"{name}={SLOT}",
        f'declare -x {name}="{SLOT}"',
        f"+ export {name}={SLOT}",
        f"    {name}: {SLOT}",
        f"Step 6/12 : ENV {name}={SLOT}",
    )


def kind_docker_login(rng: random.Random) -> list[Sample]:
    v, u, h = password(rng), user(rng), host(rng)
    return _one(
        v,
        f"docker login -u {u} -p {SLOT} {h}",
        f"+ docker login --username {u} --password {SLOT} {h}",
        f"$ echo {SLOT} | docker login -u {u} --password-stdin {h}",
        f"podman login -u {u} -p={SLOT} quay.io",
    )


def kind_npmrc(rng: random.Random) -> list[Sample]:
    token = rng.choice(("npm_" + rand(rng, B62, 36), rand(rng, B64URL, 40)))
    auth = b64(f"{user(rng)}:{password(rng)}".encode())
    return [
        *_one(
            token,
            f"//registry.npmjs.org/:_authToken={SLOT}",
            f"//npm.pkg.github.com/:_authToken={SLOT}",
        ),
        *_one(auth, f"_auth={SLOT}", f"//registry.example.com/npm/:_password={SLOT}"),
    ]


def kind_pypirc(rng: random.Random) -> list[Sample]:
    v = password(rng)
    return [
        _lines(v, "[pypi]", "username = __token__", f"password = {SLOT}"),
        _lines(v, "[testpypi]", f"username = {user(rng)}", f"password: {SLOT}"),
        _lines(v, f"TWINE_PASSWORD={SLOT}"),
    ]


def kind_kubernetes_secret(rng: random.Random) -> list[Sample]:
    v = b64(rng.randbytes(rng.randint(12, 40)))
    key = rng.choice(("password", "tls.key", ".dockerconfigjson", "api-token", "config.json"))
    other = b64(f"{user(rng)}".encode() + rng.randbytes(6))
    yaml_lines = (
        "apiVersion: v1",
        "data:",
        f"  {key}: {SLOT}",
        f"  username: {other}",
        "kind: Secret",
        "metadata:",
        "  name: app-credentials",
    )
    doc = json.dumps({"apiVersion": "v1", "data": {key: SLOT}, "kind": "Secret"})
    string_data = ("stringData:", f"  {key}: {SLOT}", "type: Opaque")
    return [
        Sample(tuple(line.replace(SLOT, v) for line in yaml_lines), (v, other)),
        _lines(v, doc),
        _lines(password(rng), *string_data),
    ]


def kind_cli_password_flags(rng: random.Random) -> list[Sample]:
    v, u, h = password(rng), user(rng), host(rng)
    return _one(
        v,
        f"sshpass -p '{SLOT}' ssh {u}@{h} ./deploy.sh",
        f"openssl pkcs12 -export -in cert.pem -passin pass:{SLOT} -out cert.p12",
        f"curl -fsS -u {u}:{SLOT} https://{h}/api/ping",
        f"mysql -h {h} -u {u} -p{SLOT} app < schema.sql",
        f"keytool -importkeystore -srckeystore a.p12 -storepass {SLOT} -noprompt",
        f"gpg --batch --passphrase {SLOT} --decrypt secrets.gpg",
        f"helm repo add internal https://{h}/charts --username {u} --password {SLOT}",
    )


def kind_http_auth_headers(rng: random.Random) -> list[Sample]:
    basic = b64(f"{user(rng)}:{password(rng)}".encode())
    cookie = rand(rng, B64URL, rng.randint(20, 40))
    key = rand(rng, B62, 32)
    return [
        *_one(basic, f"Authorization: Basic {SLOT}", f'-H "Authorization: Basic {SLOT}"'),
        *_one(
            cookie,
            f"Cookie: sessionid={SLOT}",
            f"< Set-Cookie: _app_session={SLOT}; path=/; secure; HttpOnly",
            f"> cookie: csrftoken={SLOT}",
        ),
        *_one(key, f"X-API-Key: {SLOT}", f"> Authorization: Bearer {SLOT}"),
    ]


def kind_add_mask(rng: random.Random) -> list[Sample]:
    v = password(rng)
    return [
        _lines(v, f"::add-mask::{SLOT}", "Deploying release", f"notify --note {SLOT} --to ops"),
        _lines(v, f'echo "::add-mask::{SLOT}"', "Run ./deploy.sh", f"connecting with {SLOT} ok"),
    ]


def kind_wrapped_token(rng: random.Random) -> list[Sample]:
    """A long token cut by the terminal's width: its first part ends one line, the rest starts
    the next. (The password holds no `=`: a next line starting `NAME=value` is read as a line
    of its own, as in an env dump, and stays; see redact.py.)"""
    samples: list[Sample] = []
    for prefix, value in (
        ("export GITHUB_TOKEN=", github_token(rng)),
        ("Authorization: Bearer ", jwt(rng)),
        ("password=", password(rng, 30).replace("=", ":")),
        ("//registry.npmjs.org/:_authToken=", "npm_" + rand(rng, B62, 36)),
        ("AZURE_STORAGE_KEY=", azure_key(rng)),
    ):
        cut = rng.randint(4, len(value) - 4)
        first, rest = value[:cut], value[cut:]
        samples.append(Sample((prefix + first, rest + " done"), (value,), (first, rest)))
    return samples


def kind_value_on_next_line(rng: random.Random) -> list[Sample]:
    v = password(rng)
    block = (b64(rng.randbytes(48)), b64(rng.randbytes(48)))
    return [
        _lines(v, "password:", f"  {SLOT}", "username: ci"),
        _lines(v, "Password:", SLOT, "Login Succeeded"),
        _lines(v, "  client_secret:", f"    {SLOT}", "  client_id: app"),
        Sample(("signing_key: |", f"  {block[0]}", f"  {block[1]}", "timeout: 30"), block),
    ]


def kind_url_encoded(rng: random.Random) -> list[Sample]:
    v = quote(password(rng), safe="")
    return _one(
        v,
        f"POST /login body=username=ci&password={SLOT}&remember=1",
        f"data=%7B%22password%22%3A%22{SLOT}%22%7D",
        f"GET /oauth/callback?code=x&client_secret={SLOT}&state=abc",
        f"https://api.example.com/v1?access_token={SLOT}",
    )


KINDS: dict[str, Maker] = {
    name.removeprefix("kind_").replace("_", "-"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("kind_") and callable(fn)
}


def _words(line: str, secret_parts: tuple[str, ...]) -> list[str]:
    """The line's words outside its secrets: each must survive redaction."""
    for part in sorted(secret_parts, key=len, reverse=True):
        line = line.replace(part, SLOT)
    return [w for piece in line.split(SLOT) for w in piece.split() if any(map(str.isalnum, w))]


def generate(seed: int = SEED, per_kind: int = PER_KIND) -> Iterator[Case]:
    """Every kind's `per_kind` values, each in every one of its log shapes, between two
    ordinary log lines."""
    rng = random.Random(seed)
    for kind, make in KINDS.items():
        for _ in range(per_kind):
            for sample in make(rng):
                lines = (rng.choice(ORDINARY), *sample.lines, rng.choice(ORDINARY))
                parts = sample.secrets + sample.hide
                keep = tuple(w for line in lines for w in _words(line, parts))
                yield Case(kind, lines, sample.secrets, keep, parts)


def leaked(case: Case, redacted: str) -> str | None:
    """The first substring of one of the case's secrets, MIN_LEAK characters long, that is in
    the redacted text (markers aside) though the case's lines hold it nowhere but in a secret
    (a prefix such as `rubygems_` also written in the key name `:rubygems_api_key:` is no leak)."""
    redacted = _MARKER.sub(" ", redacted)
    outside = "\n".join(case.lines)
    for secret in sorted(case.hidden or case.secrets, key=len, reverse=True):
        outside = outside.replace(secret, SLOT)
    for secret in case.secrets:
        for i in range(max(1, len(secret) - MIN_LEAK + 1)):
            gram = secret[i : i + MIN_LEAK]
            if gram in redacted and gram not in outside:
                return gram
    return None
