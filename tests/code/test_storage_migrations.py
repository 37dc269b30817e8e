"""The schema grows by migrations (PRAGMA user_version); a database made by any earlier version keeps its data."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from bot.database import SqliteEngine, connect, statements
from bot.storage import MIGRATIONS, Storage
from tests.conftest import at_once


def database_at(location, version: int) -> None:
    """A database as the bot of schema ``version`` left it, with one answer (and a run, from version 2)."""
    db = connect(location)
    try:
        for script in MIGRATIONS[:version]:
            for statement in statements(script):
                db.execute(db.migration_sql(statement))
        db.set_schema_version(version)
        db.execute("INSERT INTO answers (created_at, user_hash, chat_id, status, number, confidence, latency_ms,"
                   " model_version, digits, inputs) VALUES (1.0, 'u', 42, 'ok', '7', 0.9, 5.0, 'old', '7:0.9000', ?)",
                   (np.full((28, 28), 9, np.uint8).tobytes(),))
        if version >= 2:
            db.execute("INSERT INTO training_runs (started_at, chat_id, epochs, status) VALUES (1.0, 42, 3, 'running')")
    finally:
        db.close()


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS) + 1))
def test_an_older_database_is_brought_up_to_date_and_keeps_its_data(database_location, version):
    database_at(database_location, version)
    storage = Storage(database_location, salt="test")
    try:
        assert storage.schema_version == len(MIGRATIONS)
        answer = storage.answer(1)
        assert answer.chat_id == 42 and answer.number == "7" and answer.model_version == "old"
        assert answer.digits[0].image.max() == 9
        assert storage.record_feedback(1, 5, "right", "7")  # the feedback tables exist now
        runs = storage.interrupted_runs()
        assert [run["model_before"] for run in runs] == ([None] if version >= 2 else [])
    finally:
        storage.close()


def test_a_new_database_and_a_second_opening(database_location):
    first = Storage(database_location, salt="test")
    assert first.schema_version == len(MIGRATIONS) == 6
    first.close()
    again = Storage(database_location, salt="test")  # nothing is migrated twice
    assert again.schema_version == 6
    again.close()


def test_corrections_of_the_count_given_before_version_5_are_kept(database_location):
    """A database of version 4 already holds such corrections, only as feedback: they are copied in."""
    database_at(database_location, 4)
    db = connect(database_location)
    try:
        db.execute("INSERT INTO feedback (answer_id, created_at, user_hash, verdict, label)"
                   " VALUES (1, 2.0, 'u', 'wrong', '71')")
    finally:
        db.close()
    storage = Storage(database_location, salt="test")
    try:
        assert storage.feedback_stats().miscounted == 1
        miscounts = storage.feedback_samples().miscounts
        assert miscounts.read.tolist() == ["7"] and miscounts.labels.tolist() == ["71"]
        assert miscounts.inputs.shape == (1, 28, 28) and miscounts.inputs.max() == 9
        assert storage.answer(1).writing is None  # not kept before version 5
    finally:
        storage.close()


def test_processes_starting_together_migrate_once(database_location):
    """Replicas started at the same moment on an empty database: one migrates, the others wait, none fails."""
    opened, failures = at_once(lambda: Storage(database_location, salt=f"salt-{threading.get_ident()}"))
    try:
        assert failures == [] and len(opened) == 4
        assert {storage.schema_version for storage in opened} == {len(MIGRATIONS)}
        if opened[0].engine == "postgresql":  # replicas hash users alike: one salt, stored in the database
            assert len({storage.salt for storage in opened}) == 1
    finally:
        for storage in opened:
            storage.close()


def test_sqlite_file_held_by_a_writer_is_waited_for_not_refused(tmp_path):
    """Switching a file to WAL while another process writes to it fails at once in SQLite ("database is
    locked", no busy wait): what made processes starting together fail now and then. The bot waits."""
    path = tmp_path / "digitbot.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        engine = SqliteEngine(path)
        assert engine.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        engine.close()
    finally:
        release.join()
        other.close()
