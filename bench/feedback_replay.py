"""Replays labelled dev photos as users' feedback through the real bot, runs /train, and measures what it learnt.

    MNIST_PATH=... nice -n 10 python bench/feedback_replay.py [--epochs 3] [--writers a,b,...]
        [--holdout-writers c,d,...] [--feedback-share 0.5] [--seed 0]

Issue 13: the learning loop must learn what users corrected. This plays the users of the single-digit
dev photos (``single/<writer>/NNNN_<label>.<ext>``, one writer one user) against the real bot
(``python -m bot``, real PTB, real HTTP to the local Bot API stand-in on 127.0.0.1) running on a
temporary copy of ``models/``, so the shipped model never changes. Some writers are held out entirely;
of the others, a share of each writer's photos is sent as feedback: every photo is sent, a right answer
is confirmed with ✅, a wrong digit is corrected with ✏️ and the keypad, a wrong count of digits by
typing the right number (the only way a user can), and an answer of "no digit" (no buttons) gets
nothing. Then the admin sends ``/train N``; while it trains, photos keep coming and their reply delays
are measured, and the training process's CPU time is read from /proc (wall time on a shared machine
says as much about the neighbours). Afterwards every photo is re-read by the model in use before and
by the candidate the run trained (in this process, the same recognizer the bot runs), whether or not
the install rule took it, and the MNIST test set is read by both.

The figures, before -> after, for: corrected digits the run trained on, corrected digits it held out
(the bot's own split, sample id % 5), confirmed ones, the same writers' photos that were not sent,
writers not in the feedback, the MNIST test set. Each set's errors are split into segmentation errors
(another count of digits than one, "no digit" included) and digit errors (one digit, the wrong one),
and each change is given with its noise: two standard errors of the paired difference, as
``training.retrain.HeldOutChanges`` computes it for the install rule. Prints a table and writes
bench/results/feedback_replay.json. The photos are used only as feedback to a temporary model copy,
never to train the shipped model (their licences forbid it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import mnist_path, photos_dir, save  # noqa: E402
from bench.bot_load import process_cpu_s  # noqa: E402
from bench.photo_accuracy import labelled_photos  # noqa: E402
from digitbot.testkit.bot_process import ADMIN_ID, TOKEN, BotProcess  # noqa: E402
from digitbot.testkit.fake_telegram import Call, FakeTelegram  # noqa: E402
from recognizer import ImageDecodeError, Recognizer  # noqa: E402
from recognizer.model_store import SHIPPED_MODELS_DIR, ModelStore  # noqa: E402
from training.contract import HOLDOUT_EVERY  # noqa: E402
from training.retrain import HeldOutChanges, accuracy  # noqa: E402

FIRST_USER = 20_000
PROBE_USER = 29_999  # sends photos while /train runs, to time the replies
WAIT_S = 120.0  # the slowest reply allowed (a 2,400-px photo on a busy machine)


@dataclass
class Photo:
    path: Path
    writer: str
    label: str
    role: str = ""  # feedback, same_writer (not sent), other_writer (writer not in the feedback)
    answer_id: int | None = None  # the bot's answer, for a photo sent as feedback
    answered: str = ""  # what the bot read when it was sent
    action: str = ""  # confirmed, corrected (keypad), miscount (typed), none (no buttons: "no digit")
    held_out: bool = False  # its sample was held out by /train (corrected digits only)
    before: str = ""  # read by the model in use before /train (this process)
    after: str = ""  # ... and by the candidate /train made (installed or not)
    timings: dict[str, float] = field(default_factory=dict)


class Replay:
    """Plays the users and the admin against the bot, one interaction at a time."""

    def __init__(self, fake: FakeTelegram, bot: BotProcess) -> None:
        self.fake = fake
        self.bot = bot
        self.train_cpu_s = 0.0  # of the training process, last seen while /train ran

    def _wait(self, start: int, chat_id: int, methods: tuple[str, ...], text: str = "",
              timeout: float = WAIT_S) -> Call:
        """The first call of ``methods`` to ``chat_id`` made after the ``start``-th call, holding ``text``."""
        def found(calls: list[Call]) -> Call | None:
            return next((c for c in calls[start:] if c.method in methods and c.params.get("chat_id") == chat_id
                         and text in str(c.params.get("text", ""))), None)
        return self.fake.wait_for(found, timeout)

    def send(self, user: int, photo: bytes) -> tuple[Call, float]:
        """Send a photo; the bot's answer and its delay in seconds."""
        start, sent = len(self.fake.calls), time.monotonic()
        self.fake.push(self.fake.photo_message(user, photo))
        reply = self._wait(start, user, ("sendMessage",))
        return reply, reply.at - sent

    def feedback(self, user: int, reply: Call, label: str, answered: str) -> str:
        """Confirm or correct the answer as the writer would; what was done."""
        markup = reply.params.get("reply_markup") or {}
        buttons = {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}
        if not any(t.startswith("✅") for t in buttons):
            return "none"  # "no digit": no buttons to press
        message = {"message_id": 10_000_000 + len(self.fake.calls), "date": 0,
                   "chat": {"id": user, "type": "private"}, "text": reply.params["text"], "reply_markup": markup}
        start = len(self.fake.calls)
        if answered == label:
            self.fake.push(self.fake.callback(user, buttons["✅ Right"], message))
            self._wait(start, user, ("editMessageText",), "noted as right")
            return "confirmed"
        self.fake.push(self.fake.callback(user, buttons["✏️ Wrong"], message))
        keypad = self._wait(start, user, ("editMessageText",), "Tap it below")
        start = len(self.fake.calls)
        if len(answered) == len(label):
            keys = {b["text"]: b["callback_data"] for row in keypad.params["reply_markup"]["inline_keyboard"]
                    for b in row}
            shown = {**message, "text": keypad.params["text"], "reply_markup": keypad.params["reply_markup"]}
            self.fake.push(self.fake.callback(user, keys[label], shown))
            self._wait(start, user, ("editMessageText",), f"saved the right answer: {label}")
            return "corrected"
        self.fake.push(self.fake.message(user, text=label))  # a wrong count of digits: typed, as the prompt says
        self._wait(start, user, ("sendMessage",), f"saved the right answer: {label}")
        return "miscount"

    def training_cpu_s(self) -> float | None:
        """CPU seconds (user + system, all threads) of the bot's training process so far; None if there is none.

        Wall time on a shared machine says as much about the neighbours as about /train; CPU time does not."""
        assert self.bot.process is not None
        pid = self.bot.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            for child in children:
                if "training.retrain" in Path(f"/proc/{child}/cmdline").read_text().replace("\0", " "):
                    return process_cpu_s(int(child))
        except OSError:
            return None
        return None

    def train(self, epochs: int, probes: list[bytes], every_s: float = 3.0) -> tuple[str, float, list[float]]:
        """/train as the admin; the final message, the run's seconds, and reply delays of photos sent meanwhile."""
        start, started = len(self.fake.calls), time.monotonic()
        self.fake.push(self.fake.command(ADMIN_ID, f"/train {epochs}"))
        self._wait(start, ADMIN_ID, ("sendMessage",), "Training started")

        def final(calls: list[Call]) -> Call | None:
            return next((c for c in calls[start:] if c.method == "editMessageText"
                         and re.search(r"New model installed|Kept the model|Training failed", c.params["text"])),
                        None)

        delays: list[float] = []
        probe = 0
        while not final(list(self.fake.calls)):
            self.train_cpu_s = self.training_cpu_s() or self.train_cpu_s
            if time.monotonic() - started > 1800:
                raise SystemExit("/train did not finish in 30 minutes; see the bot's log")
            if probes:
                _, delay = self.send(PROBE_USER, probes[probe % len(probes)])
                delays.append(delay)
                probe += 1
            time.sleep(every_s)
        message = final(list(self.fake.calls))
        assert message is not None
        return message.params["text"], message.at - started, delays


def choose(photos: dict[str, list[Photo]], holdout: list[str], share: float, rng: np.random.Generator) -> None:
    """Give each photo its role: writers in ``holdout`` are not in the feedback; of every other writer's
    photos, ``share`` (at random, at least one) are sent as feedback and the rest are kept to re-read."""
    for writer, own in photos.items():
        if writer in holdout:
            for photo in own:
                photo.role = "other_writer"
            continue
        sent = set(rng.choice(len(own), size=max(1, round(share * len(own))), replace=False).tolist())
        for index, photo in enumerate(own):
            photo.role = "feedback" if index in sent else "same_writer"


def read(recognizer: Recognizer, photo: Photo) -> str:
    try:
        return recognizer.recognize(photo.path.read_bytes()).number
    except ImageDecodeError:
        return "<undecodable>"


def held_out_answers(db_path: Path) -> set[int]:
    """Answers whose feedback sample /train held out (``FeedbackSamples.held_out``: sample id % 5)."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT f.answer_id FROM samples s JOIN feedback f ON f.id = s.feedback_id"
                          f" WHERE s.id % {HOLDOUT_EVERY} = 0").fetchall()
    return {int(r[0]) for r in rows}


def figures(chosen: list[Photo]) -> dict[str, Any]:
    """Right, digit errors and segmentation errors before and after, and the change with its noise."""
    def count(attr: str) -> dict[str, int]:
        answers = [(getattr(p, attr), p.label) for p in chosen]
        return {"right": sum(a == t for a, t in answers),
                "digit_errors": sum(len(a) == len(t) and a != t for a, t in answers),
                "segmentation_errors": sum(len(a) != len(t) for a, t in answers)}

    before, after = count("before"), count("after")
    right_before = np.array([p.before == p.label for p in chosen], bool)
    right_after = np.array([p.after == p.label for p in chosen], bool)
    changes = HeldOutChanges.of(right_before, right_after)
    n = len(chosen)
    return {"count": n, "before": before, "after": after, "gained": changes.gained, "lost": changes.lost,
            "accuracy_before": before["right"] / n if n else None, "accuracy_after": after["right"] / n if n else None,
            "noise_two_se": changes.tolerance}


def row(name: str, f: dict[str, Any]) -> str:
    if not f["count"]:
        return f"{name:<40} {0:>4}  (none)"
    b, a = f["before"], f["after"]
    return (f"{name:<40} {f['count']:>4}  {b['right']:>4} -> {a['right']:<4} "
            f"{f['accuracy_before']:>6.1%} -> {f['accuracy_after']:<6.1%} ±{f['noise_two_se']:>5.1%}  "
            f"{b['digit_errors']:>3} -> {a['digit_errors']:<3}  {b['segmentation_errors']:>3} -> "
            f"{a['segmentation_errors']:<3}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=photos_dir() / "single")
    parser.add_argument("--writers", help="comma-separated writers to use (default: all)")
    parser.add_argument("--holdout-writers", help="comma-separated writers kept out of the feedback entirely "
                        "(default: a third of the writers, at random by --seed)")
    parser.add_argument("--feedback-share", type=float, default=0.5,
                        help="share of each other writer's photos sent as feedback (the rest are re-read only)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probes", type=int, default=10, help="photos that time the replies while /train runs")
    parser.add_argument("--name", default="feedback_replay", help="results file: bench/results/NAME.json")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    by_writer = {w: [Photo(f, w, label) for f, label in files]
                 for w, files in labelled_photos(args.photos).items()}
    if args.writers:
        wanted = args.writers.split(",")
        by_writer = {w: p for w, p in by_writer.items() if w in wanted}
    writers = sorted(by_writer)
    if args.holdout_writers:
        holdout = args.holdout_writers.split(",")
    else:
        holdout = sorted(rng.choice(writers, size=max(1, len(writers) // 3), replace=False).tolist())
    choose(by_writer, holdout, args.feedback_share, rng)
    photos = [p for w in writers for p in by_writer[w]]
    feedback = [p for p in photos if p.role == "feedback"]
    probes = [p.path.read_bytes() for p in photos if p.role == "other_writer"][:args.probes]
    print(f"{len(photos)} photos of {len(writers)} writers; held out: {', '.join(holdout)}; "
          f"{len(feedback)} sent as feedback", flush=True)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram(TOKEN) as fake:
        models = Path(tmp) / "models"
        shutil.copytree(SHIPPED_MODELS_DIR, models)
        bot = BotProcess(fake, Path(tmp) / "data", Path(tmp) / "bot.log", MODEL_DIR=str(models),
                         MNIST_PATH=mnist_path(), PHOTOS_PER_MINUTE="100000")
        try:
            bot.start(timeout=120)
            replay = Replay(fake, bot)
            started = time.monotonic()
            delays = []
            with sqlite3.connect(Path(tmp) / "data" / "digitbot.sqlite3") as db:
                for photo in feedback:
                    user = FIRST_USER + writers.index(photo.writer)
                    reply, delay = replay.send(user, photo.path.read_bytes())
                    delays.append(delay)
                    markup = reply.params.get("reply_markup") or {}
                    ids = [b["callback_data"] for r in markup.get("inline_keyboard", []) for b in r
                           if b["callback_data"].startswith("ok:")]
                    if ids:
                        photo.answer_id = int(ids[0].split(":")[1])
                        photo.answered = db.execute("SELECT number FROM answers WHERE id = ?",
                                                    (photo.answer_id,)).fetchone()[0]
                    photo.action = replay.feedback(user, reply, photo.label, photo.answered)
            replay_s = time.monotonic() - started
            final, train_s, train_delays = replay.train(args.epochs, probes)
            held = held_out_answers(Path(tmp) / "data" / "digitbot.sqlite3")
            for photo in feedback:
                photo.held_out = photo.answer_id in held
        finally:
            if bot.process is not None and bot.process.poll() is None:
                bot.stop()
        print(f"replayed {len(feedback)} photos in {replay_s:.0f} s; /train {args.epochs}: {train_s:.0f} s", flush=True)
        shipped = ModelStore(SHIPPED_MODELS_DIR).current()
        candidates = sorted(v for v in ModelStore(models).versions() if v != shipped)
        if not candidates:
            raise SystemExit(f"/train left no candidate: {final}")
        installed = ModelStore(models).current() == candidates[-1]
        before_model = Recognizer.load(SHIPPED_MODELS_DIR)
        after_model = Recognizer.load(ModelStore(models).version_dir(candidates[-1]))
        for photo in photos:
            photo.before, photo.after = read(before_model, photo), read(after_model, photo)
        with np.load(mnist_path()) as data:
            x_test, y_test = data["x_test"], data["y_test"]
        mnist = {"before": accuracy(before_model, x_test, y_test), "after": accuracy(after_model, x_test, y_test)}
    load_after = os.getloadavg()

    sets = {
        "corrected digits, trained on": [p for p in feedback if p.action == "corrected" and not p.held_out],
        "corrected digits, held out by /train": [p for p in feedback if p.action == "corrected" and p.held_out],
        "count of digits corrected (typed)": [p for p in feedback if p.action == "miscount"],
        "'no digit' (could not be corrected)": [p for p in feedback if p.action == "none"],
        "confirmed": [p for p in feedback if p.action == "confirmed"],
        "same writers, photos not sent": [p for p in photos if p.role == "same_writer"],
        "writers not in the feedback": [p for p in photos if p.role == "other_writer"],
    }
    results: dict[str, Any] = {
        "command": " ".join(sys.argv), "seed": args.seed, "epochs": args.epochs, "writers": writers,
        "holdout_writers": holdout, "feedback_photos": len(feedback),
        "actions": {a: sum(p.action == a for p in feedback) for a in ("confirmed", "corrected", "miscount", "none")},
        "model_before": before_model.version, "candidate": after_model.version, "installed": installed,
        "final_message": final,
        "replay_seconds": replay_s, "train_seconds": train_s, "train_cpu_seconds": replay.train_cpu_s,
        "reply_delay_s": {"feedback_p50": float(np.median(delays)), "feedback_max": float(max(delays)),
                          "during_train": train_delays},
        "sets": {name: figures(chosen) for name, chosen in sets.items()},
        "mnist_test": {**mnist, "noise_two_se": 2 * float(np.sqrt(mnist["before"] * (1 - mnist["before"]) / 10_000))},
        "load_average_before": load_before, "load_average_after": load_after,
        "photos": [{"file": f"{p.writer}/{p.path.name}", "role": p.role, "answered": p.answered, "action": p.action,
                    "held_out": p.held_out, "before": p.before, "after": p.after} for p in photos],
    }
    per_writer = defaultdict(list)
    for p in sets["writers not in the feedback"]:
        per_writer[p.writer].append((p.before == p.label, p.after == p.label))
    results["other_writers_per_writer"] = {w: [sum(b for b, _ in v), sum(a for _, a in v), len(v)]
                                           for w, v in per_writer.items()}

    state = 'installed' if installed else 'NOT installed'
    print(f"\nbefore: the model in use; after: the candidate /train made ({state})")
    print(f"{'set':<40} {'n':>4}  {'right':<12} {'accuracy':<17} {'(2 SE)':>7}  {'digit err':<9} {'seg. err'}")
    for name, f in results["sets"].items():
        print(row(name, f))
    print(f"{'MNIST test':<40} {10000:>4}  {'':12} {mnist['before']:>6.2%} -> {mnist['after']:<6.2%} "
          f"±{results['mnist_test']['noise_two_se']:.2%}")
    print(f"\n/train {args.epochs}: {train_s:.0f} s ({replay.train_cpu_s:.0f} s of CPU in the training process, "
          f"last seen before it ended); replies while it ran: "
          + (f"max {max(train_delays):.2f} s, median {np.median(train_delays):.2f} s over {len(train_delays)}"
             if train_delays else "none sent"))
    print(f"final message: {final}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(f"saved {save(args.name, results)}")


if __name__ == "__main__":
    main()
