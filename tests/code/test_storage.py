"""Storage on each engine (SQLite, PostgreSQL): every write all or nothing; labels are ASCII digits; ids beyond
64-bit integers name nothing."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from bot.answers import StoredAnswer, StoredDigit, writing_of, writing_png
from bot.database import connect
from bot.storage import MAX_NUMBER_DIGITS, Storage, is_number
from recognizer import Status


@pytest.fixture
def storage(database_location):
    store = Storage(database_location, salt="test")
    yield store
    store.close()


@contextlib.contextmanager
def other_connection(location):
    """Another connection to the same database, as another process or a hand edit has."""
    engine = connect(location)
    try:
        yield engine
    finally:
        engine.close()


def _stored(number: str = "7", confidences: tuple[float, ...] = (0.99,), images: np.ndarray | None = None,
            chat_id: int = 1) -> StoredAnswer:
    images = np.zeros((len(number), 28, 28), np.uint8) if images is None else images
    digits = tuple(StoredDigit(int(d), c, image) for d, c, image in zip(number, confidences, images))
    return StoredAnswer(chat_id=chat_id, status=Status.OK, number=number, confidence=0.99, latency_ms=5.0,
                        model_version="v1", digits=digits)


def _answer(storage: Storage, answer: StoredAnswer | None = None) -> int:
    return storage.record_answer(1, answer or _stored())


def _damage(location, answer_id: int, **columns: str | bytes) -> None:
    """Change a stored row behind the bot's back, as a damaged disk or a hand edit would."""
    with other_connection(location) as db:
        for column, value in columns.items():
            db.execute(f"UPDATE answers SET {column} = ? WHERE id = ?", (value, answer_id))


def test_is_number_takes_ascii_digits_of_plausible_length():
    assert is_number("0") and is_number("12345") and is_number("9" * MAX_NUMBER_DIGITS)
    for text in ("²", "①", "٣", "12a", "", " 1", "9" * (MAX_NUMBER_DIGITS + 1)):
        assert not is_number(text), text


@pytest.mark.parametrize("label", ["²", "①", "7" * 5000])
def test_a_label_that_is_no_number_is_refused_before_any_write(storage, database_location, label):
    answer_id = _answer(storage)
    with pytest.raises(ValueError):
        storage.record_feedback(answer_id, 1, "wrong", label)
    assert not storage.in_transaction
    assert storage.record_feedback(answer_id, 1, "right", "7")  # the connection is usable


def test_a_failure_inside_a_write_rolls_it_back(storage, database_location):
    """A stored answer whose digits cannot be parsed fails half-way through record_feedback: nothing of
    it may stay, and the one connection must not be left inside the transaction."""
    broken = _answer(storage)
    _damage(database_location, broken, digits="7:not-a-number")
    with pytest.raises(ValueError):
        storage.record_feedback(broken, 1, "wrong", "3")
    assert not storage.in_transaction
    other = _answer(storage)
    assert storage.record_feedback(other, 2, "right", "7")
    with other_connection(database_location) as db:  # another connection sees exactly the committed rows
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


def test_a_failure_after_the_first_insert_rolls_back_everything(storage, database_location):
    """The samples insert fails after the feedback row is written: neither may stay."""
    answer_id = _answer(storage)
    with other_connection(database_location) as db:  # any statement inserting a sample now fails
        if storage.engine == "sqlite":
            db.execute("CREATE TRIGGER broken BEFORE INSERT ON samples BEGIN SELECT no_such_function(); END")
        else:
            db.execute("CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS"
                       " 'BEGIN RAISE EXCEPTION ''no_such_function''; END'")
            db.execute("CREATE TRIGGER broken BEFORE INSERT ON samples FOR EACH ROW EXECUTE FUNCTION broken()")
    with pytest.raises(storage.errors, match="no_such_function"):
        storage.record_feedback(answer_id, 1, "right", "7")
    assert not storage.in_transaction and not storage.has_feedback(answer_id)
    with other_connection(database_location) as db:
        db.execute("DROP TRIGGER broken" + ("" if storage.engine == "sqlite" else " ON samples"))
    assert storage.record_feedback(answer_id, 1, "right", "7")


def test_an_answer_reads_back_as_it_was_stored(storage):
    images = np.random.default_rng(1).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    answer_id = storage.record_answer(9, _stored("42", (0.875, 0.5), images, chat_id=77))
    stored = storage.answer(answer_id)
    assert stored.id == answer_id and stored.chat_id == 77 and stored.number == "42"
    assert stored.status is Status.OK and stored.model_version == "v1"
    assert [(d.digit, d.confidence) for d in stored.digits] == [(4, 0.875), (2, 0.5)]
    np.testing.assert_array_equal(stored.images, images)


def test_an_answer_without_digits_stores_no_inputs(storage, database_location):
    nothing = StoredAnswer(chat_id=1, status=Status.NO_DIGIT, number="", confidence=0.0, latency_ms=3.0,
                           model_version="v1")
    answer_id = storage.record_answer(1, nothing)
    assert storage.answer(answer_id).digits == () and storage.answer(answer_id).status == "no_digit"
    with other_connection(database_location) as db:
        assert db.execute("SELECT status, digits, inputs FROM answers").fetchone() == ("no_digit", "", None)


@pytest.mark.parametrize("columns", [{"digits": "7:0.9,8:0.9"}, {"inputs": b"short"}, {"status": "maybe"}])
def test_a_damaged_answer_is_an_error_not_a_wrong_answer(storage, database_location, columns):
    answer_id = _answer(storage)
    _damage(database_location, answer_id, **columns)
    with pytest.raises(ValueError):
        storage.answer(answer_id)


def _started_ago(location, answer_id: int, seconds: float) -> None:
    """Move the start of a correction into the past, as the clock would (no waiting in the test)."""
    with other_connection(location) as db:
        db.execute("UPDATE corrections SET created_at = created_at - ? WHERE answer_id = ?", (seconds, answer_id))


def test_a_typed_correction_is_taken_only_within_ten_minutes_of_wrong(storage, database_location):
    answer_id = storage.record_answer(1, _stored(chat_id=42))
    assert storage.pending_correction(42) is None  # nobody pressed ✏️ yet
    storage.set_correction_progress(answer_id, 42, "")
    assert storage.pending_correction(42) == answer_id
    assert storage.pending_correction(43) is None  # another chat
    _started_ago(database_location, answer_id, 590)
    assert storage.pending_correction(42) == answer_id
    _started_ago(database_location, answer_id, 20)  # 610 s ago now
    assert storage.pending_correction(42) is None


def test_a_correction_of_the_count_of_digits_is_kept_whole_with_the_writing(storage, database_location):
    """It labels no sample, so the answer given, the right number, the inputs and the writing are kept."""
    writing = np.zeros((28, 60), np.uint8)
    writing[4:24, 10:14] = 255
    images = np.full((2, 28, 28), 3, np.uint8)
    answer = _stored("18", (0.9, 0.6), images)
    answer = StoredAnswer(**{**answer.__dict__, "writing": writing_png(writing)})
    miscounted, fixed = storage.record_answer(4, answer), _answer(storage)
    assert storage.record_feedback(miscounted, 4, "wrong", "1")
    assert storage.record_feedback(fixed, 4, "wrong", "4")  # the same count: a sample, not a miscount
    with other_connection(database_location) as db:
        rows = db.execute("SELECT answer_id, answer_number, label, inputs, writing FROM miscounts").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(miscounted, "18", "1")]
    np.testing.assert_array_equal(np.frombuffer(bytes(rows[0][3]), np.uint8).reshape(-1, 28, 28), images)
    np.testing.assert_array_equal(writing_of(bytes(rows[0][4])), writing)
    stats = storage.feedback_stats()
    assert (stats.confirmed, stats.corrected, stats.miscounted, stats.samples) == (0, 2, 1, 1)
    assert storage.feedback_samples().miscounts.labels.tolist() == ["1"]

def test_two_processes_share_the_rate_limit_of_each_user(storage, database_location):
    """Two replicas on one database: a user's photos count together, whichever replica each reaches."""
    other = Storage(database_location, salt="test")
    try:
        assert [(storage if i % 2 else other).allow_photo(7, 3, now=100.0 + i) for i in range(4)] == [
            True, True, True, False]
        assert storage.allow_photo(8, 3, now=103.5)  # another user has a limit of their own
        assert not other.allow_photo(7, 3, now=159.0)  # the window slides: the first left it at 160
        assert other.allow_photo(7, 3, now=160.5)
    finally:
        other.close()


def test_one_training_lock_at_a_time_until_released(storage, database_location):
    """With PostgreSQL the lock holds across processes (replicas); SQLite is one process's database."""
    lock = storage.training_lock()
    assert lock is not None
    other = Storage(database_location, salt="test") if storage.engine == "postgresql" else storage
    try:
        run_id = other.start_run(chat_id=5, epochs=1, model_before="v1")
        assert other.training_lock() is None and storage.training_lock() is None
        assert other.interrupted_runs() == []  # the running run is someone's, not interrupted
        assert other.running_run()["id"] == run_id
        lock.release()
        again = other.training_lock()
        assert again is not None
        again.release()
        assert [run["id"] for run in other.interrupted_runs()] == [run_id]
    finally:
        if other is not storage:
            other.close()


def test_stats_count_days_in_utc(storage):
    storage.record_answer(1, _stored())
    figures = storage.stats(days=3)
    assert [count for _, count in figures.per_day] == [0, 0, 1]
    assert figures.photos == 1 and figures.users == 1 and figures.digits_read[7] == 1


def test_a_cancel_asked_in_one_process_is_seen_by_the_run_in_another(storage, database_location):
    assert storage.request_cancel() is False  # no run
    run_id = storage.start_run(chat_id=5, epochs=1, model_before="v1")
    other = Storage(database_location, salt="test")
    try:
        assert other.request_cancel() is True
        assert storage.run_status(run_id) == "cancel_requested" and storage.running_run()["id"] == run_id
        storage.finish_run(run_id, "cancelled", "stopped")
        assert other.run_status(run_id) == "cancelled" and other.request_cancel() is False
    finally:
        other.close()


def test_a_connection_the_server_dropped_is_replaced(postgres_url):
    """PostgreSQL restarted or failed over: the next call connects again instead of failing for ever."""
    import psycopg

    storage = Storage(postgres_url, salt="test")
    try:
        answer_id = _answer(storage)
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # end the bot's session, as a restart does
            ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
                                  " current_database() AND pid <> pg_backend_pid()").fetchall()
        assert ended
        storage.ping()
        assert storage.answer(answer_id).number == "7"
        assert storage.record_feedback(answer_id, 1, "right", "7")  # a transaction on the new connection
    finally:
        storage.close()
