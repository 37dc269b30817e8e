"""The serving contract: load the shipped model, read photos, say how sure it is. No TensorFlow here."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recognizer.classifier import DenseClassifier
from recognizer.decode import decode_image
from recognizer.model_store import ModelError, load_classifier, read_manifest, resolve_version_dir
from recognizer.preprocess import (
    MNIST_STROKE_FRACTION,
    PREPROCESSING_VERSION,
    DigitImage,
    extract_digits,
    fit_to_mnist,
)

# Digits shorter than this at the working size are read again from a sharper decode of their region.
SMALL_DIGIT_PX = 40
DETAIL_SIDE = 1024

# Digits read with less confidence than this get a second look over a few re-renderings.
SECOND_LOOK_BELOW = 0.9
SECOND_LOOK_RENDERINGS = ((0.75, 0.0), (1.35, 0.0), (1.0, -0.15), (1.0, 0.15))

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
        return cls(load_classifier(version_dir, manifest), manifest, version_dir)

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

    def _find_digits(self, image: bytes) -> tuple[list[DigitImage], float]:
        """Digits at the fast working size; where they come out small, again from a sharper decode.

        Most photos are read at WORK_SIDE pixels. Writing that is small in a large photo (a number
        across part of the page, a thin pen far away) is decoded again at DETAIL_SIDE and only the
        region around the writing is searched, so detail is spent only where it is needed. A large
        photo where nothing was found is searched whole at DETAIL_SIDE, since faint thin strokes
        may only show there; that costs a second decode, for empty photos only.
        """
        grey, to_original = decode_image(image)
        found = extract_digits(grey, score=self._top_probability)
        if to_original <= 1.0 or (found and max(d.box[3] for d in found) >= SMALL_DIGIT_PX):
            return found, to_original
        detailed, to_original_detailed = decode_image(image, work_side=DETAIL_SIDE)
        ratio = to_original / to_original_detailed
        if found:
            x0 = min(d.box[0] for d in found)
            y0 = min(d.box[1] for d in found)
            x1 = max(d.box[0] + d.box[2] for d in found)
            y1 = max(d.box[1] + d.box[3] for d in found)
            margin = 0.5 * (y1 - y0)
            left, top = max(0, int((x0 - margin) * ratio)), max(0, int((y0 - margin) * ratio))
            right, bottom = int((x1 + margin) * ratio) + 1, int((y1 + margin) * ratio) + 1
        else:
            left, top, right, bottom = 0, 0, detailed.shape[1], detailed.shape[0]
        region = detailed[top:bottom, left:right]
        refound = extract_digits(region, score=self._top_probability)
        if not refound:
            return found, to_original
        for digit in refound:
            x, y, w, h = digit.box
            digit.box = (x + left, y + top, w, h)
        return refound, to_original_detailed

    def _second_look(self, digit: DigitImage, first: np.ndarray) -> np.ndarray:
        """Average the model's answers over a few plausible renderings of a digit it is unsure of.

        A thinner and a thicker pen, a slight lean either way: a guess that survives these is
        likelier right. Confident digits skip this, so it costs time only where it can help.
        """
        variants = np.stack([fit_to_mnist(digit.ink, MNIST_STROKE_FRACTION * width, slant)
                             for width, slant in SECOND_LOOK_RENDERINGS])
        others = self.classifier.classify(variants, temperature=self.temperature)
        return (first + others.sum(axis=0)) / (1 + len(others))

    def recognize(self, image: bytes) -> Recognition:
        """Read the digit or number in a photo.

        Raises:
            recognizer.decode.ImageDecodeError: the bytes are not a usable picture.
        """
        started = time.perf_counter()
        found, to_original = self._find_digits(image)
        if not found:
            return Recognition(STATUS_NO_DIGIT, "", 0.0, [], time.perf_counter() - started)
        inputs = np.stack([d.mnist for d in found])
        probabilities = self.classifier.classify(inputs, temperature=self.temperature)
        for index in np.flatnonzero(probabilities.max(axis=1) < SECOND_LOOK_BELOW):
            probabilities[index] = self._second_look(found[index], probabilities[index])
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
