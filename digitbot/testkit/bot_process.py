"""The real bot (``python -m bot``) as a subprocess, talking to a ``FakeTelegram``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bot.database import Engine, connect
from digitbot.testkit import REPO
from digitbot.testkit.fake_telegram import FakeTelegram

TOKEN = "123456789:AAH-test-secret-token-0123456789abcd"
ADMIN_ID = 1


class BotProcess:
    """``python -m bot`` with its environment, its log file, and ways to stop it."""

    def __init__(self, fake: FakeTelegram, data_dir: Path, log_path: Path, **env: str) -> None:
        self.fake = fake
        self.log_path = log_path
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url,
                    "DATA_DIR": str(data_dir), "ADMIN_IDS": str(ADMIN_ID), "LOG_LEVEL": "INFO",
                    "PYTHONUNBUFFERED": "1", **env}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def webhook(self) -> str | None:
        """Where this bot takes updates in webhook mode (WEBHOOK_PORT on 127.0.0.1), else None."""
        if not self.env.get("WEBHOOK_URL"):
            return None
        return f"http://127.0.0.1:{self.env['WEBHOOK_PORT']}/telegram"

    def start(self, timeout: float = 30.0) -> float:
        """Start and wait until the bot polls (or, in webhook mode, has set its webhook and listens)."""
        started = time.monotonic()
        ready_call = "setWebhook" if self.webhook else "getUpdates"
        before = len(self.fake.sent(ready_call))
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=REPO, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.fake.wait_for(lambda calls: len([c for c in calls if c.method == ready_call]) > before, timeout)
        if self.webhook:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", int(self.env["WEBHOOK_PORT"])), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() - started > timeout:
                        raise
                    time.sleep(0.05)
        return time.monotonic() - started

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    @property
    def database_location(self) -> str:
        """The bot's database: DATABASE_URL when set, else the SQLite file in DATA_DIR."""
        return self.env.get("DATABASE_URL") or str(Path(self.env["DATA_DIR"]) / "digitbot.sqlite3")

    def database(self) -> Engine:
        """A connection of its own to the bot's database, either engine (``?`` placeholders); close it after."""
        return connect(self.database_location)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")
