"""Persistence: one row per photo answered, feedback, samples and /train runs, in SQLite or PostgreSQL.

SQLite (WAL mode, in DATA_DIR) is the default; ``DATABASE_URL=postgresql://...`` shares one database
between replicas. Every write is committed before the method returns, so nothing answered is lost
on kill -9. ``MIGRATIONS[n]`` takes a database from schema version n to n + 1, so later features add
tables without losing data; each is written once, in SQLite's words (types INTEGER, REAL, TEXT, BLOB),
and ``bot.database`` translates the types for PostgreSQL.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.answers import COLUMNS, StoredAnswer, images_blob, images_of
from bot.database import TRAINING_LOCK, Engine, Lock, connect, statements
from recognizer.evaluation import accuracy, confusion_matrix, per_digit_accuracy
from training.contract import FeedbackSamples, Miscounts, Verdict

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
    # 1 -> 2: feedback on answers, the labelled samples it yields, and /train runs.
    """
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        answer_id INTEGER NOT NULL UNIQUE REFERENCES answers (id),
        created_at REAL NOT NULL,
        user_hash TEXT NOT NULL,
        verdict TEXT NOT NULL,
        label TEXT NOT NULL
    );
    CREATE TABLE samples (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        feedback_id INTEGER NOT NULL REFERENCES feedback (id),
        created_at REAL NOT NULL,
        user_hash TEXT NOT NULL,
        image BLOB NOT NULL,
        label INTEGER NOT NULL,
        predicted INTEGER NOT NULL,
        confidence REAL NOT NULL
    );
    CREATE TABLE corrections (
        answer_id INTEGER PRIMARY KEY REFERENCES answers (id),
        chat_id INTEGER NOT NULL,
        digits TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE training_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at REAL NOT NULL,
        finished_at REAL,
        chat_id INTEGER NOT NULL,
        message_id INTEGER,
        epochs INTEGER NOT NULL,
        status TEXT NOT NULL,
        summary TEXT
    );
    """,
    # 2 -> 3: the model in use when a run started, so a run cut short can be reported truthfully.
    """
    ALTER TABLE training_runs ADD COLUMN model_before TEXT;
    """,
    # 3 -> 4: the answer message a keypad belongs to, so a typed correction can close it; each admin's
    # language, so notes sent without an update (an interrupted run, an outage) are in it.
    """
    ALTER TABLE corrections ADD COLUMN message_id INTEGER;
    ALTER TABLE corrections ADD COLUMN answer_text TEXT;
    CREATE TABLE admin_languages (
        user_id INTEGER PRIMARY KEY,
        language TEXT NOT NULL
    );
    """,
    # 4 -> 5: corrections of the count of digits (a digit too many or too few) label no sample, so each is
    # kept whole, to teach the cutting later: the answer given, the right number, the 28x28 inputs of the
    # answer, and the writing's picture (answers.writing, a PNG; NULL for answers stored before it). Those
    # already given are copied in from the answers they corrected.
    """
    ALTER TABLE answers ADD COLUMN writing BLOB;
    CREATE TABLE miscounts (
        feedback_id INTEGER PRIMARY KEY REFERENCES feedback (id),
        answer_id INTEGER NOT NULL UNIQUE REFERENCES answers (id),
        created_at REAL NOT NULL,
        user_hash TEXT NOT NULL,
        answer_number TEXT NOT NULL,
        label TEXT NOT NULL,
        inputs BLOB,
        writing BLOB
    );
    INSERT INTO miscounts (feedback_id, answer_id, created_at, user_hash, answer_number, label, inputs, writing)
        SELECT f.id, f.answer_id, f.created_at, f.user_hash, a.number, f.label, a.inputs, a.writing
        FROM feedback f JOIN answers a ON a.id = f.answer_id
        WHERE length(f.label) != length(a.number);
    """,
    # 5 -> 6: when each user's photos arrived, so that replicas share one rate limit (PHOTOS_PER_MINUTE).
    """
    CREATE TABLE photo_arrivals (
        user_hash TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX photo_arrivals_user_at ON photo_arrivals (user_hash, at);
    """,
]


# A run's row while its process lives: running, or running with a cancel asked for from another replica.
RUN_GOING = "('running', 'cancel_requested')"
# SQLite integers are signed 64-bit: an id outside this range can name no row (and would overflow).
MAX_ROW_ID = 2**63 - 1
# The longest number a user may give as the right answer; longer is no plausible correction.
MAX_NUMBER_DIGITS = 20


def is_number(text: str) -> bool:
    """ASCII digits only, 1 to MAX_NUMBER_DIGITS of them: '²', '①' and '٣' pass str.isdigit() but are no label."""
    return 0 < len(text) <= MAX_NUMBER_DIGITS and text.isascii() and text.isdigit()


def hash_user(user_id: int, salt: str) -> str:
    """A stable pseudonym: statistics need distinct users, not who they are."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:24]


@dataclass
class FeedbackStats:
    confirmed: int
    corrected: int
    samples: int
    miscounted: int  # corrections of the count of digits (kept in ``miscounts``, no samples)
    accuracy: float | None  # share of feedback-labelled digits the model had right
    per_digit_accuracy: dict[int, float]
    confusion: np.ndarray  # (10, 10): rows the true digit, columns what the model said


@dataclass
class Stats:
    photos: int
    users: int
    by_status: dict[str, int]
    latency_p50_ms: float
    latency_p95_ms: float
    per_day: list[tuple[str, int]]  # every day of the window, oldest first, UTC; 0 for a day with no photo
    digits_read: dict[int, int]


class Storage:
    """A single connection guarded by a lock; callers run these methods in a worker thread.

    ``location`` is a SQLite file or a PostgreSQL URL (``bot.database.connect``). ``salt`` hashes user
    ids; with PostgreSQL the one stored in the database wins, so every replica hashes alike.
    """

    def __init__(self, location: Path | str, salt: str) -> None:
        self._lock = threading.Lock()
        self._db: Engine = connect(location)
        self.engine = self._db.name
        try:
            self._migrate()
            self.salt = self._db.installation_salt(salt) or salt
        except BaseException:
            self._db.close()
            raise

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        """What the driver raises when the database cannot be used (for callers that report it)."""
        return self._db.errors

    def describe(self) -> str:
        """Which database, fit for a log (no password)."""
        return self._db.describe()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Engine]:
        """All or nothing, whatever goes wrong inside: the one connection is never left in a transaction."""
        with self._lock:
            self._db.begin()
            try:
                yield self._db
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()

    @property
    def in_transaction(self) -> bool:
        with self._lock:
            return self._db.in_transaction

    def _migrate(self) -> None:
        """Each pending migration in a transaction of its own; processes starting together take turns."""
        while True:
            with self._transaction() as db:
                db.lock_schema()
                version = db.schema_version()
                if version >= len(MIGRATIONS):
                    return
                for statement in statements(MIGRATIONS[version]):
                    db.execute(db.migration_sql(statement))
                db.set_schema_version(version + 1)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.schema_version()

    def ping(self) -> None:
        """Raise unless the database answers (for /healthz)."""
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        with self._lock:
            self._db.close()

    def record_answer(self, user_id: int, answer: StoredAnswer) -> int:
        """Store one answer (committed before returning) and give back its id; the user id is kept hashed."""
        with self._lock:
            cursor = self._db.execute(
                f"INSERT INTO answers (created_at, user_hash, {', '.join(COLUMNS)})"
                f" VALUES (?, ?, {', '.join('?' for _ in COLUMNS)}) RETURNING id",
                (time.time(), hash_user(user_id, self.salt), *answer.to_row()))
            return int(cursor.fetchone()[0])

    def answer(self, answer_id: int) -> StoredAnswer | None:
        """The stored answer, or None when there is none with this id.

        Raises:
            ValueError: the row is damaged.
        """
        if not 0 < answer_id <= MAX_ROW_ID:
            return None
        with self._lock:
            return self._answer(self._db, answer_id)

    @staticmethod
    def _answer(db: Engine, answer_id: int) -> StoredAnswer | None:
        row = db.execute(f"SELECT id, {', '.join(COLUMNS)} FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return None if row is None else StoredAnswer.from_row(dict(zip(("id", *COLUMNS), row)))

    # --- feedback ---------------------------------------------------------------------------------

    def record_feedback(self, answer_id: int, user_id: int, verdict: Verdict, label: str) -> bool:
        """Store a confirmation or correction and its labelled samples, once per answer, all or nothing.

        Returns False when the answer already has feedback (a double press, a second device) or is
        gone. Samples are stored only when the label has one digit per model input; a label with another
        count of digits (a digit too many or too few) is kept whole in ``miscounts`` instead.

        Raises:
            ValueError: ``label`` is not a number of ASCII digits (see ``is_number``), or the stored
                answer is damaged.
        """
        if not is_number(label):
            raise ValueError(f"not a number of 1-{MAX_NUMBER_DIGITS} ASCII digits: {label[:30]!r}")
        if not 0 < answer_id <= MAX_ROW_ID:
            return False
        now = time.time()
        user = hash_user(user_id, self.salt)
        try:
            with self._transaction() as db:
                answer = self._answer(db, answer_id)
                if answer is None:
                    return False
                feedback_id = db.execute(
                    "INSERT INTO feedback (answer_id, created_at, user_hash, verdict, label) VALUES (?, ?, ?, ?, ?)"
                    " RETURNING id", (answer_id, now, user, Verdict(verdict).value, label)).fetchone()[0]
                if len(label) == len(answer.digits):
                    db.executemany(
                        "INSERT INTO samples (feedback_id, created_at, user_hash, image, label, predicted, confidence)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(feedback_id, now, user, images_blob(digit.image), int(true), digit.digit,
                          digit.confidence) for digit, true in zip(answer.digits, label)])
                else:
                    db.execute("INSERT INTO miscounts (feedback_id, answer_id, created_at, user_hash, answer_number,"
                               " label, inputs, writing) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (feedback_id, answer_id, now, user, answer.number, label,
                                images_blob(answer.images), answer.writing))
                db.execute("DELETE FROM corrections WHERE answer_id = ?", (answer_id,))
        except self._db.integrity_error:  # feedback exists already: the transaction was rolled back
            return False
        return True

    def has_feedback(self, answer_id: int) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM feedback WHERE answer_id = ?", (answer_id,)).fetchone() is not None

    def correction_progress(self, answer_id: int) -> str | None:
        """Digits chosen so far on the keypad for an answer being corrected, or None if not started."""
        with self._lock:
            row = self._db.execute("SELECT digits FROM corrections WHERE answer_id = ?", (answer_id,)).fetchone()
        return None if row is None else row[0]

    def set_correction_progress(self, answer_id: int, chat_id: int, digits: str, message_id: int | None = None,
                                answer_text: str | None = None) -> None:
        """Digits chosen so far; the answer's message and text are kept from the first call that gives them."""
        with self._lock:
            self._db.execute("INSERT INTO corrections (answer_id, chat_id, digits, created_at, message_id,"
                             " answer_text) VALUES (?, ?, ?, ?, ?, ?)"
                             " ON CONFLICT (answer_id) DO UPDATE SET digits = excluded.digits,"
                             " message_id = coalesce(excluded.message_id, corrections.message_id),"
                             " answer_text = coalesce(excluded.answer_text, corrections.answer_text)",
                             (answer_id, chat_id, digits, time.time(), message_id, answer_text))

    def correction_message(self, answer_id: int) -> tuple[int, str] | None:
        """The message showing the keypad of an open correction and the answer's text, if known."""
        with self._lock:
            row = self._db.execute("SELECT message_id, answer_text FROM corrections WHERE answer_id = ?",
                                   (answer_id,)).fetchone()
        return None if row is None or row[0] is None else (int(row[0]), row[1] or "")

    def cancel_correction(self, answer_id: int) -> None:
        """Close an open correction without feedback (the user pressed Cancel)."""
        with self._lock:
            self._db.execute("DELETE FROM corrections WHERE answer_id = ?", (answer_id,))

    def set_admin_language(self, user_id: int, language: str) -> None:
        """Remember the language an admin's client uses, for notes sent without an update."""
        with self._lock:
            self._db.execute("INSERT INTO admin_languages (user_id, language) VALUES (?, ?) ON CONFLICT (user_id)"
                             " DO UPDATE SET language = excluded.language", (user_id, language))

    def admin_language(self, user_id: int, default: str = "en") -> str:
        with self._lock:
            row = self._db.execute("SELECT language FROM admin_languages WHERE user_id = ?", (user_id,)).fetchone()
        return default if row is None else row[0]

    def pending_correction(self, chat_id: int, within_s: float = 600.0) -> int | None:
        """The answer in this chat whose correction was started most recently (in the last 10 minutes)."""
        with self._lock:
            row = self._db.execute("SELECT answer_id FROM corrections WHERE chat_id = ? AND created_at >= ?"
                                   " ORDER BY created_at DESC LIMIT 1", (chat_id, time.time() - within_s)).fetchone()
        return None if row is None else int(row[0])

    def feedback_stats(self) -> FeedbackStats:
        with self._lock:
            verdicts = dict(self._db.execute("SELECT verdict, COUNT(*) FROM feedback GROUP BY verdict").fetchall())
            pairs = np.array(self._db.execute("SELECT label, predicted FROM samples").fetchall(), np.int64)
            miscounted = self._db.execute("SELECT COUNT(*) FROM miscounts").fetchone()[0]
        confusion = confusion_matrix(pairs[:, 0], pairs[:, 1]) if len(pairs) else confusion_matrix([], [])
        return FeedbackStats(verdicts.get(Verdict.RIGHT, 0), verdicts.get(Verdict.WRONG, 0), len(pairs),
                             int(miscounted), accuracy(confusion), per_digit_accuracy(confusion), confusion)

    def feedback_samples(self) -> FeedbackSamples:
        """All feedback as a training run takes it: the labelled samples, and the corrections of the count
        of digits (a digit too many or too few), which label no sample (their writing's picture stays in
        the database: no training uses it yet)."""
        with self._lock:
            samples = self._db.execute(
                "SELECT s.id, s.image, s.label, s.predicted, s.confidence, f.verdict, f.answer_id, s.user_hash,"
                " s.created_at FROM samples s JOIN feedback f ON f.id = s.feedback_id ORDER BY s.id").fetchall()
            miscounted = self._db.execute(
                "SELECT answer_id, answer_number, label, inputs FROM miscounts ORDER BY feedback_id").fetchall()
        names = ("sample_ids", "images", "labels", "predicted", "confidence", "verdicts", "answer_ids", "users",
                 "created_at")
        rows = [dict(zip(names, row)) for row in samples]
        for row in rows:
            row["images"] = images_of(row["images"])[0]
        inputs = [images_of(row[3]) for row in miscounted]
        miscounts = Miscounts(answer_ids=np.array([row[0] for row in miscounted], np.int64),
                              read=np.array([row[1] for row in miscounted], str),
                              labels=np.array([row[2] for row in miscounted], str),
                              input_counts=np.array([len(i) for i in inputs], np.int64),
                              inputs=np.concatenate(inputs) if inputs else np.zeros((0, 28, 28), np.uint8))
        return FeedbackSamples.from_rows(rows, miscounts)

    # --- /train runs --------------------------------------------------------------------------------

    def start_run(self, chat_id: int, epochs: int, model_before: str) -> int:
        """Record a run as running, with the model in use when it started (to tell the truth after a crash)."""
        with self._lock:
            cursor = self._db.execute("INSERT INTO training_runs (started_at, chat_id, epochs, status, model_before)"
                                      " VALUES (?, ?, ?, 'running', ?) RETURNING id",
                                      (time.time(), chat_id, epochs, model_before))
            return int(cursor.fetchone()[0])

    def set_run_message(self, run_id: int, message_id: int) -> None:
        with self._lock:
            self._db.execute("UPDATE training_runs SET message_id = ? WHERE id = ?", (message_id, run_id))

    def finish_run(self, run_id: int, status: str, summary: str) -> None:
        with self._lock:
            self._db.execute("UPDATE training_runs SET status = ?, summary = ?, finished_at = ? WHERE id = ?",
                             (status, summary, time.time(), run_id))

    def training_lock(self) -> Lock | None:
        """The right to run /train, or None while a run holds it (in this process or in another replica).

        With PostgreSQL it is an advisory lock on a connection of its own, released when the holder
        releases it or dies, whichever host it runs on.
        """
        return self._db.try_lock(TRAINING_LOCK)

    def interrupted_runs(self) -> list[dict[str, Any]]:
        """Runs still marked running (the bot stopped during them); marks them interrupted.

        None while a run holds the training lock: its row is a run going on in another replica.
        """
        lock = self.training_lock()
        if lock is None:
            return []
        columns = ("id", "chat_id", "message_id", "epochs", "started_at", "model_before")
        try:
            with self._transaction() as db:
                rows = db.execute(f"SELECT {', '.join(columns)} FROM training_runs WHERE status IN {RUN_GOING}"
                                  ).fetchall()
                db.execute(f"UPDATE training_runs SET status = 'interrupted', finished_at = ? WHERE status IN"
                           f" {RUN_GOING}", (time.time(),))
        finally:
            lock.release()
        return [dict(zip(columns, r)) for r in rows]

    def running_run(self) -> dict[str, Any] | None:
        """The run marked running, if any (another replica's, when this one runs none)."""
        columns = ("id", "chat_id", "epochs", "started_at")
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(columns)} FROM training_runs WHERE status IN {RUN_GOING}"
                                   " ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else dict(zip(columns, row))

    def request_cancel(self) -> bool:
        """Ask the replica running /train to cancel it (it checks its run's row); False when none runs."""
        with self._lock:
            cursor = self._db.execute("UPDATE training_runs SET status = 'cancel_requested' WHERE status = 'running'")
            return cursor.rowcount > 0

    def run_status(self, run_id: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT status FROM training_runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else str(row[0])

    # --- the rate limit -----------------------------------------------------------------------------

    def allow_photo(self, user_id: int, limit: int, window_s: float = 60.0, now: float | None = None) -> bool:
        """Count a photo from ``user_id`` and say whether it may be read: at most ``limit`` in any window of
        ``window_s`` seconds, whichever replica each arrived at. A refused photo does not count."""
        now = time.time() if now is None else now
        user = hash_user(user_id, self.salt)
        with self._transaction() as db:
            db.lock_key(user)
            db.execute("DELETE FROM photo_arrivals WHERE user_hash = ? AND at <= ?", (user, now - window_s))
            seen = db.execute("SELECT COUNT(*) FROM photo_arrivals WHERE user_hash = ?", (user,)).fetchone()[0]
            if seen >= limit:
                return False
            db.execute("INSERT INTO photo_arrivals (user_hash, at) VALUES (?, ?)", (user, now))
        return True

    def stats(self, days: int = 30) -> Stats:
        with self._lock:
            photos, users = self._db.execute("SELECT COUNT(*), COUNT(DISTINCT user_hash) FROM answers").fetchone()
            by_status = dict(self._db.execute("SELECT status, COUNT(*) FROM answers GROUP BY status").fetchall())
            latencies = [r[0] for r in self._db.execute("SELECT latency_ms FROM answers ORDER BY id DESC LIMIT 10000")]
            since = time.time() - days * 86400
            per_day = self._db.execute(
                f"SELECT {self._db.day('created_at')} AS day, COUNT(*) FROM answers WHERE created_at >= ?"
                " GROUP BY day ORDER BY day", (since,)).fetchall()
            numbers = [r[0] for r in self._db.execute("SELECT number FROM answers WHERE number != ''")]
        digits_read = {d: 0 for d in range(10)}
        for number in numbers:
            for char in number:
                digits_read[int(char)] += 1
        p50, p95 = (np.percentile(latencies, [50, 95]).tolist() if latencies else [0.0, 0.0])
        counts = dict(per_day)
        today = time.time()
        window = [time.strftime("%Y-%m-%d", time.gmtime(today - back * 86400)) for back in range(days - 1, -1, -1)]
        return Stats(int(photos), int(users), by_status, float(p50), float(p95),
                     [(day, int(counts.get(day, 0))) for day in window], digits_read)
