"""Find commands that run downloaded code: a download piped or substituted into a shell.

`curl ... | sh`, `wget -qO- ... | sudo bash`, `bash <(curl ...)`, `sh -c "$(curl ...)"`,
`eval "$(wget ...)"`, `curl ... | python3 -`, PowerShell's `iex (iwr ...)`, `irm ... | iex`,
`Invoke-Expression (New-Object Net.WebClient).DownloadString(...)`. A report must never tell
a developer to run one: it executes whatever a server (or whoever wrote the log that steered
the model) sends, with the developer's rights.

It is a pattern check on text, not a shell parser: the text is cleaned first (NFKC, invisible
characters dropped, backslash-escapes of letters and empty quote pairs removed, blanks folded),
so `c\\url`, `cu''rl` or a zero-width space inside `curl` do not hide the command. A download
saved to a file and then run in a second command is not matched (it is also how many
projects document their installers); piping and substituting are what the issue reports.
"""

from __future__ import annotations

import re

from workflowai.llm.fences import clean_text

# a command that downloads, by name (PowerShell's aliases and .NET download calls included)
_FETCH = (
    r"(?:\b(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod|start-bitstransfer)"
    r"(?:\.exe)?\b|\bdownload(?:string|file|data)\b)"
)
# a shell or command interpreter that runs its standard input, as a command word
_SHELL = r"(?:\S*/)?(?:(?:ba|z|k|da|c|tc|fi|a|mk)?sh|pwsh|powershell(?:\.exe)?)\b"
_SCRIPT = r"(?:\S*/)?(?:python[\d.]*|perl|ruby|node|nodejs|php|deno|bun)\b"
# an interpreter reading its program from stdin: no argument, or `-`, before the pipe ends
_END = r"(?:$|[\s|;&)\]\"'`])"
_SCRIPT_STDIN = _SCRIPT + rf"(?=\s*(?:$|[|;&)\]\"'`]|-{_END}))"
_EXEC_STDIN = rf"(?:{_SHELL}|{_SCRIPT_STDIN}|\b(?:iex|invoke-expression|source)\b)"
# sudo, doas, env VAR=x... between the pipe and the interpreter
_PREFIX = r"(?:(?:sudo|doas|env|command|exec|nohup|time)\b[^|;&\n]*?\s)?"
_PIPE = r"(?<!\|)\|&?(?!\|)\s*"
_ANY_INTERPRETER = rf"(?:{_SHELL}|{_SCRIPT}|\b(?:eval|source)\b|(?<![\w.])\.)"

PIPE_TO_SHELL = re.compile(
    "|".join(
        [
            # curl ... | sh ; https://x/install.sh | sudo bash ; irm ... | iex
            rf"(?:{_FETCH}|\bhttps?://)[^\n;]*?{_PIPE}{_PREFIX}{_EXEC_STDIN}",
            # bash <(curl ...) ; sh -c "$(curl ...)" ; eval "$(wget ...)" ; . <(curl ...)
            rf"{_ANY_INTERPRETER}(?:\s+-\S+)*\s+(?:--\s+)?[\"']?(?:<\s*)?(?:<\(|\$\(|`)\s*"
            rf"(?:\S*/)?{_FETCH}",
            # iex (iwr ...) ; Invoke-Expression ((New-Object Net.WebClient).DownloadString(..))
            rf"(?:\b(?:iex|invoke-expression)\b|\[scriptblock\]::create)[^\n]{{0,300}}?{_FETCH}",
        ]
    ),
    re.IGNORECASE,
)

_ESCAPED_LETTER = re.compile(r"\\(?=[A-Za-z])")
_EMPTY_QUOTES = re.compile(r"''|\"\"")
_CONTINUATION = re.compile(r"\\\n")
_BLANKS = re.compile(r"[ \t]+")


def command_text(text: str) -> str:
    """`text` as the pattern sees it: cleaned, shell-escape tricks undone, blanks folded."""
    text = _CONTINUATION.sub(" ", clean_text(text))
    text = _EMPTY_QUOTES.sub("", _ESCAPED_LETTER.sub("", text))
    return _BLANKS.sub(" ", text)


def find_pipe_to_shell(text: str) -> str | None:
    """The first command in `text` that pipes or substitutes a download into an interpreter
    (as `command_text` writes it), or None."""
    match = PIPE_TO_SHELL.search(command_text(text))
    return match.group().strip() if match else None
