"""normalize.read_log: cleaning, markers and steps with original line numbers, bounds, errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from workflowai.analysis.linetext import clean_line, collapse_carriage_returns
from workflowai.analysis.normalize import read_log
from workflowai.analysis.redact import Redactor
from workflowai.errors import LogParseError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
BIG = 10**9


@pytest.mark.parametrize(
    ("raw", "text", "hidden", "step"),
    [
        ("2024-01-01T00:00:00.0000000Z npm ERR! code E404", "npm ERR! code E404", False, None),
        ("[2024-01-01T00:00:00.000Z] + make test", "+ make test", False, None),
        ("2024-01-01T00:00:00.123456Z 00O+ $ go test ./...", "$ go test ./...", False, None),
        ("\x1b[31;1merror\x1b[0m: boom", "error: boom", False, None),
        ("10%\r50%\r100% done\r", "100% done", False, None),
        ("Solving - \x08\x08\\ \x08\x08done", "Solving done", False, None),
        ("##[group]Run make build", "", True, "Run make build"),
        ("::group::Install deps", "", True, "Install deps"),
        ("##[endgroup]", "", True, None),
        ("\x1b[0Ksection_start:1700000000:build\r\x1b[0KBuild it", "", True, "Build it"),
        ("[Pipeline] { (Deploy)", "", True, "Deploy"),
        ("[Pipeline] // stage", "", True, None),
        ("travis_fold:start:install\r\x1b[0K$ pip install .", "$ pip install .", False, "install"),
    ],
)
def test_analysis_clean_line_strips_and_classifies(
    raw: str, text: str, hidden: bool, step: str | None
) -> None:
    cleaned = clean_line(raw)
    assert cleaned.text == text
    assert cleaned.hidden is hidden
    assert cleaned.step_start == step


def test_analysis_collapse_keeps_final_progress_state() -> None:
    assert collapse_carriage_returns("a\rb\r  \r") == "b"


@pytest.mark.parametrize(
    ("fixture", "provider", "number", "text", "step"),
    [
        (
            "github_actions_pip.log",
            "github-actions",
            12,
            "ERROR: No matching distribution found for torch==9.9.9",
            "Run pip install -r requirements.txt",
        ),
        ("github_actions_pip.log", "github-actions", 10, "Downloading 100%", None),
        ("gitlab_go_test.log", "gitlab", 7, "--- FAIL: TestParseConfig (0.00s)", None),
        ("gitlab_go_test.log", "gitlab", 11, "ERROR: Job failed: exit code 1", None),
        (
            "jenkins_maven_test.log",
            "jenkins",
            9,
            "java.lang.AssertionError: expected:<200> but was:<401>",
            "Build",
        ),
    ],
)
def test_analysis_read_log_keeps_original_numbers(
    fixture: str, provider: str, number: int, text: str, step: str | None
) -> None:
    log = read_log(FIXTURES / fixture, max_bytes=BIG)
    assert log.ci_provider == provider
    line = log.get(number)
    assert line is not None
    assert line.text == text
    if step is not None:
        assert line.step == step


def test_analysis_read_log_hides_markers_but_counts_them() -> None:
    log = read_log(FIXTURES / "github_actions_pip.log", max_bytes=BIG)
    assert log.total_lines == 13
    assert log.get(2) is None  # ##[group] marker
    assert [name for _, name in log.steps] == [
        "Run actions/checkout@v4",
        "Run pip install -r requirements.txt",
    ]
    assert all("##[" not in line.text or "##[error]" in line.text for line in log.lines.values())


def test_analysis_read_log_gitlab_sections_name_steps() -> None:
    log = read_log(FIXTURES / "gitlab_go_test.log", max_bytes=BIG)
    fail = log.get(7)
    assert fail is not None and fail.step == 'Executing "step_script" stage of the job script'


def test_analysis_read_log_travis_commands_open_steps() -> None:
    raw = (
        "travis_fold:start:install\r\x1b[0K$ pip install -e .\nInstalled\n"
        "travis_fold:end:install\r\x1b[0K$ pytest -q\n1 failed\n"
        'The command "pytest -q" exited with 1.\n'
    )
    log = read_log(raw, max_bytes=BIG)
    assert log.steps == [(1, "pip install -e ."), (3, "pytest -q")]
    fail = log.get(4)
    assert fail is not None and fail.step == "pytest -q"


@pytest.mark.parametrize(
    "raw",
    [
        '##[group]Run curl -H "Authorization: Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789" x\n'
        "error: boom\n",
        "travis_fold:start:x\r\x1b[0K$ ./deploy --password=hunter2hunter2\nerror: boom\n",
    ],
    ids=["github-group", "travis-command"],
)
def test_analysis_read_log_step_names_are_redacted(raw: str) -> None:
    log = read_log(raw, max_bytes=BIG, redactor=Redactor())
    names = [name for _, name in log.steps] + [line.step or "" for line in log.lines.values()]
    assert names and all("[REDACTED:" in name for name in names), names
    assert not any("ghp_" in name or "hunter2" in name for name in names)


def test_analysis_read_log_wrapped_token_is_redacted_on_both_lines() -> None:
    """The redactor sees the token whole only on line 3 and corrects line 2 in the context ring,
    from which the failure on line 4 keeps it."""
    raw = (
        "2024-03-01T10:00:00.0000000Z Run ./deploy.sh\n"
        "2024-03-01T10:00:01.0000000Z cloning with ghp_abcdefghijklmnopqrst\n"
        "2024-03-01T10:00:01.0000000Z uvwxyz0123456789ABCD\n"
        "2024-03-01T10:00:02.0000000Z error: deploy failed\n"
    )
    log = read_log(raw, max_bytes=BIG, redactor=Redactor(), keep_context=2, tail_lines=1)
    assert [(n, line.text) for n, line in log.lines.items()] == [
        (2, "cloning with [REDACTED:github-token]"),
        (3, "[REDACTED:github-token]"),
        (4, "error: deploy failed"),
    ]
    assert log.redactions == {"github-token": 1}


def test_analysis_read_log_amendment_never_lands_across_a_hidden_line() -> None:
    """A marker line between two lines means they are no wrap of one token."""
    raw = "cloning with ghp_abcdefghijklmnopqrst\n##[group]Run make\nuvwxyz0123456789ABCD error\n"
    log = read_log(raw, max_bytes=BIG, redactor=Redactor())
    first = log.get(1)
    assert first is not None and first.text == "cloning with ghp_abcdefghijklmnopqrst"


def test_analysis_read_log_invalid_utf8_is_replaced() -> None:
    log = read_log(FIXTURES / "invalid_utf8.log", max_bytes=BIG)
    assert log.total_lines == 3
    line = log.get(2)
    assert line is not None and "\ufffd" in line.text and line.text.startswith("error:")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"", "empty log"),
        ("   \n\n", "empty log"),
        (b"ELF\x00\x00\x01binary", "binary"),
        (bytes(range(1, 32)) * 50, "binary"),
    ],
)
def test_analysis_read_log_rejects_empty_and_binary(source: bytes | str, message: str) -> None:
    with pytest.raises(LogParseError, match=message):
        read_log(source, max_bytes=BIG)


def test_analysis_read_log_binary_fixture_rejected() -> None:
    with pytest.raises(LogParseError, match="binary"):
        read_log(FIXTURES / "binary.bin", max_bytes=BIG)


def test_analysis_read_log_over_limit_analyzes_tail_with_true_numbers() -> None:
    body = "".join(f"step output line {i}\n" for i in range(1, 5001)) + "fatal: the real failure\n"
    log = read_log(body.encode(), max_bytes=2000)
    assert log.total_lines == 5001
    assert log.analyzed_from_line > 1
    assert log.warnings and "limit" in log.warnings[0]
    last = log.get(5001)
    assert last is not None and last.text == "fatal: the real failure"
    mid = log.get(4990)
    assert mid is not None and mid.text == "step output line 4990"


def test_analysis_read_log_unseekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._buf = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            chunk = self._buf.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    log = read_log(io.BufferedReader(Pipe(b"ok\nerror: broken\n")), max_bytes=BIG)
    assert log.total_lines == 2
    assert log.get(2) is not None


def test_analysis_read_log_keeps_only_context_and_tail() -> None:
    noise = ["compiling module"] * 20_000
    noise[5_000] = "error: first failure"
    log = read_log("\n".join(noise).encode(), max_bytes=BIG, keep_context=2, tail_lines=10)
    assert log.total_lines == 20_000
    assert set(log.lines) == {4999, 5000, 5001, 5002, 5003} | set(range(19_991, 20_001))
    hit = log.get(5001)
    assert hit is not None and hit.candidate


def test_analysis_read_log_64mb_in_bounded_memory(tmp_path: Path) -> None:
    """A 64 MB generated log streams through with a small, bounded peak (tracemalloc).

    The peak measured 0.25 MiB: it does not grow with the file (200 MB gave the same order),
    so 64 MB keeps the proof at a third of the time tracemalloc costs.
    """
    import tracemalloc

    compile_line = (
        "2024-03-01T10:00:00.0000000Z \x1b[32m  Compiling\x1b[0m "
        + "crate-with-a-long-name v1.0.0 (/home/runner/work/app/app/crates/x) " * 3
        + "\n"
    ).encode()
    progress = b"2024-03-01T10:00:00.0000000Z Downloading 10%\r50%\r100% " + b"#" * 120 + b"\n"
    block = (compile_line * 7 + progress) * 512
    path = tmp_path / "big.log"
    target = 64 * 1024 * 1024
    lines_written = 0
    with path.open("wb") as out:
        while out.tell() < target:
            out.write(block)
            lines_written += 8 * 512
        out.write(b"error: linking with `cc` failed: exit status: 1\n")
    tracemalloc.start()
    try:
        log = read_log(path, max_bytes=target * 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert log.total_lines == lines_written + 1
    last = log.get(lines_written + 1)
    assert last is not None and last.candidate
    assert len(log.lines) <= 500
    assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
