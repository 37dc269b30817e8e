"""Load test: many simulated users send photos to the real bot through the local Bot API stand-in.

    python bench/bot_load.py [--users 20] [--photos-per-user 10]

Starts ``python -m bot`` against digitbot/testkit/fake_telegram.py on 127.0.0.1, measures the time from
launch to the first poll, then pushes every photo at once and measures each reply's delay, the
throughput, and the bot process's peak memory (VmHWM).
"""

from __future__ import annotations

import argparse
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


def peak_memory_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--photos-per-user", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with np.load(mnist_path()) as data:
        digits, labels = data["x_test"], data["y_test"]
    photos = []
    for user in range(args.users):
        for _ in range(args.photos_per_user):
            index = int(rng.integers(len(digits)))
            photos.append((10_000 + user, str(labels[index]), digit_photo([digits[index]], rng, size=1280)))

    with FakeTelegram(TOKEN) as fake, tempfile.TemporaryDirectory() as tmp:
        bot = BotProcess(fake, Path(tmp) / "data", Path(tmp) / "bot.log", PHOTOS_PER_MINUTE="1000")
        startup_s = bot.start()
        pushed_at: dict[int, list[float]] = {}
        started = time.monotonic()
        for user, _, photo in photos:
            fake.push(fake.photo_message(user, photo))
            pushed_at.setdefault(user, []).append(time.monotonic())
        replies = fake.wait_for(lambda calls: (lambda r: r if len(r) >= len(photos) else None)(
            [c for c in calls if c.method == "sendMessage" and c.params.get("chat_id", 0) >= 10_000]), timeout=600)
        elapsed = time.monotonic() - started
        delays = []
        for user, times in pushed_at.items():
            answered = sorted(c.at for c in replies if c.params["chat_id"] == user)
            delays += [a - p for a, p in zip(answered, times)]
        peak_mb = peak_memory_mb(bot.process.pid)
        bot.stop()

    p50, p95 = np.percentile(delays, [50, 95])
    results = {"users": args.users, "photos": len(photos), "startup_s": startup_s, "seconds": elapsed,
               "photos_per_second": len(photos) / elapsed, "reply_p50_s": float(p50), "reply_p95_s": float(p95),
               "peak_memory_mb": peak_mb}
    print(f"start-up to first poll: {startup_s:.2f} s")
    print(f"{len(photos)} photos (1280x1280 JPEG) from {args.users} users: {len(photos) / elapsed:.1f} photos/s, "
          f"reply p50 {p50:.2f} s, p95 {p95:.2f} s (all sent at once), peak memory {peak_mb:.0f} MB")
    print(f"saved {save('bot_load', results)}")


if __name__ == "__main__":
    main()
