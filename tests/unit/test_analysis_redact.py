"""Redaction: every secret kind is replaced and counted, ordinary log text is left alone.

The generated corpus (every kind x 50 values x several log shapes) is tested in
test_redaction_corpus.py; here: one line per kind, the shapes issue #16 found leaking, the
multi-line state (key blocks, add-mask, wrapped tokens, values on the next line, Kubernetes
data blocks) and real-log lines that must stay as they are.
"""

from __future__ import annotations

import pytest

from workflowai.analysis.redact import Redactor, redact_lines, redact_text

SECRETS = [
    ("aws-access-key", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws-secret-key",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "github-token",
        "git clone https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r.git",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    (
        "github-token",
        "GH_TOKEN=github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
        "github_pat_11ABCDEFG0abcdefghijkl",
    ),
    ("gitlab-token", "using token glpat-abcdefghij1234567890", "glpat-abcdefghij1234567890"),
    (
        "slack-token",
        "SLACK_BOT=xoxb-123456789012-1234567890123-abcdefghijabcdefghij",
        "xoxb-123456789012",
    ),
    (
        "stripe-key",
        "charge with sk_live_abcdefghijklmnopqrstuvwx",
        "sk_live_abcdefghijklmnopqrstuvwx",
    ),
    (
        "npm-token",
        "//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789",
        "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    (
        "pypi-token",
        "TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoLWlqa2wtbW5vcC1xcnN0LXV2d3h5ejAxMjM0NTY3"
        "ODkAAiJ7InBlcm1pc3Npb25zIjogInVzZXIifQ",
        "pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdo",
    ),
    (
        "jwt",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123_-xyz",
        "abcDEF123_-xyz",
    ),
    ("url-credentials", "curl https://deploy:hunter2pass@example.com/x", "hunter2pass"),
    ("secret-assignment", "DB_PASSWORD=supersecret123 ./migrate", "supersecret123"),
    ("secret-assignment", '{"password": "s3cr3t!x", "user": "bob"}', "s3cr3t!x"),
    ("secret-assignment", "  client_secret: abcdefgh1234", "abcdefgh1234"),
    ("password-flag", "docker login --password s3cr3tpw registry.example.com", "s3cr3tpw"),
    ("password-flag", "mysql -u root -pHunter22 appdb", "Hunter22"),
    ("high-entropy", "SESSION=Zk9aX2Q3eWpLcE1uQnZ4UjhUcWw5Rg", "Zk9aX2Q3eWpLcE1uQnZ4UjhUcWw5Rg"),
]


@pytest.mark.parametrize(("kind", "line", "secret"), SECRETS, ids=[s[0] for s in SECRETS])
def test_redact_each_secret_kind_is_replaced_and_counted(kind: str, line: str, secret: str) -> None:
    text, counts = redact_text(line)
    assert secret not in text
    assert f"[REDACTED:{kind}]" in text
    assert counts.get(kind, 0) >= 1
    assert all(secret not in key for key in counts)


CLEAN = [
    "error: expected token ';' at line 3",
    "sha=4e8932e579d2e085ea2d9e6e88035d1ad0ad16a6",
    "password: ${{ secrets.DEPLOY_PASSWORD }}",
    "token: $CI_JOB_TOKEN",
    "INFO: Note: fr.inria.juliac.SomeVeryLongGeneratedClassName.java uses unchecked operations.",
    "Tests run: 12, Failures: 1, Errors: 0, Skipped: 0",
    "npm ERR! code ERESOLVE",
    "ssh git@github.com:owner/repo.git",
    "PASSED tests/test_auth.py::test_password_reset",
]


@pytest.mark.parametrize("line", CLEAN)
def test_redact_leaves_ordinary_log_lines_alone(line: str) -> None:
    assert redact_text(line) == (line, {})


def test_redact_private_key_block_spans_lines_and_keeps_the_line_count() -> None:
    log = (
        "Setting up deploy key\n"
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "QyNTUxOQAAACBGVmF0aGVyc3RvbmVfc2hvdWxkX25vdF9iZV9oZXJlAAAAoNnVbVLZ1W1S\n"
        "-----END OPENSSH PRIVATE KEY-----\n"
        "ssh-add: identity added"
    )
    text, counts = redact_text(log)
    lines = text.split("\n")
    assert len(lines) == 6
    assert lines[0] == "Setting up deploy key"
    # the markers say what was there; the key material is gone
    assert lines[1] == "-----BEGIN OPENSSH PRIVATE KEY-----"
    assert lines[2:4] == ["[REDACTED:private-key]"] * 2
    assert lines[4] == "-----END OPENSSH PRIVATE KEY-----"
    assert lines[5] == "ssh-add: identity added"
    assert counts == {"private-key": 1}


def test_redact_key_on_one_line_with_escaped_newlines() -> None:
    line = 'KEY="-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY-----" ok'
    text, counts = redact_text(line)
    assert "MIIEow" not in text and text.endswith('-----END RSA PRIVATE KEY-----" ok')
    assert counts == {"private-key": 1}


def test_redactor_counts_accumulate_across_lines() -> None:
    redactor = Redactor()
    for line in ["A=AKIAIOSFODNN7EXAMPLE", "B=AKIAIOSFODNN7EXAMPLF", "nothing here"]:
        redactor.redact_line(line)
    assert dict(redactor.counts) == {"aws-access-key": 2}


def test_redact_unterminated_key_block_stops_after_a_bound() -> None:
    lines = ["-----BEGIN PRIVATE KEY-----"] + ["QUJD" * 16] * 300 + ["build finished"]
    text, _ = redact_text("\n".join(lines))
    assert text.split("\n")[-1] == "build finished"


def test_redact_key_block_in_a_yaml_block_scalar_keeps_the_next_key() -> None:
    log = [
        "  ssh_private_key: |",
        "    -----BEGIN RSA PRIVATE KEY-----",
        "    MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
        "    -----END RSA PRIVATE KEY-----",
        "  known_hosts: github.com ssh-ed25519",
    ]
    out = list(redact_lines(log))
    assert out[2] == "    [REDACTED:private-key]"
    assert out[1] == log[1] and out[3] == log[3] and out[4] == log[4]


def test_redact_key_block_ends_at_a_line_of_prose() -> None:
    """A key cut short (`head -3 id_rsa`) must not blank the rest of the log."""
    log = [
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "Error: the deploy step failed with exit code 1",
    ]
    out = list(redact_lines(log))
    assert out[1] == "[REDACTED:private-key]"
    assert out[2] == log[2]


# (id, lines, secret, words that must stay): each shape issue #16 saw leaking
ISSUE_SHAPES = [
    (
        "docker-login-p",
        ["docker login -u ci -p Zx8!pQ2#rT9v registry.example.com"],
        "Zx8!pQ2#rT9v",
        ["docker", "login", "-u", "ci", "-p", "registry.example.com"],
    ),
    (
        "sshpass-p",
        ["sshpass -p 'Hunter2Secret!' ssh deploy@10.0.0.5 uptime"],
        "Hunter2Secret!",
        ["sshpass", "ssh", "deploy@10.0.0.5", "uptime"],
    ),
    (
        "sshpass-glued",
        ["sshpass -pHunter2Secret ssh deploy@host"],
        "Hunter2Secret",
        ["sshpass", "ssh", "deploy@host"],
    ),
    (
        "openssl-passin",
        ["openssl pkcs12 -export -in c.pem -passin pass:Sup3rS3cret -out c.p12"],
        "Sup3rS3cret",
        ["openssl", "pkcs12", "-passin", "pass:", "-out", "c.p12"],
    ),
    (
        "curl-u",
        ["curl -u admin:Adm1nPassw0rd https://api.example.com/v1"],
        "Adm1nPassw0rd",
        ["curl", "-u", "admin:", "https://api.example.com/v1"],
    ),
    (
        "authorization-basic",
        ['curl -H "Authorization: Basic ZGVwbG95OnMzY3JldFBhc3M=" https://x'],
        "ZGVwbG95OnMzY3JldFBhc3M=",
        ["curl", "Authorization:", "Basic", "https://x"],
    ),
    (
        "cookie",
        ["> Cookie: session_id=a8f5f167f44f4964e6c998dee827110c; theme=dark"],
        "a8f5f167f44f4964e6c998dee827110c",
        ["Cookie:", "session_id="],
    ),
    (
        "set-cookie",
        ["< Set-Cookie: _gh_sess=AbC123dEf456GhI789; path=/; secure; HttpOnly"],
        "AbC123dEf456GhI789",
        ["Set-Cookie:", "_gh_sess=", "path=/;", "secure;", "HttpOnly"],
    ),
    (
        "aws-configure-set",
        ["aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ["aws", "configure", "set", "aws_secret_access_key"],
    ),
    ("env-db-pass", ["DB_PASS=correcthorsebattery"], "correcthorsebattery", ["DB_PASS="]),
    ("env-smtp-pass", ["SMTP_PASS=m41lP@ss!"], "m41lP@ss!", ["SMTP_PASS="]),
    (
        "env-sendgrid",
        ["SENDGRID=SG.aBcDeFgHiJkLmNoPqRsTuV.aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefg"],
        "SG.aBcDeFgHiJkLmNoPqRsTuV.aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefg",
        ["SENDGRID="],
    ),
    (
        "bare-aiza",
        ["Using key AIzaSyD-1234567890abcdefghijklmnopqrstu for maps"],
        "AIzaSyD-1234567890abcdefghijklmnopqrstu",
        ["Using", "key", "for", "maps"],
    ),
    (
        "azure-account-key",
        [
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=ab+cd/ef12GH34ij56KL78mn"
            "90OP12qr34ST56uv78WX90yz12AB34cd56EF78gh90IJ12kl34MN56op78qr90st12uv34/+==;"
            "EndpointSuffix=core.windows.net"
        ],
        "ab+cd/ef12GH34ij56KL78mn90OP12qr34ST56uv78WX90yz12AB34cd56EF78gh90IJ12kl34MN56op78qr90"
        "st12uv34/+==",
        ["AccountName=acct;AccountKey=", "EndpointSuffix=core.windows.net"],
    ),
    (
        "azure-sas-sig",
        [
            "https://acct.blob.core.windows.net/c/f.zip?sv=2021-06-08&ss=b&sp=r"
            "&se=2030-01-01T00:00:00Z&spr=https&sig=AbC%2Bdef%2FGhi123jklMNOpqr%3D"
        ],
        "AbC%2Bdef%2FGhi123jklMNOpqr%3D",
        ["sv=2021-06-08", "se=2030-01-01T00:00:00Z", "spr=https&sig="],
    ),
    (
        "url-password-specials",
        ["git clone https://user:p@ss!w$rd&x;y+z@github.com/o/r.git"],
        "p@ss!w$rd&x;y+z",
        ["git", "clone", "https://user:", "@github.com/o/r.git"],
    ),
    (
        "url-password-db",
        ["DATABASE_URL=postgres://app:Pa$$w0rd!;+&x@db:5432/app"],
        "Pa$$w0rd!;+&x",
        ["postgres://app:", "@db:5432/app"],
    ),
    ("json-pass", ['{"user": "bob", "pass": "s3cr3tP4ss"}'], "s3cr3tP4ss", ['"user":', '"bob",']),
    (
        "json-password-spaces",
        ['{"password": "correct horse battery staple"}'],
        "correct horse battery staple",
        ['"password":'],
    ),
    ("json-secret", ['  "secret": "abcdEFGH1234",'], "abcdEFGH1234", ['"secret":']),
    (
        "docker-config-auth",
        ['{"auths": {"registry.example.com": {"auth": "ZGVwbG95OnMzY3JldFBhc3M="}}}'],
        "ZGVwbG95OnMzY3JldFBhc3M=",
        ['"registry.example.com":', '"auth":'],
    ),
    ("url-encoded-value", ["password=p%40ssw0rd%21%24x"], "p%40ssw0rd%21%24x", ["password="]),
    (
        "url-encoded-json",
        ["data=%7B%22password%22%3A%22Hunter2Secret%22%7D"],
        "Hunter2Secret",
        ["data=%7B%22password%22%3A%22"],
    ),
    (
        "url-encoded-query",
        ["GET /cb?code=x&client_secret=abc%2Bdef%2Fghi123&state=1 200"],
        "abc%2Bdef%2Fghi123",
        ["GET", "/cb?code=x&client_secret=", "200"],
    ),
    (
        "add-mask-then-later",
        ["::add-mask::Vry$ecretV4lue", "Deploying", "echo value is Vry$ecretV4lue done"],
        "Vry$ecretV4lue",
        ["echo", "value", "is", "done", "Deploying"],
    ),
    (
        "add-mask-echoed",
        ["+ echo '::add-mask::Vry$ecretV4lue'", "curl -d t=Vry$ecretV4lue https://x"],
        "Vry$ecretV4lue",
        ["echo", "curl", "https://x"],
    ),
    (
        "wrapped-github-token",
        ["export GITHUB_TOKEN=ghp_abcdefghijklmnopqrst", "uvwxyz0123456789ABCD && make"],
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789ABCD",
        ["export", "GITHUB_TOKEN=", "&&", "make"],
    ),
    (
        "wrapped-jwt",
        [
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNry"
            "P4J3jVmNHl0w5N_XgL",
            "0n3I9PlFUP0THsR8U",
        ],
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ["Authorization:", "Bearer"],
    ),
    (
        "wrapped-password",
        ["DB_PASSWORD=HOBy~r;5DQSZq", "h$EvJkkTL$qC9w!0x"],
        "HOBy~r;5DQSZqh$EvJkkTL$qC9w!0x",
        ["DB_PASSWORD="],
    ),
    (
        "password-next-line",
        ["password:", "  Hunter2Secret", "user: ci"],
        "Hunter2Secret",
        ["user:"],
    ),
    ("password-prompt", ["Password:", "Hunter2Secret"], "Hunter2Secret", ["Password:"]),
    (
        "yaml-block-secret",
        ["client_secret: |", "  c2VjcmV0LXZhbHVlLW9uZQ==", "  c2VjcmV0LXZhbHVlLXR3bw==", "x: 1"],
        "c2VjcmV0LXZhbHVlLXR3bw==",
        ["client_secret:", "x:"],
    ),
    (
        "kubernetes-secret-data",
        ["data:", "  tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t", "kind: Secret"],
        "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t",
        ["data:", "tls.key:", "kind:", "Secret"],
    ),
    (
        "npmrc-auth-token",
        ["//registry.npmjs.org/:_authToken=0f8b4c3d-1a2b-4c5d-8e9f-0a1b2c3d4e5f"],
        "0f8b4c3d-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
        ["//registry.npmjs.org/:_authToken="],
    ),
    ("pypirc-password", ["password = s3cretPyP1Pass"], "s3cretPyP1Pass", ["password", "="]),
]


@pytest.mark.parametrize(
    ("lines", "secret", "kept"),
    [case[1:] for case in ISSUE_SHAPES],
    ids=[case[0] for case in ISSUE_SHAPES],
)
def test_redact_issue_shapes_leak_nothing_and_keep_their_words(
    lines: list[str], secret: str, kept: list[str]
) -> None:
    out = list(redact_lines(lines))
    text = "\n".join(out)
    assert len(out) == len(lines)
    leaks = [secret[i : i + 8] for i in range(len(secret) - 7) if secret[i : i + 8] in text]
    assert not leaks, text
    assert all(word in text for word in kept), text


def test_redact_add_mask_applies_only_to_what_follows() -> None:
    redactor = Redactor()
    before = redactor.redact_line("token is Vry$ecretV4lue")
    redactor.redact_line("::add-mask::Vry$ecretV4lue")
    after = redactor.redact_line("token is Vry$ecretV4lue")
    assert before == "token is Vry$ecretV4lue"  # a line already kept is not revisited
    assert after == "token is [REDACTED:add-mask]"
    assert redactor.redact_fragment("Run ./x Vry$ecretV4lue") == "Run ./x [REDACTED:add-mask]"


def test_redact_wrapped_token_amends_the_previous_line() -> None:
    redactor = Redactor()
    first = redactor.redact_line("cloning with ghp_abcdefghijklmnopqrst")
    assert redactor.take_amendment() is None
    second = redactor.redact_line("uvwxyz0123456789ABCD")
    assert first == "cloning with ghp_abcdefghijklmnopqrst"  # alone, too short to be a token
    assert second == "[REDACTED:github-token]"
    assert redactor.take_amendment() == "cloning with [REDACTED:github-token]"
    assert redactor.take_amendment() is None  # taken once
    assert dict(redactor.counts) == {"github-token": 1}


@pytest.mark.parametrize(
    "lines",
    [
        ["export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "Downloading x"],
        ["GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "HOME=/home/runner"],
        ["++CI_BRANCH=pu", "++CI_COMMIT=4f099647e281d4dd69c84f3560f02c693e755bea"],
        ["+ SECRET=Zk9aX2Q3eWpLcE1uQnZ4", "++(scripts/ci/env.sh:23): main(): npm bin"],
    ],
    ids=["word", "env-dump", "trace", "shell-trace"],
)
def test_redact_next_line_text_is_not_taken_for_a_wrapped_tail(lines: list[str]) -> None:
    assert list(redact_lines(lines))[1] == lines[1]


@pytest.mark.parametrize(
    "lines",
    [
        ["Password:", "Login Succeeded"],
        ["password:", "username:"],
        ["  credentials:", "    username: ${{ secrets.USER }}"],
        ["password:", "- item"],
    ],
)
def test_redact_next_line_keeps_text_that_is_no_value(lines: list[str]) -> None:
    assert list(redact_lines(lines)) == lines


def test_redact_kubernetes_data_block_ends_at_dedent() -> None:
    lines = [
        "apiVersion: v1",
        "data:",
        "  password: cGFzc3dvcmQxMjM0NTY=",
        "  note: plain words here",
        "kind: Secret",
        "metadata:",
        "  name: YWJjZGVmZ2hpamts",
    ]
    out = list(redact_lines(lines))
    assert out[2] == "  password: [REDACTED:kubernetes-secret]"
    assert out[3] == lines[3]  # `data:` values of a Secret are base64; this one is not
    assert out[4:] == lines[4:]  # after the block, base64-looking values are no longer secrets


# lines of real CI logs (documented tool formats) that once came out redacted
REAL_CLEAN = [
    "--- PASS: TestParseAuthToken (0.03s)",
    "PASS: tests/test-password-reset.sh",
    "GIT_ASKPASS=/usr/lib/git-core/git-gui--askpass",
    'docker run -v "$PWD:/mnt" koalaman/builder -c make',
    "PWD=/home/travis/build/org/repo",
    "[INFO] Checking unresolved references to org.codehaus.mojo.signature:java18:1.0",
    "== 20170124181409 AddUserAuthTokens: migrating ================================",
    "model:discourse::extractByKey: converts a list of hashes into a hash",
    "X-Amz-Cf-Id: bBx3C-DIGebqe9DIsbKRTQailJZLMxnII87pEgrXMDP91dHaSQi6vw==",
    "Cf-Ray: 4cdc552ebb312501-ORD",
    '     class: "__TwigTemplate_VarDumperFixture_u75a09"',
    "'--with-password-argon2=/usr' '--with-sodium=/usr'",
    "    token = ref1[j];",
    "java.lang.String token = frames.nextToken();",
    "java.io.PrintWriter pw = new java.io.PrintWriter(sw, true);",
    "$ export ARTIFACTS_KEY=[secure]",
    "$ export GFW_CI_TOKEN=[secure]",
    "  server-password: MAVEN_PASSWORD",
    "  elixir_erl_pass:translate/2",
    "$ export OTP_RELEASE=21.3",
    "DEBUG tokenfilter: tokenfilter.go:75 Allowing connection from 127.0.0.1:34820",
    "Parsing --tests testOnClass_withlog0:testOnClass_withlog1:testOnClass_withlog2",
    "BOOST_TEST_RANDOM=1567144565",
    "CTxIn(COutPoint(b4a1012268, 0), scriptSig=0014a5f3, nSequence=4294967294)",
    '-- change_column(:email_logs, :bounce_key, "uuid USING bounce_key::uuid")',
    "[INFO] ----------------------------< JWT4B:JWT4B >-----------------------------",
    "No certificate found matching 'upload.extauth.localhost': strictly configured clients",
    "memcached.sess_prefix => memc.sess.key. => memc.sess.key.",
]


@pytest.mark.parametrize("line", REAL_CLEAN)
def test_redact_leaves_real_log_lines_alone(line: str) -> None:
    assert redact_text(line) == (line, {})
