"""How much a few corrections among many confirmations move the model: chooses CORRECTION_COPIES/FACTOR.

The learning-loop test's setup (the shipped model, MNIST, "bubble" outline digits it misreads), but as
real feedback is: a handful of corrected digits among hundreds of confirmed ones. For each recipe
(copies, factor) it runs the real ``python -m training.retrain`` on a fresh copy of the models and
prints the run's own report (corrected digits fixed, trained on and held out), bubble digits of the
MNIST test set (does the style generalise?) and the MNIST test accuracy.

    MNIST_PATH=... python bench/correction_weights.py --recipes 1x1 30x30 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from recognizer import Recognizer  # noqa: E402
from recognizer.model_store import SHIPPED_MODELS_DIR  # noqa: E402
from training.contract import FeedbackSamples, Verdict, decode, retrain_command  # noqa: E402


def outline(image: np.ndarray) -> np.ndarray:
    """The digit's outline only, like bubble lettering (as in tests/model/test_learning_loop.py)."""
    ink = (image > 100).astype(np.uint8)
    return ((cv2.dilate(ink, np.ones((3, 3), np.uint8)) - ink) * 255).astype(np.uint8)


def make_feedback(base: Recognizer, x: np.ndarray, y: np.ndarray, corrected: int, confirmed: int,
                  seed: int) -> FeedbackSamples:
    """``corrected`` bubble digits the model misreads, ``confirmed`` digits it reads right (a third bubble)."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(x), 6 * (corrected + confirmed), replace=False)
    bubbles = np.stack([outline(image) for image in x[picks]])
    said = base.classify(bubbles).argmax(axis=1)
    wrong, right = picks[said != y[picks]][:corrected], picks[said == y[picks]][: confirmed // 3]
    plain = rng.choice(np.setdiff1d(np.arange(len(x)), picks), confirmed - len(right), replace=False)
    images = np.concatenate([bubbles[said != y[picks]][:corrected], bubbles[said == y[picks]][: confirmed // 3],
                             x[plain]])
    labels = np.concatenate([y[wrong], y[right], y[plain]])
    predicted = base.classify(images).argmax(axis=1)
    order = rng.permutation(len(images))  # ids decide the held-out fifth
    rows = [{"images": images[i], "labels": int(labels[i]), "predicted": int(predicted[i]), "confidence": 0.9,
             "verdicts": Verdict.WRONG if labels[i] != predicted[i] else Verdict.RIGHT, "sample_ids": n + 1,
             "answer_ids": n + 1, "users": f"u{n % 50}", "created_at": 0.0} for n, i in enumerate(order)]
    return FeedbackSamples.from_rows(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=["1x1", "30x30"], help="COPIESxFACTOR")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--corrected", type=int, default=20)
    parser.add_argument("--confirmed", type=int, default=360)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    mnist_path = os.environ["MNIST_PATH"]
    with np.load(mnist_path) as data:
        x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    base = Recognizer.load(SHIPPED_MODELS_DIR)
    feedback = make_feedback(base, x_train, y_train, args.corrected, args.confirmed, args.seed)
    test_x = np.stack([outline(image) for image in x_test[:1000]])

    def style(model: Recognizer) -> float:
        return float((model.classify(test_x).argmax(axis=1) == y_test[:1000]).mean())

    print(f"feedback: {len(feedback)} samples, {int(feedback.misread().sum())} misread "
          f"({int((feedback.misread() & feedback.held_out()).sum())} held out); "
          f"bubble test {style(base):.1%} before", flush=True)
    for recipe in args.recipes:
        copies, factor = recipe.split("x")
        with tempfile.TemporaryDirectory() as tmp:
            models = Path(tmp) / "models"
            shutil.copytree(SHIPPED_MODELS_DIR, models)
            feedback.save(Path(tmp) / "feedback.npz")
            command = retrain_command(Path(tmp) / "feedback.npz", models, args.epochs, mnist_path)
            started = time.monotonic()
            result = subprocess.run([*command, "--correction-copies", copies, "--correction-factor", factor],
                                    cwd=REPO, capture_output=True, text=True,
                                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            seconds = time.monotonic() - started
            done = [e for e in map(decode, result.stdout.splitlines()) if e is not None][-1]
            if done.kind != "done":
                print(recipe, done, result.stderr[-1500:])
                continue
            candidate = Recognizer.load(models / done.version)
            c = done.corrections
            print(f"{copies} copies x factor {factor}: trained-on misread fixed {c.trained_fixed}/{c.trained} "
                  f"(before {c.trained_before}), held out {c.held_out_fixed}/{c.held_out} "
                  f"(before {c.held_out_before}); bubble test {style(candidate):.1%}; MNIST "
                  f"{done.current.mnist:.2%} -> {done.candidate.mnist:.2%}; held-out feedback "
                  f"{done.current.feedback:.1%} -> {done.candidate.feedback:.1%}; installed {done.installed}; "
                  f"{seconds:.0f} s", flush=True)
            print(json.dumps({"recipe": recipe, "done": result.stdout.splitlines()[-1]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
