"""The serving contract: load the shipped model, read photos, say how sure it is. No TensorFlow here."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recognizer.classifier import WEIGHTS_FILE, DenseClassifier
from recognizer.decode import decode_image
from recognizer.model_store import ModelError, read_manifest, resolve_version_dir
from recognizer.preprocess import PREPROCESSING_VERSION, extract_digits

# Below this calibrated probability a digit is reported as a guess with alternatives, not an answer.
UNSURE_BELOW = 0.6

STATUS_OK = "ok"
STATUS_UNSURE = "unsure"
STATUS_NO_DIGIT = "no_digit"


@dataclass
class DigitResult:
    digit: int
    confidence: float
    top3: list[tuple[int, float]]
    box: tuple[int, int, int, int]  # x, y, width, height in the upright original photo's pixels
    mnist: np.ndarray = field(repr=False)  # the 28x28 input the model saw

    def to_dict(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": round(self.confidence, 4),
                "top3": [[d, round(p, 4)] for d, p in self.top3], "box": list(self.box)}


@dataclass
class Recognition:
    status: str  # ok, unsure or no_digit
    number: str  # the digits left to right; empty when there are none
    confidence: float  # of the whole number: the product of the digits' confidences
    digits: list[DigitResult]
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "number": self.number, "confidence": round(self.confidence, 4),
                "digits": [d.to_dict() for d in self.digits]}


class Recognizer:
    """A loaded model plus the photo pipeline. Thread-safe: it holds no mutable state after loading."""

    def __init__(self, classifier: DenseClassifier, manifest: dict[str, Any], version_dir: Path | None = None) -> None:
        self.classifier = classifier
        self.manifest = manifest
        self.version_dir = version_dir
        self.temperature = float(manifest.get("temperature", 1.0))

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
        try:
            classifier = DenseClassifier.from_npz(version_dir / WEIGHTS_FILE)
        except (OSError, KeyError, ValueError) as error:
            raise ModelError(f"The weights in {version_dir} could not be read: {error}") from None
        return cls(classifier, manifest, version_dir)

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unknown"))

    def classify(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10), float32, for MNIST-format uint8 images (N, 28, 28): same as the Keras model."""
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
        return self.classifier.classify(images)

    def _top_probability(self, images: np.ndarray) -> np.ndarray:
        return self.classifier.classify(images, temperature=self.temperature).max(axis=1)

    def recognize(self, image: bytes) -> Recognition:
        """Read the digit or number in a photo.

        Raises:
            recognizer.decode.ImageDecodeError: the bytes are not a usable picture.
        """
        started = time.perf_counter()
        grey, to_original = decode_image(image)
        found = extract_digits(grey, score=self._top_probability)
        if not found:
            return Recognition(STATUS_NO_DIGIT, "", 0.0, [], time.perf_counter() - started)
        inputs = np.stack([d.mnist for d in found])
        probabilities = self.classifier.classify(inputs, temperature=self.temperature)
        digits = []
        for candidate, probs in zip(found, probabilities):
            order = np.argsort(probs)[::-1][:3]
            box = tuple(int(round(v * to_original)) for v in candidate.box)
            digits.append(DigitResult(int(order[0]), float(probs[order[0]]),
                                      [(int(d), float(probs[d])) for d in order], box, candidate.mnist))
        confidence = float(np.prod([d.confidence for d in digits]))
        status = STATUS_OK if min(d.confidence for d in digits) >= UNSURE_BELOW else STATUS_UNSURE
        number = "".join(str(d.digit) for d in digits)
        return Recognition(status, number, confidence, digits, time.perf_counter() - started)
