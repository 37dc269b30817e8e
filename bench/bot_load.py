"""Load test: many simulated users send photos to the real bot through the local Bot API stand-in.

    python bench/bot_load.py [--users 20] [--photos-per-user 10] [--digits 1]

Starts ``python -m bot`` against digitbot/testkit/fake_telegram.py on 127.0.0.1, measures the time from
launch to the first poll, then pushes every photo at once and measures each reply's delay, the
throughput, and the bot process's peak memory (VmHWM).

CPU is counted per process, so the figures are the bot's alone: the bot subprocess's user+system time
(``/proc/<pid>/stat``, all its threads) from the first push to the last reply, and apart from it this
process's own time over the same span, which is the stand-in (its HTTP threads) and a 20-ms polling
wait. Then, with the bot stopped, the same photos are read in this process pinned to one core, so the
bot's CPU per photo can be split into the reading and what the bot spends beyond it (Telegram
requests, PTB, SQLite, logging). The load figures are only as good as the machine is quiet: record
``uptime`` with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import mnist_path, save
from digitbot.testkit.bot_process import TOKEN, BotProcess
from digitbot.testkit.fake_telegram import FakeTelegram
from digitbot.testkit.photos import digit_photo

FIRST_USER = 10_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def peak_memory_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, all threads (fields 14 and 15 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
        fields = stat.read().rpartition(")")[2].split()  # the name before ')' may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def make_photos(users: int, per_user: int, digits_per_photo: int) -> list[tuple[int, str, bytes]]:
    """(user, label, 1280x1280 JPEG) for each photo, MNIST test digits on rendered paper, seeded."""
    rng = np.random.default_rng(0)
    with np.load(mnist_path()) as data:
        digits, labels = data["x_test"], data["y_test"]
    photos = []
    for user in range(users):
        for _ in range(per_user):
            picks = rng.integers(len(digits), size=digits_per_photo)
            photo = digit_photo([digits[i] for i in picks], rng, size=1280,
                                digit_height=0.45 if digits_per_photo == 1 else 0.3)
            photos.append((FIRST_USER + user, "".join(str(labels[i]) for i in picks), photo))
    return photos


def reading_cpu_s(photos: list[bytes]) -> list[float]:
    """CPU seconds of ``Recognizer.recognize`` per photo, in this process on one core (the bot's model)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from bot.startup import one_thread_per_reading  # noqa: PLC0415
    from recognizer import Recognizer  # noqa: PLC0415

    recognizer = Recognizer.load()
    one_thread_per_reading()  # as the bot reads: OpenBLAS's spare threads would spin on the one core
    recognizer.recognize(photos[0])  # first call warms caches, as the bot's first photo does
    costs = []
    for photo in photos:
        started = time.process_time()
        recognizer.recognize(photo)
        costs.append(time.process_time() - started)
    return costs


def answered(fake: FakeTelegram) -> int:
    return sum(1 for c in fake.sent("sendMessage") if c.params.get("chat_id", 0) >= FIRST_USER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--photos-per-user", type=int, default=10)
    parser.add_argument("--digits", type=int, default=1, help="digits written in each photo")
    args = parser.parse_args()
    photos = make_photos(args.users, args.photos_per_user, args.digits)
    load_before = os.getloadavg()

    with FakeTelegram(TOKEN) as fake, tempfile.TemporaryDirectory() as tmp:
        bot = BotProcess(fake, Path(tmp) / "data", Path(tmp) / "bot.log", PHOTOS_PER_MINUTE="1000")
        try:  # a bot left running would skew every later measurement on the machine
            startup_s = bot.start(timeout=120)  # a busy machine starts it slowly
            pid = bot.process.pid
            calls_before = len(fake.calls)
            bot_cpu_before, own_cpu_before = process_cpu_s(pid), time.process_time()
            pushed_at: dict[int, list[float]] = {}
            started = time.monotonic()
            for user, _, photo in photos:
                fake.push(fake.photo_message(user, photo))
                pushed_at.setdefault(user, []).append(time.monotonic())
            deadline = started + 600
            while answered(fake) < len(photos):  # a cheap poll: a predicate run on every call would cost the stand-in
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {answered(fake)} of {len(photos)} photos answered in 600 s")
                time.sleep(0.02)
            elapsed = time.monotonic() - started
            bot_cpu, own_cpu = process_cpu_s(pid) - bot_cpu_before, time.process_time() - own_cpu_before
            calls = fake.calls[calls_before:]
            replies = [c for c in calls if c.method == "sendMessage" and c.params.get("chat_id", 0) >= FIRST_USER]
            requests: dict[str, int] = {}
            for call in calls:
                requests[call.method] = requests.get(call.method, 0) + 1
            delays = []
            for user, times in pushed_at.items():
                answered_at = sorted(c.at for c in replies if c.params["chat_id"] == user)
                delays += [a - p for a, p in zip(answered_at, times)]
            peak_mb = peak_memory_mb(pid)
        finally:
            if bot.process is not None and bot.process.poll() is None:
                bot.stop()
    load_after = os.getloadavg()

    reading = reading_cpu_s([photo for _, _, photo in photos])
    n = len(photos)
    bot_ms, reading_ms = 1000 * bot_cpu / n, 1000 * float(np.mean(reading))
    p50, p95 = np.percentile(delays, [50, 95])
    results = {"users": args.users, "photos": n, "digits_per_photo": args.digits, "startup_s": startup_s,
               "seconds": elapsed, "photos_per_second": n / elapsed, "reply_p50_s": float(p50),
               "reply_p95_s": float(p95), "peak_memory_mb": peak_mb,
               "bot_cpu_ms_per_photo": bot_ms, "reading_cpu_ms_per_photo": reading_ms,
               "bot_cpu_beyond_reading_ms_per_photo": bot_ms - reading_ms,
               "stand_in_cpu_ms_per_photo": 1000 * own_cpu / n,
               "requests_per_photo": {m: round(c / n, 2) for m, c in sorted(requests.items())},
               "load_average_before": load_before, "load_average_after": load_after}
    kind = "single digits" if args.digits == 1 else f"{args.digits}-digit numbers"
    print(f"start-up to first poll: {startup_s:.2f} s")
    print(f"{n} photos of {kind} (1280x1280 JPEG) from {args.users} users: {n / elapsed:.1f} photos/s, "
          f"reply p50 {p50:.2f} s, p95 {p95:.2f} s (all sent at once), peak memory {peak_mb:.0f} MB")
    print(f"CPU per answered photo: bot {bot_ms:.1f} ms = reading {reading_ms:.1f} ms (same photos, one core, "
          f"in-process) + {bot_ms - reading_ms:.1f} ms beyond it; stand-in (apart) {1000 * own_cpu / n:.1f} ms")
    print("requests per photo: " + ", ".join(f"{m} {c}" for m, c in results["requests_per_photo"].items()))
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(f"saved {save('bot_load' if args.digits == 1 else f'bot_load_{args.digits}digits', results)}")


if __name__ == "__main__":
    main()
