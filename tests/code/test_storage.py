"""SQLite storage: every write all or nothing; labels are ASCII digits; ids beyond SQLite's range name nothing."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from bot.answers import StoredAnswer, StoredDigit, writing_of, writing_png
from bot.storage import MAX_NUMBER_DIGITS, Storage, is_number
from recognizer import Status


@pytest.fixture
def storage(tmp_path):
    store = Storage(tmp_path / "db.sqlite3", salt="test")
    yield store
    store.close()


def _stored(number: str = "7", confidences: tuple[float, ...] = (0.99,), images: np.ndarray | None = None,
            chat_id: int = 1) -> StoredAnswer:
    images = np.zeros((len(number), 28, 28), np.uint8) if images is None else images
    digits = tuple(StoredDigit(int(d), c, image) for d, c, image in zip(number, confidences, images))
    return StoredAnswer(chat_id=chat_id, status=Status.OK, number=number, confidence=0.99, latency_ms=5.0,
                        model_version="v1", digits=digits)


def _answer(storage: Storage, answer: StoredAnswer | None = None) -> int:
    return storage.record_answer(1, answer or _stored())


def _damage(path, answer_id: int, **columns: str) -> None:
    """Change a stored row behind the bot's back, as a damaged disk or a hand edit would."""
    with sqlite3.connect(path) as db:
        for column, value in columns.items():
            db.execute(f"UPDATE answers SET {column} = ? WHERE id = ?", (value, answer_id))


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
    broken = _answer(storage)
    _damage(tmp_path / "db.sqlite3", broken, digits="7:not-a-number")
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
    right = storage.record_answer(1, _stored("7", (0.99,), images[:1]))
    fixed = storage.record_answer(2, _stored("12", (0.95, 0.90), images[1:], chat_id=2))
    miscounted = storage.record_answer(3, _stored("12", (0.95, 0.90), images[1:], chat_id=3))
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


def test_a_failure_after_the_first_insert_rolls_back_everything(storage, tmp_path):
    """The samples insert fails after the feedback row is written: neither may stay."""
    answer_id = _answer(storage)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:  # any statement inserting a sample now fails
        db.execute("CREATE TRIGGER broken BEFORE INSERT ON samples BEGIN SELECT no_such_function(); END")
    with pytest.raises(sqlite3.OperationalError, match="no_such_function"):
        storage.record_feedback(answer_id, 1, "right", "7")
    assert not storage.in_transaction and not storage.has_feedback(answer_id)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("DROP TRIGGER broken")
    assert storage.record_feedback(answer_id, 1, "right", "7")


def test_an_answer_reads_back_as_it_was_stored(storage):
    images = np.random.default_rng(1).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    answer_id = storage.record_answer(9, _stored("42", (0.875, 0.5), images, chat_id=77))
    stored = storage.answer(answer_id)
    assert stored.id == answer_id and stored.chat_id == 77 and stored.number == "42"
    assert stored.status is Status.OK and stored.model_version == "v1"
    assert [(d.digit, d.confidence) for d in stored.digits] == [(4, 0.875), (2, 0.5)]
    np.testing.assert_array_equal(stored.images, images)


def test_an_answer_without_digits_stores_no_inputs(storage, tmp_path):
    nothing = StoredAnswer(chat_id=1, status=Status.NO_DIGIT, number="", confidence=0.0, latency_ms=3.0,
                           model_version="v1")
    answer_id = storage.record_answer(1, nothing)
    assert storage.answer(answer_id).digits == () and storage.answer(answer_id).status == "no_digit"
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT status, digits, inputs FROM answers").fetchone() == ("no_digit", "", None)


@pytest.mark.parametrize("columns", [{"digits": "7:0.9,8:0.9"}, {"inputs": b"short"}, {"status": "maybe"}])
def test_a_damaged_answer_is_an_error_not_a_wrong_answer(storage, tmp_path, columns):
    answer_id = _answer(storage)
    _damage(tmp_path / "db.sqlite3", answer_id, **columns)
    with pytest.raises(ValueError):
        storage.answer(answer_id)


def _started_ago(path, answer_id: int, seconds: float) -> None:
    """Move the start of a correction into the past, as the clock would (no waiting in the test)."""
    with sqlite3.connect(path) as db:
        db.execute("UPDATE corrections SET created_at = created_at - ? WHERE answer_id = ?", (seconds, answer_id))


def test_a_typed_correction_is_taken_only_within_ten_minutes_of_wrong(storage, tmp_path):
    answer_id = storage.record_answer(1, _stored(chat_id=42))
    assert storage.pending_correction(42) is None  # nobody pressed ✏️ yet
    storage.set_correction_progress(answer_id, 42, "")
    assert storage.pending_correction(42) == answer_id
    assert storage.pending_correction(43) is None  # another chat
    _started_ago(tmp_path / "db.sqlite3", answer_id, 590)
    assert storage.pending_correction(42) == answer_id
    _started_ago(tmp_path / "db.sqlite3", answer_id, 20)  # 610 s ago now
    assert storage.pending_correction(42) is None


def test_a_correction_of_the_count_of_digits_is_kept_whole_with_the_writing(storage, tmp_path):
    """It labels no sample, so the answer given, the right number, the inputs and the writing are kept."""
    writing = np.zeros((28, 60), np.uint8)
    writing[4:24, 10:14] = 255
    images = np.full((2, 28, 28), 3, np.uint8)
    answer = _stored("18", (0.9, 0.6), images)
    answer = StoredAnswer(**{**answer.__dict__, "writing": writing_png(writing)})
    miscounted, fixed = storage.record_answer(4, answer), _answer(storage)
    assert storage.record_feedback(miscounted, 4, "wrong", "1")
    assert storage.record_feedback(fixed, 4, "wrong", "4")  # the same count: a sample, not a miscount
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        rows = db.execute("SELECT answer_id, answer_number, label, inputs, writing FROM miscounts").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(miscounted, "18", "1")]
    np.testing.assert_array_equal(np.frombuffer(rows[0][3], np.uint8).reshape(-1, 28, 28), images)
    np.testing.assert_array_equal(writing_of(rows[0][4]), writing)
    stats = storage.feedback_stats()
    assert (stats.confirmed, stats.corrected, stats.miscounted, stats.samples) == (0, 2, 1, 1)
    assert storage.feedback_samples().miscounts.labels.tolist() == ["1"]
