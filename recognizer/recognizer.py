"""The serving contract: load the shipped model, read photos, say how sure it is. No TensorFlow here."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from recognizer.classifier import DenseClassifier, PieceClassifier
from recognizer.confidence import Calibration, signals
from recognizer.model_store import ModelError, load_classifier, load_pieces, read_manifest, resolve_version_dir
from recognizer.preprocess import PREPROCESSING_VERSION, Found, find_candidates
from recognizer.reading import best_readings

# Below this probability that the whole answer is right, it is given as a guess with alternatives. At 0.8,
# answers given as sure are right about 90% of the time or more at every length of the synthetic numbers
# (89.7-98.8%; at 0.6, 77-83% for numbers of four digits or more: README, "Synthetic numbers").
UNSURE_BELOW = 0.8
# A digit whose own probability is below this is named as a digit in doubt.
DOUBTFUL_DIGIT = 0.8
ALTERNATIVES = 3


class Status(StrEnum):
    """What kind of answer a recognition is; the values are what SQLite and JSON hold."""

    OK = "ok"
    UNSURE = "unsure"
    NO_DIGIT = "no_digit"


@dataclass
class DigitResult:
    digit: int
    confidence: float  # the digit network's probability of this digit, for this piece
    top3: list[tuple[int, float]]
    box: tuple[int, int, int, int]  # x, y, width, height in the upright original photo's pixels
    mnist: np.ndarray = field(repr=False)  # the 28x28 input the model saw

    def to_dict(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": round(self.confidence, 4),
                "top3": [[d, round(p, 4)] for d, p in self.top3], "box": list(self.box)}


@dataclass
class Recognition:
    status: Status
    number: str  # the digits left to right; empty when there are none
    confidence: float  # probability that ``number`` is exactly right (calibrated)
    digits: list[DigitResult]
    seconds: float = 0.0
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # other readings, likeliest first
    signals: np.ndarray | None = field(default=None, repr=False)  # what the confidence was computed from
    writing: np.ndarray | None = field(default=None, repr=False)  # all the ink at MNIST's scale (writing_image)

    @property
    def doubtful(self) -> list[int]:
        """Positions of the digits the network is least sure of (those below DOUBTFUL_DIGIT)."""
        return [i for i, d in enumerate(self.digits) if d.confidence < DOUBTFUL_DIGIT]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "number": self.number, "confidence": round(self.confidence, 4),
                "digits": [d.to_dict() for d in self.digits],
                "alternatives": [[number, round(p, 4)] for number, p in self.alternatives]}


class Recognizer:
    """A loaded model plus the photo pipeline. Thread-safe: it holds no mutable state after loading."""

    def __init__(self, classifier: DenseClassifier, manifest: dict[str, Any], version_dir: Path | None = None,
                 pieces: PieceClassifier | None = None) -> None:
        if pieces is None:
            raise ModelError("This model has no piece network (pieces.npz); retrain it with `digitbot train`.")
        self.classifier = classifier
        self.pieces = pieces
        self.manifest = manifest
        self.version_dir = version_dir
        self.temperature = float(manifest.get("temperature", 1.0))
        self.piece_weight = float(manifest.get("piece_weight", 1.0))
        self.calibration = Calibration.from_manifest(manifest)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Recognizer:
        """Load the model in use from a models directory (default: shipped ``models/`` or ``$MODEL_DIR``).

        Raises:
            ModelError: no model there, or it was trained for another preprocessing version.
        """
        version_dir = resolve_version_dir(path)
        manifest = read_manifest(version_dir)
        trained_for = str(manifest.get("preprocessing_version"))
        if trained_for != PREPROCESSING_VERSION:
            raise ModelError(
                f"The model in {version_dir} was trained for preprocessing version {trained_for}, but this "
                f"recognizer uses version {PREPROCESSING_VERSION}. Retrain with `digitbot train` or install a "
                "matching model.")
        return cls(load_classifier(version_dir, manifest), manifest, version_dir, load_pieces(version_dir))

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unknown"))

    def classify(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10), float32, for MNIST-format uint8 images (N, 28, 28): same as the Keras model."""
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
        return self.classifier.classify(images)

    def recognize(self, image: bytes) -> Recognition:
        """Read the digit or number in a photo.

        Raises:
            recognizer.decode.ImageDecodeError: the bytes are not a usable picture.
        """
        started = time.perf_counter()
        recognition = self.read(find_candidates(image))
        recognition.seconds = time.perf_counter() - started
        return recognition

    def read(self, found: Found, piece_weight: float | None = None) -> Recognition:
        """Read the candidates found in a photo: the best reading, how sure, and the alternatives.

        ``piece_weight`` overrides the manifest's, for calibration.
        """
        cands = found.candidates
        if cands is None:
            return Recognition(Status.NO_DIGIT, "", 0.0, [])
        mnist = cands.mnist
        digit_probs = self.classifier.classify(mnist, temperature=self.temperature)
        piece_probs = self.pieces.classify(mnist, cands.features)
        weight = self.piece_weight if piece_weight is None else piece_weight
        readings = best_readings(cands, digit_probs, piece_probs, weight)
        written = [r for r in readings if r.number]
        if not written:
            return Recognition(Status.NO_DIGIT, "", readings[0].share if readings else 1.0, [],
                               writing=cands.writing)
        # Ink was found in a photo sent to be read: when "nothing written" is believed most (a lone 1
        # looks much like a ruled line or the paper's edge), the best number is still the best answer,
        # given only as a guess, rather than "no digit" said with confidence.
        nothing_believed_most = not readings[0].number
        best = written[0]
        digits = []
        for index in best.pieces:
            probs = digit_probs[index]
            order = np.argsort(probs)[::-1][:3]
            digits.append(DigitResult(int(order[0]), float(probs[order[0]]), [(int(d), float(probs[d])) for d in order],
                                      found.original_box(cands.pieces[index].box), cands.pieces[index].mnist))
        weakest_piece = float(piece_probs[list(best.pieces), 0].min())
        evidence = signals(best.share, min(d.confidence for d in digits), weakest_piece, len(digits),
                           cands.digit_height, cands.contrast, cands.unread_ink(best.pieces))
        confidence = self.calibration.probability(evidence)
        if nothing_believed_most:
            confidence = min(confidence, 1.0 - readings[0].share)
        status = Status.OK if confidence >= UNSURE_BELOW and not nothing_believed_most else Status.UNSURE
        alternatives = [(r.number, r.share) for r in written if r is not best][:ALTERNATIVES]
        return Recognition(status, best.number, confidence, digits, alternatives=alternatives, signals=evidence,
                           writing=cands.writing)
