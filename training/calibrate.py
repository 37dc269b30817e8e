"""Make the stated confidence mean what it says, on synthetic numbers the networks never saw.

Held-out synthetic photos (written with MNIST's validation digits) are read by the new model. Two
things are fitted on them: how much the piece network's belief weighs against the digit network's
in the search (the weight that reads most numbers right), and the logistic map from the reading's
signals to the probability that the answer is exactly right (``recognizer.confidence``). The dev
photos are never used here; they only check the result (``bench/photo_accuracy.py``).

Training runs this on every fresh model. ``python -m training.calibrate`` runs it again on the model in
use and publishes the result as a new version with the same networks, for when the fit itself changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.classifier import PIECES_FILE, PieceClassifier
from recognizer.confidence import FITTED_SIGNALS, SIGNALS, Calibration
from recognizer.decode import ImageDecodeError
from recognizer.model_store import MANIFEST_FILE, ModelError, ModelStore, read_manifest
from recognizer.preprocess import Found, find_candidates
from recognizer.recognizer import Recognizer
from training.config import TrainConfig
from training.data import DataError, MnistData, load_mnist, split_validation
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


def calibration_photos(data: MnistData, cfg: TrainConfig, count: int) -> list[HeldOutPhoto]:
    """The held-out photos a training run calibrates on: written with its validation digits, its seed + 2."""
    _, _, x_val, y_val = split_validation(data, cfg.validation_size, cfg.seed)
    return held_out_photos(x_val, y_val, count, cfg.seed + 2)


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


def fit_calibration(signals: np.ndarray, right: np.ndarray) -> Calibration:
    """The logistic map over ``FITTED_SIGNALS`` (rows of ``signals`` hold all of ``SIGNALS``); weight 0 elsewhere."""
    columns = [SIGNALS.index(name) for name in FITTED_SIGNALS]
    fitted, bias = fit_logistic(signals[:, columns], right)
    weights = np.zeros(len(SIGNALS))
    weights[columns] = fitted
    return Calibration(tuple(float(w) for w in weights), bias)


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
    calibration = fit_calibration(np.array(signals), np.array(right, np.float64))
    figures = {"photos": len(photos), "exact_by_piece_weight": {str(w): round(a, 4) for w, a in exact.items()},
               "piece_weight": weight, "exact": round(exact[weight], 4)}
    return weight, calibration, figures


def recalibrate(store: ModelStore, data: MnistData, photos: int, make_current: bool = True) -> tuple[Path, dict]:
    """Refit the piece weight and the confidence map of the model in use; publish them as a new version.

    The networks are copied unchanged, so this costs minutes, not a training run: what changes is only
    what the manifest says about weighing and trusting them. The held-out photos are the ones training
    calibrates on (the same validation digits and seed), ``photos`` of them.
    """
    cfg = TrainConfig()
    source = store.current_dir()
    manifest = read_manifest(source)
    recognizer = Recognizer.load(store.path)
    weight, calibration, figures = calibrate(recognizer, calibration_photos(data, cfg, photos))
    manifest.update(piece_weight=weight, calibration=calibration.to_manifest(), recalibrated_from=source.name)
    manifest.setdefault("reader", {})["calibration"] = figures
    return publish_revision(store, source, manifest, make_current), manifest


def publish_revision(store: ModelStore, source: Path, manifest: dict, make_current: bool,
                     pieces: PieceClassifier | None = None) -> Path:
    """Publish ``manifest`` as a new version holding the files of ``source`` (and ``pieces``, if given).

    The manifest gets a fresh version and date; the digit network is copied unchanged.
    """
    now = dt.datetime.now(dt.timezone.utc)
    manifest.update(version=now.strftime("%Y%m%dT%H%M%SZ"), created_at=now.isoformat(timespec="seconds"))
    replaced = {MANIFEST_FILE} | ({PIECES_FILE} if pieces is not None else set())
    with store.publish(manifest["version"], make_current=make_current) as stage:
        for file in source.iterdir():
            if file.is_file() and file.name not in replaced:
                shutil.copy2(file, stage / file.name)
        if pieces is not None:
            pieces.save_npz(stage / PIECES_FILE)
        (stage / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return store.version_dir(manifest["version"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.calibrate", description=recalibrate.__doc__)
    parser.add_argument("--data", help="MNIST .npz (Keras layout); default $MNIST_PATH, else Keras's download")
    parser.add_argument("--models-dir", type=Path, help="the models directory (default $MODEL_DIR or models/)")
    parser.add_argument("--photos", type=int, default=3000, help="held-out synthetic photos (default %(default)s)")
    parser.add_argument("--keep-current", action="store_true", help="publish without putting it in use")
    args = parser.parse_args(argv)
    if args.photos < 20:
        parser.error("--photos must be at least 20 (a fit on fewer says nothing)")
    try:
        data = load_mnist(args.data)
        version_dir, manifest = recalibrate(ModelStore(args.models_dir), data, args.photos, not args.keep_current)
    except (DataError, ModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    figures = manifest["reader"]["calibration"]
    print(f"model {manifest['version']} (recalibrated from {manifest['recalibrated_from']}): piece weight "
          f"{manifest['piece_weight']}, {figures['exact']:.1%} of {figures['photos']} held-out photos read exactly; "
          f"written to {version_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
