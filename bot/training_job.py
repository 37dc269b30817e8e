"""/train in the background: one retraining process at a time, its progress in one edited message.

The retraining runs as ``python -m training.retrain`` in its own process, so TensorFlow never enters
the bot and a crash there cannot touch the bot. Its JSON-line output drives the progress message;
when it installs a better model, the bot switches to it without a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot.config import Settings
from bot.logging_setup import redact
from bot.models import ModelHolder
from bot.storage import Storage
from recognizer.model_store import SHIPPED_MODELS_DIR

log = logging.getLogger(__name__)

EDIT_EVERY_S = 3.0  # Telegram limits edits; one every few seconds is plenty for a progress line


@dataclass
class TrainingRun:
    run_id: int
    chat_id: int
    epochs: int
    process: asyncio.subprocess.Process
    message_id: int | None = None
    progress: str = "starting"
    cancelled: bool = False
    stderr_tail: list[str] = field(default_factory=list)


class TrainingJobs:
    """Starts, reports on and cancels the single retraining process."""

    def __init__(self, settings: Settings, storage: Storage, models: ModelHolder, bot: Bot) -> None:
        self.settings = settings
        self.storage = storage
        self.models = models
        self.bot = bot
        self.current: TrainingRun | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def models_dir(self) -> Path:
        return self.settings.model_dir or SHIPPED_MODELS_DIR

    def command(self, epochs: int) -> list[str]:
        command = [sys.executable, "-m", "training.retrain", "--db", str(self.settings.database_path),
                   "--models-dir", str(self.models_dir), "--epochs", str(epochs)]
        if self.settings.mnist_path:
            command += ["--data", self.settings.mnist_path]
        return command

    async def start(self, chat_id: int, epochs: int) -> TrainingRun:
        """Launch a run and its watcher; the caller checks ``current`` first (one run at a time)."""
        run_id = await asyncio.to_thread(self.storage.start_run, chat_id, epochs)
        process = await asyncio.create_subprocess_exec(*self.command(epochs), stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.PIPE)
        run = TrainingRun(run_id, chat_id, epochs, process)
        self.current = run
        message = await self.bot.send_message(chat_id, f"🏋️ Training started: {epochs} epoch(s) on MNIST plus "
                                                       "your users' feedback. I'll update this message.")
        run.message_id = message.message_id
        await asyncio.to_thread(self.storage.set_run_message, run_id, message.message_id)
        self._task = asyncio.create_task(self._watch(run))
        log.info("training run %s started (%s epochs, pid %s)", run_id, epochs, process.pid)
        return run

    async def cancel(self) -> bool:
        run = self.current
        if run is None or run.process.returncode is not None:
            return False
        run.cancelled = True
        run.process.terminate()
        return True

    async def stop(self) -> None:
        """On bot shutdown: stop a run (it will be reported as interrupted after the restart)."""
        if self.current is not None and self.current.process.returncode is None:
            self.current.process.terminate()
            try:
                await asyncio.wait_for(self.current.process.wait(), 10)
            except asyncio.TimeoutError:
                self.current.process.kill()

    async def _edit(self, run: TrainingRun, text: str) -> None:
        try:
            if run.message_id is None:
                await self.bot.send_message(run.chat_id, text)
            else:
                await self.bot.edit_message_text(text, chat_id=run.chat_id, message_id=run.message_id)
        except TelegramError as error:
            log.warning("could not update the training message: %s", error)

    async def _read_stderr(self, run: TrainingRun) -> None:
        assert run.process.stderr is not None
        async for raw in run.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line:
                run.stderr_tail = (run.stderr_tail + [line])[-8:]

    async def _watch(self, run: TrainingRun) -> None:
        assert run.process.stdout is not None
        stderr_task = asyncio.create_task(self._read_stderr(run))
        outcome: dict[str, Any] | None = None
        last_edit = 0.0
        try:
            async for raw in run.process.stdout:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if event.get("event") == "epoch":
                    run.progress = (f"epoch {event['epoch']}/{event['epochs']}, validation accuracy "
                                    f"{event['val_accuracy']:.2%}, about {event['seconds_left'] / 60:.1f} min left")
                    if time.monotonic() - last_edit >= EDIT_EVERY_S or event["epoch"] == event["epochs"]:
                        last_edit = time.monotonic()
                        await self._edit(run, f"🏋️ Training: {run.progress}")
                elif event.get("event") in ("done", "failed"):
                    outcome = event
            await run.process.wait()
            await stderr_task
            await self._finish(run, outcome)
        except Exception:
            log.exception("watching training run %s failed", run.run_id)
            await self._finish(run, {"event": "failed", "reason": "the bot lost track of the training process"})
        finally:
            self.current = None

    async def _finish(self, run: TrainingRun, outcome: dict[str, Any] | None) -> None:
        if run.cancelled:
            status, text = "cancelled", "⏹ Training cancelled. The model in use is unchanged."
        elif outcome and outcome.get("event") == "done":
            scores = outcome["scores"]["candidate"]
            if outcome["installed"]:
                try:
                    await asyncio.to_thread(self.models.reload)
                except Exception as error:  # the file on disk is fine; the bot keeps the old one in memory
                    log.exception("could not load the new model")
                    outcome["reason"] += f"; but loading it failed ({error})"
                status = "installed"
                text = (f"✅ New model installed: MNIST test accuracy {scores['mnist']:.2%}.\n"
                        f"Decided by: {outcome['reason']}.\n/rollback returns to {outcome['previous']}.")
            else:
                status = "kept"
                text = (f"↩️ Kept the model in use. The candidate scored {scores['mnist']:.2%} on the MNIST "
                        f"test set.\nDecided by: {outcome['reason']}.")
        else:
            reason = (outcome or {}).get("reason") or " / ".join(run.stderr_tail[-3:]) or "no output"
            status = "failed"
            text = (f"❌ Training failed (exit code {run.process.returncode}): "
                    f"{redact(reason, self.settings.token)[:600]}\nThe model in use is unchanged.")
        await asyncio.to_thread(self.storage.finish_run, run.run_id, status, text)
        log.info("training run %s finished: %s", run.run_id, status)
        await self._edit(run, text)
