"""Stemmed text for Elasticsearch's BM25 fields, made on the client.

The minimal Elasticsearch distribution (the integ-test node) has no analysis-common module, so
no stemmer and no `english` analyzer, and BM25 there matched "failures" only to "failures".
SQLite's FTS5 `porter` tokenizer stems, and was worth +0.03 nDCG@10 on SciFact. So the client
writes a stemmed copy of title and text next to the originals and stems queries the same way,
splitting like FTS5's unicode61 tokenizer (runs of letters and digits, lowercased) and
stemming with the Porter algorithm from PyStemmer (Snowball's C implementation).
"""

from __future__ import annotations

import re
import threading
from typing import Any

_TOKENS = re.compile(r"[^\W_]+")
_LOCAL = threading.local()  # a Stemmer object is not safe to share between threads


def _stemmer() -> Any:
    stemmer = getattr(_LOCAL, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _LOCAL.stemmer = Stemmer.Stemmer("porter")
    return stemmer


def stem_text(text: str) -> str:
    """`text` as space-separated lowercase Porter stems ("Tests failed" -> "test fail")."""
    return " ".join(_stemmer().stemWords(_TOKENS.findall(text.lower())))
