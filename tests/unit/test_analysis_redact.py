"""Redaction: every secret kind is replaced and counted, ordinary log text is left alone."""

from __future__ import annotations

import pytest

from workflowai.analysis.redact import Redactor, redact_text

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
    assert lines[1:5] == ["[REDACTED:private-key]"] * 4
    assert lines[5] == "ssh-add: identity added"
    assert counts == {"private-key": 1}


def test_redact_key_on_one_line_with_escaped_newlines() -> None:
    line = 'KEY="-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY-----" ok'
    text, counts = redact_text(line)
    assert "MIIEow" not in text and text.endswith('" ok')
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
