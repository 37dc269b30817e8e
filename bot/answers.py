"""The stored answer: one typed shape for what the bot answered, and its encoding in the ``answers`` table.

An answer is stored before it is sent, and read back when a user presses a button under it. The
column formats (the per-digit string ``"7:0.9900,2:0.8700"``, the 28x28 inputs as one blob, the
writing's picture as a PNG) are written and parsed here and nowhere else; ``bot.storage`` runs the SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from recognizer import Recognition, Status

IMAGE_SHAPE = (28, 28)
# The answers table's columns, in the order ``to_row`` gives them (the id is SQLite's).
COLUMNS = ("chat_id", "status", "number", "confidence", "latency_ms", "model_version", "digits", "inputs",
           "writing")


@dataclass(frozen=True)
class StoredDigit:
    digit: int
    confidence: float  # the digit network's probability of this digit
    image: np.ndarray  # the 28x28 uint8 input the model saw


@dataclass(frozen=True)
class StoredAnswer:
    """One answered photo as stored: no photo, only what the model saw and said."""

    chat_id: int
    status: Status
    number: str  # the digits read, left to right; empty for no_digit
    confidence: float  # calibrated probability that the number is exactly right
    latency_ms: float
    model_version: str
    digits: tuple[StoredDigit, ...] = ()
    id: int | None = None  # SQLite's, once stored
    # All the ink at MNIST's scale (recognizer.segment.writing_image) as a PNG, a few hundred bytes: what a
    # correction of the count of digits needs to teach the cutting later. None for answers stored before it.
    writing: bytes | None = None

    @classmethod
    def of(cls, recognition: Recognition, chat_id: int, model_version: str) -> StoredAnswer:
        """What to store of a recognition."""
        return cls(chat_id=chat_id, status=Status(recognition.status), number=recognition.number,
                   confidence=float(recognition.confidence), latency_ms=recognition.seconds * 1000,
                   model_version=model_version,
                   digits=tuple(StoredDigit(d.digit, float(d.confidence), d.mnist) for d in recognition.digits),
                   writing=writing_png(recognition.writing))

    @property
    def images(self) -> np.ndarray:
        """The model's inputs, shape (N, 28, 28)."""
        return np.stack([d.image for d in self.digits]) if self.digits else np.zeros((0, *IMAGE_SHAPE), np.uint8)

    def to_row(self) -> tuple[Any, ...]:
        """Values for ``COLUMNS``."""
        digits = ",".join(f"{d.digit}:{d.confidence:.4f}" for d in self.digits)
        return (self.chat_id, self.status.value, self.number, self.confidence, self.latency_ms, self.model_version,
                digits, images_blob(self.images), self.writing)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StoredAnswer:
        """The answer in a row holding ``id`` and ``COLUMNS``.

        Raises:
            ValueError: the row is damaged (digits that do not parse, or do not match the inputs).
        """
        parts = [part.split(":") for part in row["digits"].split(",")] if row["digits"] else []
        images = images_of(row["inputs"])
        if len(parts) != len(images) or any(len(part) != 2 for part in parts):
            raise ValueError(f"answer {row['id']} is damaged: digits {row['digits'][:40]!r} for {len(images)} inputs")
        digits = tuple(StoredDigit(int(digit), float(confidence), image)
                       for (digit, confidence), image in zip(parts, images))
        return cls(chat_id=int(row["chat_id"]), status=Status(row["status"]), number=row["number"],
                   confidence=float(row["confidence"]), latency_ms=float(row["latency_ms"]),
                   model_version=row["model_version"], digits=digits, id=int(row["id"]),
                   writing=row.get("writing"))


def images_blob(images: np.ndarray | Sequence[np.ndarray]) -> bytes | None:
    """28x28 uint8 images as one blob (None for none): the answers' inputs, a sample's image."""
    images = np.asarray(images, np.uint8)
    return np.ascontiguousarray(images).tobytes() if images.size else None


def images_of(blob: bytes | None) -> np.ndarray:
    """The images in a blob ``images_blob`` made, shape (N, 28, 28)."""
    return np.frombuffer(blob or b"", np.uint8).reshape(-1, *IMAGE_SHAPE)


def writing_png(image: np.ndarray | None) -> bytes | None:
    """The writing's picture (uint8, 255 = ink) as a lossless PNG; None for none."""
    if image is None or image.size == 0:
        return None
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image, np.uint8))
    return encoded.tobytes() if ok else None


def writing_of(blob: bytes | None) -> np.ndarray | None:
    """The picture ``writing_png`` stored (None for none)."""
    if not blob:
        return None
    return cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_GRAYSCALE)
