"""Failure signatures: the same failure in two runs hashes the same; different failures differ.

The signature is built from the masked templates (`templates.mask_line`) of the strongest key
lines, chosen by rule weight and text only (never by position), de-duplicated and sorted, so
timestamps, ids, temp paths, durations and line numbers do not change it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from workflowai.analysis.templates import mask_line

MAX_SIGNATURE_LINES = 3
MAX_TEMPLATE_CHARS = 240


def failure_signature(key_lines: Sequence[str]) -> tuple[str, str]:
    """(sha256 prefix, normalized text) of up to three key lines, strongest first.

    `key_lines` should come strongest first; an empty list gives the signature of "no
    evidence", which is stable too.
    """
    templates: list[str] = []
    for line in key_lines:
        template = mask_line(line)[:MAX_TEMPLATE_CHARS]
        if template and template not in templates:
            templates.append(template)
        if len(templates) == MAX_SIGNATURE_LINES:
            break
    text = "\n".join(sorted(templates)) if templates else "<no evidence>"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], text
