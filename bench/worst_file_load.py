"""Three users send the costliest accepted file at the same moment: the bot's peak memory.

    python bench/worst_file_load.py [--users 3]

Runs the real bot against the local Bot API stand-in; for each of the costliest kinds from
digitbot/testkit/image_bombs.py that fit under MAX_FILE_MB, a fresh bot receives the file from every user at
once; the figure is the bot process's peak memory (VmHWM) and the time until all are answered.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import save
from digitbot.testkit.bot_process import TOKEN, BotProcess
from digitbot.testkit.fake_telegram import FakeTelegram
from digitbot.testkit.image_bombs import KINDS, render, worst_size

MAX_FILE_BYTES = 10 * 1024 * 1024  # the bot's default MAX_FILE_MB


def peak_memory_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def one_kind(name: str, content: bytes, users: int) -> dict:
    with FakeTelegram(TOKEN) as fake, tempfile.TemporaryDirectory() as tmp:
        bot = BotProcess(fake, Path(tmp) / "data", Path(tmp) / "bot.log", PHOTOS_PER_MINUTE="1000")
        bot.start()
        idle_mb = peak_memory_mb(bot.process.pid)
        updates = [fake.document_message(20_000 + i, content, "image/png", name) for i in range(users)]
        started = time.monotonic()
        threads = [threading.Thread(target=fake.push, args=(u,)) for u in updates]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        replies = [fake.replies_to(20_000 + i, timeout=300)[0] for i in range(users)]
        seconds = time.monotonic() - started
        peak = peak_memory_mb(bot.process.pid)
        bot.stop()
    return {"file": name, "bytes": len(content), "users": users, "idle_mb": idle_mb, "peak_mb": peak,
            "all_answered_s": seconds, "answers": [r.params["text"].splitlines()[0] for r in replies]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--only", help="one kind, e.g. rgba.png")
    args = parser.parse_args()
    rows = []
    for name, mode, fmt, options in KINDS:
        if args.only and name != args.only:
            continue
        if fmt in ("JPEG", "BMP"):  # JPEG decodes reduced; an uncompressed BMP this large exceeds MAX_FILE_MB
            continue
        content = render(mode, fmt, worst_size(mode, fmt), options)
        if len(content) > MAX_FILE_BYTES:
            continue
        row = one_kind(name, content, args.users)
        rows.append(row)
        print(f"{name:24s} {len(content) / 1024:7.0f} KB x{args.users}: idle {row['idle_mb']:.0f} MB, peak "
              f"{row['peak_mb']:.0f} MB, all answered in {row['all_answered_s']:.1f} s")
    worst = max(rows, key=lambda r: r["peak_mb"])
    print(f"highest peak: {worst['file']} {worst['peak_mb']:.0f} MB")
    print(f"saved {save('worst_file_load', {'kinds': rows})}")


if __name__ == "__main__":
    main()
