"""What the bot and the retraining process agree on: how a run starts, the feedback it gets, what it says.

The bot starts ``python -m training.retrain`` with ``retrain_command``. It hands over the users'
feedback as a file (``FeedbackSamples.save``), so the trainer never reads the bot's database and
knows nothing of its schema. The run reports on stdout, one JSON object per line: ``Started``, an
``Epoch`` per epoch, and ``Done`` or ``Failed`` (``encode`` writes them, ``decode`` reads them back).

This module is the only part of ``training`` the bot imports: it needs NumPy and nothing else.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

RETRAIN_MODULE = "training.retrain"
HOLDOUT_EVERY = 5  # feedback samples whose id is a multiple of this are held out to decide the install


def retrain_command(samples: Path, models_dir: Path, epochs: int, mnist: str | None = None) -> list[str]:
    """The command line of one retraining run (``training.retrain`` parses exactly these options)."""
    command = [sys.executable, "-m", RETRAIN_MODULE, "--samples", str(samples), "--models-dir", str(models_dir),
               "--epochs", str(epochs)]
    return command + (["--data", mnist] if mnist else [])


# --- the feedback file ------------------------------------------------------------------------------


class Verdict(StrEnum):
    """What a user said of an answer (the values are stored in the bot's database and in the file)."""

    RIGHT = "right"  # ✅: the answer was right
    WRONG = "wrong"  # ✏️: the user gave the right number


class FeedbackFileError(Exception):
    """The feedback file is missing or is not one ``FeedbackSamples.save`` wrote."""


IMAGE_SHAPE = (28, 28)


@dataclass(frozen=True)
class Miscounts:
    """Corrections with another count of digits than the answer had: a digit too many or too few.

    No sample is labelled from them (which input would get which digit?), but they say what the
    reading got wrong; ``inputs`` holds the 28x28 inputs of all of them, ``input_counts`` how many
    belong to each, in order.
    """

    answer_ids: np.ndarray  # (M,) int64
    read: np.ndarray  # (M,) str: the number the bot read
    labels: np.ndarray  # (M,) str: the number the user gave
    input_counts: np.ndarray  # (M,) int64
    inputs: np.ndarray  # (sum of input_counts, 28, 28) uint8

    def __len__(self) -> int:
        return len(self.answer_ids)


@dataclass(frozen=True)
class FeedbackSamples:
    """The users' feedback as labelled 28x28 samples, one per digit of an answer that was confirmed or
    corrected with the same count of digits, plus the corrections of the count (``miscounts``).

    A sample's ``verdict`` is what the user said of the whole answer; a digit of a corrected number
    may still have been right (``labels == predicted``).
    """

    images: np.ndarray  # (N, 28, 28) uint8: what the model saw
    labels: np.ndarray  # (N,) int64: the right digit, as the user confirmed or gave it
    predicted: np.ndarray  # (N,) int64: what the model said
    confidence: np.ndarray  # (N,) float32: the model's probability for what it said
    verdicts: np.ndarray  # (N,) str: Verdict values
    sample_ids: np.ndarray  # (N,) int64: stable ids, the held-out split follows them
    answer_ids: np.ndarray  # (N,) int64: the answer each digit belongs to
    users: np.ndarray  # (N,) str: the pseudonym of the user who gave the feedback
    created_at: np.ndarray  # (N,) float64: Unix time of the feedback
    miscounts: Miscounts = field(default_factory=lambda: FeedbackSamples._no_miscounts())

    FORMAT: ClassVar[int] = 1
    _ARRAYS: ClassVar[dict[str, str]] = {"images": "uint8", "labels": "int64", "predicted": "int64",
                                         "confidence": "float32", "verdicts": "str", "sample_ids": "int64",
                                         "answer_ids": "int64", "users": "str", "created_at": "float64"}

    def __post_init__(self) -> None:
        count = len(self.images)
        if self.images.shape[1:] != IMAGE_SHAPE or any(len(getattr(self, name)) != count for name in self._ARRAYS):
            raise FeedbackFileError(f"feedback arrays disagree: {count} images of shape {self.images.shape[1:]}, "
                                    + ", ".join(f"{len(getattr(self, n))} {n}" for n in self._ARRAYS))
        unknown = set(self.verdicts.tolist()) - {v.value for v in Verdict}
        if unknown:
            raise FeedbackFileError(f"unknown verdicts in the feedback: {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.images)

    @staticmethod
    def _no_miscounts() -> Miscounts:
        return Miscounts(np.zeros(0, np.int64), np.zeros(0, str), np.zeros(0, str), np.zeros(0, np.int64),
                         np.zeros((0, *IMAGE_SHAPE), np.uint8))

    @classmethod
    def empty(cls) -> FeedbackSamples:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], miscounts: Miscounts | None = None) -> FeedbackSamples:
        """From one dict per sample, keyed by this class's field names (``images`` holding one image)."""
        columns: dict[str, Any] = {}
        for name, dtype in cls._ARRAYS.items():
            values = [row[name] for row in rows]
            if name == "images":
                columns[name] = np.array(values, np.uint8).reshape(-1, *IMAGE_SHAPE)
            else:
                columns[name] = np.array(values, str if dtype == "str" else dtype)
        return cls(**columns, miscounts=miscounts or cls._no_miscounts())

    def held_out(self) -> np.ndarray:
        """Which samples are kept out of training to judge the candidate (one in ``HOLDOUT_EVERY``, by id)."""
        return self.sample_ids % HOLDOUT_EVERY == 0

    def corrected(self) -> np.ndarray:
        """Which samples come from answers the user corrected."""
        return self.verdicts == Verdict.WRONG.value

    def misread(self) -> np.ndarray:
        """Which digits the model got wrong (the user gave another digit): what retraining must fix.

        Narrower than ``corrected``: in a corrected number some digits may have been read right.
        """
        return self.labels != self.predicted

    def save(self, path: Path) -> None:
        """Write the file the trainer reads (an ``.npz``), atomically: a reader never sees half of it."""
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        arrays.update({f"miscount_{f.name}": getattr(self.miscounts, f.name) for f in fields(Miscounts)})
        partial = path.with_name(f".{path.name}.partial")
        with open(partial, "wb") as handle:
            np.savez(handle, format=np.int64(self.FORMAT), **arrays)
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> FeedbackSamples:
        """Read a file ``save`` wrote.

        Raises:
            FeedbackFileError: it is missing, unreadable, or not a feedback file of this format.
        """
        try:
            with np.load(path, allow_pickle=False) as archive:
                if int(archive["format"]) != cls.FORMAT:
                    raise FeedbackFileError(f"{path} is feedback format {int(archive['format'])}, not {cls.FORMAT}")
                miscounts = Miscounts(**{f.name: archive[f"miscount_{f.name}"] for f in fields(Miscounts)})
                return cls(**{name: archive[name] for name in cls._ARRAYS}, miscounts=miscounts)
        except FeedbackFileError:
            raise
        except Exception as error:  # zip, npy and key errors come in many types; all mean the same here
            raise FeedbackFileError(f"{path} is not a feedback file: {type(error).__name__}: {error}") from None


# --- the events on stdout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    kind: ClassVar[str] = "started"
    epochs: int
    feedback_samples: int
    held_out: int
    feedback_weight: float  # how much one training sample of feedback counts against one MNIST digit
    fine_tuning: str  # the version fine-tuned


@dataclass(frozen=True)
class Epoch:
    kind: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    loss: float
    accuracy: float  # on the (augmented) training data
    val_accuracy: float
    epoch_seconds: float
    seconds_left: float


@dataclass(frozen=True)
class Scores:
    """A model's accuracy on the MNIST test set and on the held-out feedback (None: there is none)."""

    mnist: float
    feedback: float | None


@dataclass(frozen=True)
class Corrections:
    """What happened to the digits users corrected (``FeedbackSamples.misread``): how many each model reads
    right, among those trained on and those held out. A user who corrected the bot wants this figure."""

    trained: int  # misread digits the candidate was trained on
    trained_fixed: int  # of them, read right by the candidate
    trained_before: int  # of them, read right by the model in use (0 unless it changed since the answer)
    held_out: int
    held_out_fixed: int
    held_out_before: int


@dataclass(frozen=True)
class Done:
    kind: ClassVar[str] = "done"
    installed: bool
    reason: str  # the figures that decided, in words
    version: str  # the candidate
    previous: str  # the model in use when the run started
    current: Scores  # of the model in use
    candidate: Scores
    corrections: Corrections | None = None  # None from a run older than this field


@dataclass(frozen=True)
class Failed:
    kind: ClassVar[str] = "failed"
    reason: str


Event = Started | Epoch | Done | Failed
_KINDS: dict[str, type] = {cls.kind: cls for cls in (Started, Epoch, Done, Failed)}


def encode(event: Event) -> str:
    """One line of JSON: ``{"event": kind, ...fields}``; a ``Done`` carries its scores under ``scores``."""
    payload = asdict(event)
    if isinstance(event, Done):
        payload["scores"] = {"current": payload.pop("current"), "candidate": payload.pop("candidate")}
    return json.dumps({"event": event.kind, **payload})


def decode(line: str | bytes) -> Event | None:
    """The event on a line of the run's stdout; None for anything else (a log line, a malformed event)."""
    try:
        payload = json.loads(line)
        kind = _KINDS[payload.pop("event")]
        if kind is Done:
            scores = payload.pop("scores")
            payload.update(current=Scores(**scores["current"]), candidate=Scores(**scores["candidate"]))
            if payload.get("corrections") is not None:
                payload["corrections"] = Corrections(**payload["corrections"])
        return kind(**payload)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
