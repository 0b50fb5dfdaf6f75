"""The knowledge-base query for a failure: its key evidence lines plus its signature template.

Pure function of `Signals`. Variable parts (numbers, ids, paths) are dropped from the lines so
BM25 and the embedding see the words that name the failure; length stays bounded so one huge
line cannot crowd the rest out.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflowai.analysis.signals import Signals

MAX_QUERY_CHARS = 1000
MAX_LINE_CHARS = 240
MAX_KEY_LINES = 4

_NOISE = [
    re.compile(r"\[REDACTED:[\w-]+\]"),
    re.compile(r"https?://\S+"),
    re.compile(r"(?:[A-Za-z]:)?(?:/[\w.@+-]+){2,}/?"),  # absolute paths
    re.compile(r"\b(?:0x)?[0-9a-f]{7,}\b", re.IGNORECASE),  # hashes, addresses
    re.compile(r"<[A-Z_]+>"),  # template placeholders
    re.compile(r"\b\d+(?:[.:,]\d+)*\b"),
    re.compile(r"[#=*~_|>`'\"{}\[\]()]+"),
    re.compile(r"(?<!\S)[^\w\s]+(?!\S)"),  # tokens left with punctuation only
]
_SPACES = re.compile(r"\s+")


def clean_for_query(text: str) -> str:
    """Keep the words of a log line; drop ids, numbers, paths, URLs and decoration."""
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def build_retrieval_query(signals: Signals) -> str:
    """Text to search the knowledge base with: key lines (best first) and the signature.

    Returns an empty string when the signals hold no evidence at all.
    """
    parts: list[str] = []
    seen: set[str] = set()
    # what the findings say the failure is and which tools printed it: words runbooks use
    found = signals.findings
    named = [f for f in found.findings[:3] if f.kind.value != "process-exit"]
    head = " ".join(
        [*found.tools[:3], *dict.fromkeys(f.kind.value.replace("-", " ") for f in named)]
    )
    if head:
        parts.append(head)
    for line in signals.key_lines[:MAX_KEY_LINES]:
        cleaned = clean_for_query(line.text)[:MAX_LINE_CHARS]
        if cleaned and cleaned.lower() not in seen:
            seen.add(cleaned.lower())
            parts.append(cleaned)
    if len(parts) <= int(bool(head)):  # the signature only helps without key lines
        signature = clean_for_query(signals.signature_text)[:MAX_LINE_CHARS]
        if signature:
            parts.append(signature)
    query = " \n".join(parts)
    return query[:MAX_QUERY_CHARS].strip()
