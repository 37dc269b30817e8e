"""How fast the bot recovers from the Bot API being unreachable, at start-up and mid-run.

    python bench/outage.py [--down 60]

The real bot against the local Bot API stand-in, which refuses connections (and cuts open ones)
for ``--down`` seconds. Measured: the seconds from the API's return to the answer of a photo sent
at that moment, the log lines the outage produced (one per failed attempt), and the notes the
admins got.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import REPO, save
from digitbot.testkit.bot_process import ADMIN_ID, TOKEN, BotProcess
from digitbot.testkit.fake_telegram import FakeTelegram
from digitbot.testkit.photos import digit_photo


def photo(seed: int) -> bytes:
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255
    return digit_photo([digit], np.random.default_rng(seed), size=400)


def recover(fake: FakeTelegram, bot: BotProcess, user: int) -> dict:
    """Bring the API back, send a photo at once, and time its answer."""
    fake.up()
    back = time.monotonic()
    fake.push(fake.photo_message(user, photo(user)))
    reply = fake.replies_to(user, timeout=120)[0]
    notes = fake.calls_with_text("could not reach Telegram", "sendMessage", timeout=30)
    time.sleep(1)
    logs = bot.logs()
    return {"answered_after_s": reply.at - back, "attempt_lines": logs.count("Telegram unreachable (attempt"),
            "tracebacks": logs.count("Traceback"),
            "admin_notes": len([n for n in notes if n.params.get("chat_id") == ADMIN_ID]),
            "log_lines": len(logs.splitlines())}


def at_start(down_s: float) -> dict:
    with FakeTelegram(TOKEN) as fake, tempfile.TemporaryDirectory() as tmp:
        fake.down()
        bot = BotProcess(fake, Path(tmp) / "data", Path(tmp) / "bot.log")
        with open(bot.log_path, "ab") as log:
            bot.process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=REPO, env=bot.env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        time.sleep(down_s)
        result = recover(fake, bot, 30_001)
        bot.stop()
    return result


def mid_run(down_s: float) -> dict:
    with FakeTelegram(TOKEN) as fake, tempfile.TemporaryDirectory() as tmp:
        bot = BotProcess(fake, Path(tmp) / "data", Path(tmp) / "bot.log")
        bot.start()
        fake.push(fake.photo_message(30_002, photo(2)))
        fake.replies_to(30_002)
        fake.down()
        time.sleep(down_s)
        result = recover(fake, bot, 30_003)
        bot.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--down", type=float, default=60.0, help="seconds the API is unreachable")
    args = parser.parse_args()
    results = {"down_s": args.down, "at_start": at_start(args.down), "mid_run": mid_run(args.down)}
    for name in ("at_start", "mid_run"):
        r = results[name]
        print(f"{name}: API down {args.down:.0f} s; photo sent as it came back answered after "
              f"{r['answered_after_s']:.1f} s; {r['attempt_lines']} attempt lines, {r['tracebacks']} tracebacks, "
              f"{r['admin_notes']} admin note(s), {r['log_lines']} log lines in all")
    print(f"saved {save('outage', results)}")


if __name__ == "__main__":
    main()
