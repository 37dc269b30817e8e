"""Train the model as a user would (`digitbot train`), time it, and measure it through the serving path.

    python bench/train_accuracy.py [--epochs N] [--seed S]
    python bench/train_accuracy.py --measure models/   # measure an already trained model, no training

Writes bench/results/train_accuracy.json and prints a README table row.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import REPO, machine, mnist_path, save
from recognizer import Recognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default: the training default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--measure", type=Path, metavar="MODELS_DIR",
                        help="measure the current model of MODELS_DIR instead of training one")
    args = parser.parse_args()
    if args.measure:
        recognizer = Recognizer.load(args.measure)
        report(recognizer, int(recognizer.manifest.get("seed", args.seed)), None)
        return
    with tempfile.TemporaryDirectory() as models_dir:
        command = [sys.executable, "-m", "digitbot", "train", "--data", mnist_path(), "--models-dir", models_dir,
                   "--seed", str(args.seed)]
        if args.epochs:
            command += ["--epochs", str(args.epochs)]
        started = time.monotonic()
        subprocess.run(command, cwd=REPO, check=True)
        seconds = time.monotonic() - started
        report(Recognizer.load(Path(models_dir)), args.seed, seconds)


def report(recognizer: Recognizer, seed: int, wall_seconds: float | None) -> None:
    """MNIST test accuracy through the serving path (NumPy), saved and printed as a README row."""
    with np.load(mnist_path()) as data:
        predicted = recognizer.classify(data["x_test"]).argmax(axis=1)
        accuracy = float((predicted == data["y_test"]).mean())
    manifest = recognizer.manifest
    seconds = wall_seconds if wall_seconds is not None else manifest["training_seconds"]
    results = {"model": recognizer.version, "epochs": manifest["epochs"], "seed": seed,
               "wall_seconds": round(seconds, 1), "training_seconds": manifest["training_seconds"],
               "test_accuracy": accuracy, "parameters": manifest["parameter_count"],
               "layers": manifest["architecture"]["layers"]}
    name = "train_accuracy_e{}".format(manifest["epochs"])
    print(f"saved {save(name, results)}")
    print(f"| {'-'.join(map(str, results['layers']))}, {results['epochs']} epochs, seed {seed} "
          f"| {accuracy:.2%} | {seconds / 60:.1f} min | {machine()} |")


if __name__ == "__main__":
    main()
