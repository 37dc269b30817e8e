"""The schema grows by migrations (PRAGMA user_version); a database made by any earlier version keeps its data."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from bot.storage import MIGRATIONS, Storage


def database_at(path, version: int) -> None:
    """A database as the bot of schema ``version`` left it, with one answer (and a run, from version 2)."""
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:version]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version = {version}")
        db.execute("INSERT INTO answers (created_at, user_hash, chat_id, status, number, confidence, latency_ms,"
                   " model_version, digits, inputs) VALUES (1.0, 'u', 42, 'ok', '7', 0.9, 5.0, 'old', '7:0.9000', ?)",
                   (np.full((28, 28), 9, np.uint8).tobytes(),))
        if version >= 2:
            db.execute("INSERT INTO training_runs (started_at, chat_id, epochs, status) VALUES (1.0, 42, 3, 'running')")


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS) + 1))
def test_an_older_database_is_brought_up_to_date_and_keeps_its_data(tmp_path, version):
    database_at(tmp_path / "db.sqlite3", version)
    storage = Storage(tmp_path / "db.sqlite3", salt="test")
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


def test_a_new_database_and_a_second_opening(tmp_path):
    first = Storage(tmp_path / "db.sqlite3", salt="test")
    assert first.schema_version == len(MIGRATIONS) == 5
    first.close()
    again = Storage(tmp_path / "db.sqlite3", salt="test")  # nothing is migrated twice
    assert again.schema_version == 5
    again.close()


def test_corrections_of_the_count_given_before_version_5_are_kept(tmp_path):
    """A database of version 4 already holds such corrections, only as feedback: they are copied in."""
    database_at(tmp_path / "db.sqlite3", 4)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("INSERT INTO feedback (answer_id, created_at, user_hash, verdict, label)"
                   " VALUES (1, 2.0, 'u', 'wrong', '71')")
    storage = Storage(tmp_path / "db.sqlite3", salt="test")
    try:
        assert storage.feedback_stats().miscounted == 1
        miscounts = storage.feedback_samples().miscounts
        assert miscounts.read.tolist() == ["7"] and miscounts.labels.tolist() == ["71"]
        assert miscounts.inputs.shape == (1, 28, 28) and miscounts.inputs.max() == 9
        assert storage.answer(1).writing is None  # not kept before version 5
    finally:
        storage.close()
