"""How sure to say the bot is: the probability that the whole answer is exactly right.

The raw signals are the best reading's share of all belief (which already weighs how far it beats
other segmentations and other digits), its least certain digit and least certain piece, how many
digits it has, and how much of the ink it leaves unread (called not writing). A logistic map of
these, fitted on held-out synthetic numbers (``training.calibrate``) and stored in the model's
manifest, turns them into a probability; it is checked on real photos by ``bench/photo_accuracy.py``
(expected calibration error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

EPSILON = 1e-6
SIGNALS = ("share", "weakest digit", "weakest piece", "digits", "digit height", "contrast", "unread ink")
# The signals the map is fitted on; the others keep weight 0. The digit count is left out: the share
# already multiplies every digit's belief, and a separate count term fitted on synthetic numbers
# learned "more digits, more sure": long numbers came out overconfident and single digits underconfident
# (README, "Synthetic numbers": calibration error by length, with and without it).
FITTED_SIGNALS = ("share", "weakest digit", "weakest piece", "digit height", "contrast", "unread ink")


def signals(share: float, weakest_digit: float, weakest_piece: float, digits: int, digit_height_px: float,
            contrast: float, unread_ink: float = 0.0) -> np.ndarray:
    """The calibration's inputs: log-odds of the three probabilities, the digit count, how legible the
    photo is (the digits' height in the searched image's pixels, the ink's contrast from 0 to 1), and
    the share of the ink the reading calls not writing.

    Small, faint writing is misread more often at the same belief, so the same share means less there;
    and a reading that is sure of one digit while it drops the rest of the ink as "not writing" (four
    digits of five, on a patterned cheque) has only explained the photo away.
    """
    def logit(p: float) -> float:
        p = min(max(p, EPSILON), 1 - EPSILON)
        return float(np.log(p / (1 - p)))

    return np.array([logit(share), logit(weakest_digit), logit(weakest_piece), digits / 8.0,
                     np.log(max(digit_height_px, 1.0)) / 5.0, contrast, unread_ink], np.float64)


@dataclass(frozen=True)
class Calibration:
    """confidence = sigmoid(weights . signals + bias); the default trusts the share as it is."""

    weights: tuple[float, ...] = (1.0,) + (0.0,) * (len(SIGNALS) - 1)
    bias: float = 0.0

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> Calibration:
        """The map a manifest stores, its weights matched to ``SIGNALS`` by name: a model fitted before a
        signal existed gives that signal weight 0, so it reads as it did."""
        fitted = manifest.get("calibration")
        if not isinstance(fitted, dict):
            return cls()
        names = fitted.get("signals", SIGNALS[: len(fitted["weights"])])
        if len(names) != len(fitted["weights"]) or not set(names) <= set(SIGNALS):
            raise ValueError(f"calibration weights {fitted['weights']} do not match its signals {names}")
        by_name = dict(zip(names, (float(w) for w in fitted["weights"])))
        return cls(tuple(by_name.get(name, 0.0) for name in SIGNALS), float(fitted["bias"]))

    def to_manifest(self) -> dict[str, Any]:
        return {"signals": list(SIGNALS), "weights": [round(w, 6) for w in self.weights], "bias": round(self.bias, 6)}

    def probability(self, features: np.ndarray) -> float:
        z = float(np.dot(self.weights, features) + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))))


def as_told(probability: float) -> str:
    """A confidence as people are told it, from 1% to 99%: no reading is certain, and "100% sure" on a
    wrong answer costs the most trust (of the helpers' made photos, 10 answers stated at 99.5% or more were
    wrong). Programs get the exact figure (``digitbot predict --json``)."""
    return f"{min(max(probability, 0.01), 0.99):.0%}"
