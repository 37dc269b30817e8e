"""``python -m bot.health``: exit 0 while the bot runs and reaches Telegram, 1 otherwise (Docker's HEALTHCHECK).

A long-polling bot listens on no port, so the bot itself says it is well: every ``HEARTBEAT_EVERY_S``
seconds, while Telegram answers, it touches ``DATA_DIR/heartbeat``. A heartbeat older than
``STALE_AFTER_S`` means the bot hangs, has stopped, or has not reached Telegram for that long.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bot.config import read_env_file

HEARTBEAT_FILE = "heartbeat"
HEARTBEAT_EVERY_S = 30.0
STALE_AFTER_S = 120.0


def beat(data_dir: Path) -> None:
    """Record that the bot is alive and Telegram answers."""
    (data_dir / HEARTBEAT_FILE).touch()


def check(data_dir: Path, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line saying why)."""
    path = data_dir / HEARTBEAT_FILE
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False, f"no heartbeat at {path}: the bot has not started, or DATA_DIR differs"
    if age > STALE_AFTER_S:
        return False, (f"last heartbeat {age:.0f} s ago (over {STALE_AFTER_S:.0f} s): the bot hangs or cannot "
                       "reach Telegram")
    return True, f"heartbeat {age:.0f} s ago"


def main() -> int:
    data_dir = os.environ.get("DATA_DIR") or read_env_file(Path(".env")).get("DATA_DIR") or "data"
    healthy, why = check(Path(data_dir))
    print(why)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
