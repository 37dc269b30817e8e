"""SQLite persistence: one row per photo answered. WAL mode, so nothing answered is lost on kill -9.

The schema version lives in ``PRAGMA user_version``; ``MIGRATIONS[n]`` takes a database from version
n to n + 1, so later features add tables without losing data.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MIGRATIONS: list[str] = [
    # 0 -> 1: answers.
    """
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        user_hash TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        status TEXT NOT NULL,
        number TEXT NOT NULL,
        confidence REAL NOT NULL,
        latency_ms REAL NOT NULL,
        model_version TEXT NOT NULL,
        digits TEXT NOT NULL,
        inputs BLOB
    );
    CREATE INDEX answers_created_at ON answers (created_at);
    """,
]


def hash_user(user_id: int, salt: str) -> str:
    """A stable pseudonym: statistics need distinct users, not who they are."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:24]


@dataclass
class Stats:
    photos: int
    users: int
    by_status: dict[str, int]
    latency_p50_ms: float
    latency_p95_ms: float
    per_day: list[tuple[str, int]]
    digits_read: dict[int, int]


class Storage:
    """A single connection guarded by a lock; callers run these methods in a worker thread."""

    def __init__(self, path: Path, salt: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.salt = salt
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in filter(str.strip, script.split(";")):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {target}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record_answer(self, user_id: int, chat_id: int, status: str, number: str, confidence: float,
                      latency_ms: float, model_version: str, digits: str, inputs: np.ndarray | None) -> int:
        """Store one answer (committed before returning) and give back its id."""
        blob = None if inputs is None or len(inputs) == 0 else np.ascontiguousarray(inputs, np.uint8).tobytes()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO answers (created_at, user_hash, chat_id, status, number, confidence, latency_ms,"
                " model_version, digits, inputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), hash_user(user_id, self.salt), chat_id, status, number, confidence, latency_ms,
                 model_version, digits, blob))
            return int(cursor.lastrowid)

    def answer(self, answer_id: int) -> dict[str, Any] | None:
        with self._lock:
            self._db.row_factory = sqlite3.Row
            try:
                row = self._db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)).fetchone()
            finally:
                self._db.row_factory = None
        return dict(row) if row else None

    @staticmethod
    def inputs_of(row: dict[str, Any]) -> np.ndarray:
        """The 28x28 model inputs saved with an answer, shape (N, 28, 28)."""
        blob = row.get("inputs") or b""
        return np.frombuffer(blob, np.uint8).reshape(-1, 28, 28)

    def stats(self, days: int = 30) -> Stats:
        with self._lock:
            photos, users = self._db.execute("SELECT COUNT(*), COUNT(DISTINCT user_hash) FROM answers").fetchone()
            by_status = dict(self._db.execute("SELECT status, COUNT(*) FROM answers GROUP BY status").fetchall())
            latencies = [r[0] for r in self._db.execute("SELECT latency_ms FROM answers ORDER BY id DESC LIMIT 10000")]
            since = time.time() - days * 86400
            per_day = self._db.execute(
                "SELECT date(created_at, 'unixepoch') AS day, COUNT(*) FROM answers WHERE created_at >= ?"
                " GROUP BY day ORDER BY day", (since,)).fetchall()
            numbers = [r[0] for r in self._db.execute("SELECT number FROM answers WHERE number != ''")]
        digits_read = {d: 0 for d in range(10)}
        for number in numbers:
            for char in number:
                digits_read[int(char)] += 1
        p50, p95 = (np.percentile(latencies, [50, 95]).tolist() if latencies else [0.0, 0.0])
        return Stats(int(photos), int(users), by_status, float(p50), float(p95), [(d, int(c)) for d, c in per_day],
                     digits_read)
