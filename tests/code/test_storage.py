"""SQLite storage: every write all or nothing; labels are ASCII digits; ids beyond SQLite's range name nothing."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from bot.storage import MAX_NUMBER_DIGITS, Storage, is_number


@pytest.fixture
def storage(tmp_path):
    store = Storage(tmp_path / "db.sqlite3", salt="test")
    yield store
    store.close()


def _answer(storage: Storage, digits: str = "7:0.9900") -> int:
    return storage.record_answer(1, 1, "ok", "7", 0.99, 5.0, "v1", digits, np.zeros((1, 28, 28), np.uint8))


def test_is_number_takes_ascii_digits_of_plausible_length():
    assert is_number("0") and is_number("12345") and is_number("9" * MAX_NUMBER_DIGITS)
    for text in ("²", "①", "٣", "12a", "", " 1", "9" * (MAX_NUMBER_DIGITS + 1)):
        assert not is_number(text), text


@pytest.mark.parametrize("label", ["²", "①", "7" * 5000])
def test_a_label_that_is_no_number_is_refused_before_any_write(storage, tmp_path, label):
    answer_id = _answer(storage)
    with pytest.raises(ValueError):
        storage.record_feedback(answer_id, 1, "wrong", label)
    assert not storage.in_transaction
    assert storage.record_feedback(answer_id, 1, "right", "7")  # the connection is usable


def test_a_failure_inside_a_write_rolls_it_back(storage, tmp_path):
    """A stored answer whose digits cannot be parsed fails half-way through record_feedback: nothing of
    it may stay, and the one connection must not be left inside the transaction."""
    broken = _answer(storage, digits="7:not-a-number")
    with pytest.raises(ValueError):
        storage.record_feedback(broken, 1, "wrong", "3")
    assert not storage.in_transaction
    other = _answer(storage)
    assert storage.record_feedback(other, 2, "right", "7")
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:  # another connection sees exactly the committed rows
        assert db.execute("SELECT answer_id FROM feedback").fetchall() == [(other,)]
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 1


def test_double_feedback_is_refused_and_leaves_no_transaction(storage):
    answer_id = _answer(storage)
    assert storage.record_feedback(answer_id, 1, "right", "7")
    assert not storage.record_feedback(answer_id, 1, "wrong", "1")
    assert not storage.in_transaction


@pytest.mark.parametrize("answer_id", [0, -1, 2**63, 10**30])
def test_ids_outside_sqlite_range_name_no_answer(storage, answer_id):
    assert storage.answer(answer_id) is None
    assert storage.record_feedback(answer_id, 1, "right", "7") is False


def test_runs_remember_the_model_they_started_from(storage):
    run_id = storage.start_run(chat_id=5, epochs=1, model_before="v1")
    runs = storage.interrupted_runs()
    assert [(r["id"], r["model_before"]) for r in runs] == [(run_id, "v1")]
    assert storage.interrupted_runs() == []  # reported once


def test_feedback_is_exported_with_its_verdicts_and_miscounts(storage):
    images = np.arange(3 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(3, 28, 28)
    right = storage.record_answer(1, 1, "ok", "7", 0.99, 5.0, "v1", "7:0.9900", images[:1])
    fixed = storage.record_answer(2, 2, "ok", "12", 0.9, 5.0, "v1", "1:0.9500,2:0.9000", images[1:])
    miscounted = storage.record_answer(3, 3, "ok", "12", 0.9, 5.0, "v1", "1:0.9500,2:0.9000", images[1:])
    assert storage.record_feedback(right, 1, "right", "7")
    assert storage.record_feedback(fixed, 2, "wrong", "17")
    assert storage.record_feedback(miscounted, 3, "wrong", "123")
    samples = storage.feedback_samples()
    assert samples.labels.tolist() == [7, 1, 7] and samples.predicted.tolist() == [7, 1, 2]
    assert samples.verdicts.tolist() == ["right", "wrong", "wrong"]
    assert samples.answer_ids.tolist() == [right, fixed, fixed]
    np.testing.assert_array_equal(samples.images, images)
    assert len(set(samples.users.tolist())) == 2  # pseudonyms of users 1 and 2
    assert samples.confidence.tolist() == pytest.approx([0.99, 0.95, 0.90])
    assert samples.miscounts.answer_ids.tolist() == [miscounted]
    assert samples.miscounts.read.tolist() == ["12"] and samples.miscounts.labels.tolist() == ["123"]
    np.testing.assert_array_equal(samples.miscounts.inputs, images[1:])
