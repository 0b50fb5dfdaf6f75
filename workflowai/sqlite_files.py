"""Opening the project's SQLite files (knowledge base, failure history) the same way.

One connection per store, shared by threads under the store's lock: WAL so readers do not
block the writer, a busy timeout so concurrent processes wait instead of failing at once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_database(path: Path, timeout_s: float, script: str) -> sqlite3.Connection:
    """Open (creating the folder and file) and run `script` (the idempotent DDL).

    Raises sqlite3.Error or OSError for the caller to translate into its own errors; the
    connection is closed when the setup fails.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout_s, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(script)
    except sqlite3.Error:
        conn.close()
        raise
    return conn
