"""Make the stated confidence mean what it says, on synthetic numbers the networks never saw.

Held-out synthetic photos (written with MNIST's validation digits) are read by the new model. Two
things are fitted on them: how much the piece network's belief weighs against the digit network's
in the search (the weight that reads most numbers right), and the logistic map from the reading's
signals to the probability that the answer is exactly right (``recognizer.confidence``). The dev
photos are never used here; they only check the result (``bench/photo_accuracy.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizer.confidence import Calibration
from recognizer.decode import ImageDecodeError
from recognizer.preprocess import Found, find_candidates
from recognizer.recognizer import Recognizer
from training.numbers import GlyphSource, LayoutConfig, compose, random_label
from training.scenes import render

PIECE_WEIGHTS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
L2 = 1e-3


@dataclass
class HeldOutPhoto:
    found: Found
    label: str


def held_out_photos(images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> list[HeldOutPhoto]:
    """``count`` synthetic photos of numbers written with the given digits, with their candidates found."""
    source = GlyphSource(images, labels)
    photos = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        scene = render(compose(random_label(rng, LayoutConfig()), source, rng), rng)
        try:
            photos.append(HeldOutPhoto(find_candidates(scene.data), scene.label))
        except ImageDecodeError:
            continue
    return photos


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias of a logistic regression, by Newton's method with a small ridge penalty."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -40, 40)))
        gradient = design.T @ (p - y) + l2 * np.r_[w[:-1], 0.0]
        hessian = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def calibrate(recognizer: Recognizer, photos: list[HeldOutPhoto]) -> tuple[float, Calibration, dict]:
    """The piece weight that reads most photos exactly, and the confidence map fitted at that weight."""
    exact = {}
    for weight in PIECE_WEIGHTS:
        exact[weight] = float(np.mean([recognizer.read(p.found, weight).number == p.label for p in photos]))
    weight = max(PIECE_WEIGHTS, key=lambda w: (exact[w], -abs(np.log(w))))
    signals, right = [], []
    for photo in photos:
        recognition = recognizer.read(photo.found, weight)
        if recognition.signals is not None:
            signals.append(recognition.signals)
            right.append(recognition.number == photo.label)
    weights, bias = fit_logistic(np.array(signals), np.array(right, np.float64))
    calibration = Calibration(tuple(float(w) for w in weights), bias)
    figures = {"photos": len(photos), "exact_by_piece_weight": {str(w): round(a, 4) for w, a in exact.items()},
               "piece_weight": weight, "exact": round(exact[weight], 4)}
    return weight, calibration, figures
