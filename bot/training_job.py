"""/train in the background: one retraining process at a time, its progress in one edited message.

The retraining runs as ``python -m training.retrain`` in its own process, so TensorFlow never enters
the bot and a crash there cannot touch the bot. What the two say to each other is
``training.contract``: the bot exports the feedback to a file for the run, and the run's events
(started, epoch, done, failed) drive the progress message; when it installs a better model, the bot
switches to it without a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from telegram import Bot
from telegram.error import TelegramError

from bot import metrics, pictures, texts
from bot.config import Settings
from bot.database import Lock
from bot.logging_setup import redact
from bot.models import ModelHolder
from bot.storage import Storage
from recognizer.model_store import MANIFEST_FILE
from training.contract import Done, Epoch, Failed, decode, retrain_command

log = logging.getLogger(__name__)

CANCEL_POLL_S = 2.0  # how often a run's row is checked for a /train cancel sent to another replica
EDIT_EVERY_S = 3.0  # Telegram limits edits; one every few seconds is plenty for a progress line
STDERR_LINES_KEPT = 40
FEEDBACK_FILE = "training-feedback.npz"  # in DATA_DIR, for the run in progress only
# TensorFlow's C++ log lines (glog: "I0000 00:00:...", "W1129 ...") and its notices: never a reason.
_LOG_NOISE = re.compile(r"^[IWEF]\d{4} |oneDNN|tensorflow/|cuda|TF_ENABLE_ONEDNN_OPTS|rebuild TensorFlow", re.I)
# The last line of a Python traceback: "SomeError: what happened".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Busy)\b:?")


@dataclass
class TrainingRun:
    run_id: int
    chat_id: int
    epochs: int
    process: asyncio.subprocess.Process
    lang: str = "en"  # the admin's language: every message of the run is in it
    held_out: int = 0  # feedback samples kept out of training to judge the candidate
    message_id: int | None = None
    last_epoch: Epoch | None = None
    cancelled: bool = False
    stopping: bool = False  # the bot is shutting down: the run will be reported after the restart
    stderr_tail: list[str] = field(default_factory=list)
    lock: Lock | None = None  # the database's training lock, held until the run is over


class TrainingJobs:
    """Starts, reports on and cancels the single retraining process."""

    def __init__(self, settings: Settings, storage: Storage, models: ModelHolder, bot: Bot) -> None:
        self.settings = settings
        self.storage = storage
        self.models = models
        self.bot = bot
        self.current: TrainingRun | None = None
        self._reserved = False
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._reserved or self.current is not None

    def progress(self, lang: str) -> str:
        """How far the run is, in words: "just starting", "epoch 2 of 5, validation accuracy 98.90%, ..."."""
        run = self.current
        if run is None or run.last_epoch is None:
            return texts.text(lang, "train_starting")
        return progress_text(lang, run.last_epoch)

    @property
    def feedback_path(self) -> Path:
        return self.settings.data_dir / FEEDBACK_FILE

    def command(self, epochs: int) -> list[str]:
        return retrain_command(self.feedback_path, self.models.store.path, epochs, self.settings.mnist_path)

    def _export_feedback(self) -> tuple[int, int]:
        """Write the feedback the run trains on (the trainer never reads the database); how many samples,
        and how many of them are held out to judge the candidate."""
        samples = self.storage.feedback_samples()
        samples.save(self.feedback_path)
        return len(samples), int(samples.held_out().sum())

    async def start(self, chat_id: int, epochs: int, lang: str = "en") -> TrainingRun | None:
        """Launch a run and its watcher; None when one is already going.

        The check and the reservation happen with no ``await`` between them, so two /train handled
        at the same moment cannot both start (the event loop runs one of them to its first await).
        Then the database's training lock: replicas share one database, so two /train reaching two
        replicas at once start one run (with PostgreSQL an advisory lock, released by a dying process).
        The training process also takes the models directory's lock, which covers a run left over
        from before a restart.
        """
        if self.busy:
            return None
        self._reserved = True
        lock = None
        try:
            lock = await asyncio.to_thread(self.storage.training_lock)
            if lock is None:  # a run is going in another replica
                return None
            samples, held_out = await asyncio.to_thread(self._export_feedback)  # first: a failure records no run
            run_id = await asyncio.to_thread(self.storage.start_run, chat_id, epochs, self.models.current.version)
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
            process = await asyncio.create_subprocess_exec(*self.command(epochs), stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.PIPE, env=env)
            run = TrainingRun(run_id, chat_id, epochs, process, lang=lang, held_out=held_out, lock=lock)
            self.current = run
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        finally:
            self._reserved = False
        self._task = asyncio.create_task(self._watch(run))
        log.info("training run %s started (%s epochs, pid %s)", run_id, epochs, process.pid)
        try:
            message = await self.bot.send_message(chat_id, texts.text(
                lang, "train_started", epochs=texts.counted(lang, "epochs", epochs),
                samples=texts.counted(lang, "samples_count", samples),
                held_out=texts.counted(lang, "samples_count", held_out)))
        except TelegramError as error:
            log.warning("could not send the training message: %s", error)
        else:
            run.message_id = message.message_id
            await asyncio.to_thread(self.storage.set_run_message, run_id, message.message_id)
        return run

    async def cancel(self) -> bool:
        """Stop the run: this replica's, or (asked through the database) the one another replica runs."""
        run = self.current
        if run is None:
            return await asyncio.to_thread(self.storage.request_cancel)
        if run.process.returncode is not None:
            return False
        run.cancelled = True
        run.process.terminate()
        return True

    async def _follow_cancel_requests(self, run: TrainingRun) -> None:
        """A /train cancel that reached another replica marks the run's row; stop the run when it does."""
        while run.process.returncode is None:
            await asyncio.sleep(CANCEL_POLL_S)
            try:
                status = await asyncio.to_thread(self.storage.run_status, run.run_id)
            except Exception as error:  # the database is away for a moment: ask again next time
                log.warning("could not check training run %s for a cancel: %s", run.run_id, error)
                continue
            if status == "cancel_requested" and run.process.returncode is None:
                log.info("training run %s cancelled from another replica", run.run_id)
                run.cancelled = True
                run.process.terminate()
                return

    async def stop(self) -> None:
        """On bot shutdown (while the bot can still send): stop a run, say so in its message, and leave it
        marked running so the restarted bot tells the admin it was interrupted."""
        run = self.current
        if run is None:
            return
        run.stopping = True
        if run.process.returncode is None:
            run.process.terminate()
            try:
                await asyncio.wait_for(run.process.wait(), 10)
            except asyncio.TimeoutError:
                run.process.kill()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                log.warning("the training watcher did not finish in time")

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
                run.stderr_tail = (run.stderr_tail + [line])[-STDERR_LINES_KEPT:]

    async def _watch(self, run: TrainingRun) -> None:
        assert run.process.stdout is not None
        stderr_task = asyncio.create_task(self._read_stderr(run))
        cancel_task = asyncio.create_task(self._follow_cancel_requests(run))
        outcome: Done | Failed | None = None
        last_edit = 0.0
        try:
            async for raw in run.process.stdout:
                event = decode(raw)
                if isinstance(event, Epoch):
                    run.last_epoch = event
                    if time.monotonic() - last_edit >= EDIT_EVERY_S or event.epoch == event.epochs:
                        last_edit = time.monotonic()
                        await self._edit(run, texts.text(run.lang, "train_status",
                                                         progress=progress_text(run.lang, event)))
                elif isinstance(event, (Done, Failed)):
                    outcome = event
            await run.process.wait()
            await stderr_task
            await self._finish(run, outcome)
        except Exception:
            log.exception("watching training run %s failed", run.run_id)
            await self._finish(run, Failed(reason="the bot lost track of the training process"))
        finally:
            cancel_task.cancel()
            self.current = None
            self.feedback_path.unlink(missing_ok=True)
            if run.lock is not None:
                run.lock.release()

    async def _finish(self, run: TrainingRun, outcome: Done | Failed | None) -> None:
        lang = run.lang
        if run.stopping:  # the row stays "running": the restarted bot reports the run as interrupted
            metrics.TRAINING_RUNS.labels(outcome="interrupted").inc()
            log.info("training run %s stopped because the bot is shutting down", run.run_id)
            await self._edit(run, texts.text(lang, "train_stopping"))
            return
        picture: bytes | None = None
        if run.cancelled:
            status, text = "cancelled", texts.text(lang, "train_cancelled")
        elif isinstance(outcome, Done):
            decided = decided_text(lang, outcome, run.held_out)
            if outcome.installed:
                status = "installed"
                text = texts.text(lang, "train_installed", accuracy=f"{outcome.candidate.mnist:.2%}", decided=decided,
                                  previous=outcome.previous)
                try:
                    await asyncio.to_thread(self.models.reload)
                except Exception as error:  # the file on disk is fine; the bot keeps the old one in memory
                    log.exception("could not load the new model")
                    text += "\n" + texts.text(lang, "train_load_failed", error=error)
            else:
                status = "kept"
                text = texts.text(lang, "train_kept", decided=decided)
            picture = await self._report_picture(outcome.version, lang)
        else:
            reason = (outcome.reason if outcome else "") or failure_reason(run.stderr_tail, run.process.returncode)
            status = "failed"
            text = texts.text(lang, "train_failed", code=run.process.returncode,
                              reason=redact(reason, self.settings.token)[:600])
        await asyncio.to_thread(self.storage.finish_run, run.run_id, status, text)
        metrics.TRAINING_RUNS.labels(outcome=status).inc()
        log.info("training run %s finished: %s", run.run_id, status)
        await self._edit(run, text)
        if picture is not None:
            try:
                await self.bot.send_photo(run.chat_id, picture, caption=texts.text(lang, "train_chart_caption"),
                                          reply_to_message_id=run.message_id)
            except TelegramError as error:
                log.warning("could not send the training report picture: %s", error)

    async def _report_picture(self, version: str, lang: str) -> bytes | None:
        """The candidate's learning curves and MNIST confusion matrix, drawn from its manifest (None if gone)."""
        try:
            path = self.models.store.version_dir(version) / MANIFEST_FILE
            manifest = json.loads(await asyncio.to_thread(path.read_text, "utf-8"))
            return await pictures.render(pictures.training_picture, lang, manifest)
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("no report picture for model %s: %s", version, error)
            return None


def progress_text(lang: str, epoch: Epoch) -> str:
    """One epoch's progress in words; time left in whole minutes, "less than a minute" below one."""
    minutes = round(epoch.seconds_left / 60)
    left = texts.text(lang, "train_left_minutes", minutes=minutes) if minutes >= 1 else texts.text(
        lang, "train_left_soon")
    return texts.text(lang, "train_progress", epoch=epoch.epoch, epochs=epoch.epochs,
                      accuracy=f"{epoch.val_accuracy:.2%}", left=left)


def decided_text(lang: str, outcome: Done, held_out: int) -> str:
    """The figures that decided the install (MNIST test accuracy, accuracy on the held-out feedback), then
    what became of the digits users corrected: whoever corrected the bot wants to know it was heard."""
    def score(value: float | None) -> str:
        return "—" if value is None else f"{value:.2%}"

    if held_out and outcome.candidate.feedback is not None:
        feedback = texts.text(lang, "train_decided_feedback", held_out=held_out,
                              candidate=score(outcome.candidate.feedback), current=score(outcome.current.feedback))
    else:
        feedback = texts.text(lang, "train_decided_no_feedback")
    decided = texts.text(lang, "train_decided", candidate=score(outcome.candidate.mnist),
                         current=score(outcome.current.mnist), feedback=feedback)
    fixes = outcome.corrections
    if fixes is None or fixes.trained + fixes.held_out == 0:
        return decided
    return decided + "\n" + texts.text(lang, "train_corrections", trained_fixed=fixes.trained_fixed,
                                       trained=fixes.trained, held_out_fixed=fixes.held_out_fixed,
                                       held_out=fixes.held_out)


def failure_reason(stderr_tail: list[str], returncode: int | None) -> str:
    """Why a training process ended without saying so: its exception, or how it died; never TF's log noise."""
    lines = [line for line in stderr_tail if not _LOG_NOISE.search(line)]
    errors = [line.strip() for line in lines if _EXCEPTION_LINE.match(line.strip())]
    if errors:
        return errors[-1]
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the training process was killed ({name}, signal {-returncode}), e.g. for lack of memory"
    return f"the training process exited with code {returncode} without saying why"
