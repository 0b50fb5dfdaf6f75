"""Untrusted text for a prompt: cleaned, then fenced behind a marker the data cannot know.

Everything fenced (log lines, step names, knowledge-base text, findings) was written by others
and may be aimed at the model. Three layers keep it data:

1. `clean_text` NFKC-normalizes it and drops invisible characters (Unicode category Cf:
   zero-width spaces and joiners, bidi controls, BOM, tag characters; plus the few other
   default-ignorable code points that render as nothing, such as variation selectors and
   Hangul fillers). So fullwidth `<<<` (U+FF1C) becomes `<<<`, `<` U+200B `<<` becomes
   `<<<`, and what the model reads is what a person reading the log sees.
2. `neutralize` spaces out runs of three or more `<` or `>` (after cleaning, so look-alikes
   are caught too) and removes the request's marker if the data contains it.
3. `fence` wraps the data in BEGIN/END tags that carry a random marker made per request
   (`new_marker`): data that guesses the fence format still cannot close a fence or open
   one, because it cannot know the marker, and the instructions say only tags with the
   marker count.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

FENCE_RUN = re.compile(r"<{3,}|>{3,}")
MARKER_BYTES = 8
# default-ignorable code points outside category Cf that render as nothing (after NFKC,
# U+3164 and U+FFA0 become U+1160)
_INVISIBLE_EXTRA = frozenset(
    [
        0x034F,  # combining grapheme joiner
        0x115F,  # Hangul fillers
        0x1160,
        0x3164,
        0xFFA0,
        0x17B4,  # Khmer inherent vowels
        0x17B5,
        *range(0x180B, 0x1810),  # Mongolian free variation selectors, vowel separator
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0xE0100, 0xE01F0),  # variation selectors supplement
    ]
)
# characters that end a line for str.splitlines(); inside one log line they would let data
# draw lines of its own (a forged "  212 | ..." row)
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _visible(char: str) -> bool:
    if ord(char) in _INVISIBLE_EXTRA:
        return False
    category = unicodedata.category(char)
    if category == "Cf":
        return False
    # other C0/C1 controls (NUL, ESC, DEL...) carry nothing a reader sees; keep tab, newline
    return category != "Cc" or char in "\t\n"


def clean_text(text: str) -> str:
    """NFKC-normalized `text` without invisible format characters; line breaks become `\\n`.

    NFKC runs before and after the removal: removing a joiner can bring together characters
    that compose, and NFKC itself never produces a Cf character from visible ones.
    """
    text = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFKC", text))
    text = "".join(c for c in text if _visible(c))
    return unicodedata.normalize("NFKC", text)


def clean_line(text: str) -> str:
    """`clean_text` for one log line: any line break inside it becomes a space."""
    return clean_text(text).replace("\n", " ")


def new_marker() -> str:
    """A fresh random fence marker (16 hex digits), one per request."""
    return secrets.token_hex(MARKER_BYTES)


def neutralize(text: str, marker: str = "") -> str:
    """Space out runs of 3+ `<` or `>`, and drop `marker` wherever the data holds it."""
    if marker:
        text = re.sub(re.escape(marker), "[marker removed]", text, flags=re.IGNORECASE)
    return FENCE_RUN.sub(lambda m: " ".join(m.group()), text)


def fence_tags(kind: str, label: str, marker: str) -> tuple[str, str]:
    """The BEGIN and END tags of one fenced item."""
    tag = f"UNTRUSTED {kind} {label}".strip()
    return f"<<<{tag} BEGIN {marker}>>>", f"<<<{tag} END {marker}>>>"


def fence(kind: str, label: str, body: str, marker: str) -> str:
    """`body` (cleaned and neutralized) between BEGIN/END tags naming `kind`, `label` and the
    request's `marker`."""
    begin, end = fence_tags(kind, label, marker)
    return f"{begin}\n{neutralize(clean_text(body), marker)}\n{end}"
