"""Where models live and which one is in use: ``models/CURRENT`` names a version directory.

Also what makes a model usable (``load_classifier`` validates weights and manifest before any
switch) and the lock that lets one training run at a time touch the directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from recognizer.classifier import PIECES_FILE, WEIGHTS_FILE, DenseClassifier, PieceClassifier
from recognizer.segment import FEATURE_COUNT

CURRENT_FILE = "CURRENT"
PREVIOUS_FILE = "PREVIOUS"  # the version CURRENT replaced last, for rollback
MANIFEST_FILE = "manifest.json"
KERAS_FILE = "model.keras"
KEEP_VERSIONS = 3
MODEL_DIR_ENV = "MODEL_DIR"
SHIPPED_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
TRAINING_LOCK_FILE = ".training.lock"
INPUT_SIZE = 28 * 28
CLASSES = 10
PIECE_CLASSES = 3  # whole digit, not writing, wrong cut


class ModelError(Exception):
    """No usable model: missing, unreadable, or made for another preprocessing version."""


class TrainingBusy(Exception):
    """Another training run holds the models directory."""


def default_models_dir() -> Path:
    """``$MODEL_DIR`` if set, else the ``models/`` directory shipped with the code."""
    return Path(os.environ.get(MODEL_DIR_ENV) or SHIPPED_MODELS_DIR)


def resolve_version_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Accept a models directory (follow its CURRENT pointer) or a version directory itself."""
    base = Path(path) if path else default_models_dir()
    if (base / MANIFEST_FILE).is_file():
        return base
    pointer = base / CURRENT_FILE
    if not pointer.is_file():
        raise ModelError(f"No model found in {base}: it has neither {MANIFEST_FILE} nor {CURRENT_FILE}. "
                         "Train one with `digitbot train` or point MODEL_DIR at the shipped models/ directory.")
    version = read_pointer(base, CURRENT_FILE)
    if version is None:
        raise ModelError(f"{pointer} does not name a model version (expected one folder name in UTF-8).")
    version_dir = base / version
    if not (version_dir / MANIFEST_FILE).is_file():
        raise ModelError(f"{pointer} names {version_dir.name}, which has no {MANIFEST_FILE}.")
    return version_dir


def read_pointer(models_dir: Path, name: str = CURRENT_FILE) -> str | None:
    """The version ``CURRENT`` or ``PREVIOUS`` names, or None if it is missing, unreadable or not a plain name."""
    try:
        version = (models_dir / name).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not version or version.startswith(".") or "/" in version or "\\" in version or "\n" in version:
        return None
    return version


def read_manifest(version_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((version_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"The manifest in {version_dir} could not be read: {_one_line(error)}") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"The manifest in {version_dir} is a JSON {type(manifest).__name__}, not an object.")
    return manifest


def load_classifier(version_dir: Path, manifest: dict[str, Any]) -> DenseClassifier:
    """The weights of a version, checked to be a model that answers (see ``validate_model``).

    Raises:
        ModelError: one line saying what is wrong.
    """
    try:
        classifier = DenseClassifier.from_npz(version_dir / WEIGHTS_FILE)
    except Exception as error:  # zip, npy and shape errors come in many types; all mean the same here
        raise ModelError(f"The weights in {version_dir} could not be read: {type(error).__name__}: "
                         f"{_one_line(error)}") from None
    validate_model(classifier, manifest, version_dir)
    return classifier


def load_pieces(version_dir: Path) -> PieceClassifier:
    """The piece network of a version, checked to fit the recognizer's pieces and give three probabilities.

    Raises:
        ModelError: one line saying what is wrong.
    """
    path = version_dir / PIECES_FILE
    if not path.is_file():
        raise ModelError(f"The model in {version_dir} has no piece network ({PIECES_FILE}); retrain it with "
                         "`digitbot train`.")
    try:
        pieces = PieceClassifier.from_npz(path)
    except Exception as error:  # zip, npy and shape errors come in many types; all mean the same here
        raise ModelError(f"The piece network in {version_dir} could not be read: {type(error).__name__}: "
                         f"{_one_line(error)}") from None
    inputs = INPUT_SIZE + FEATURE_COUNT
    if pieces.feature_mean.shape != (FEATURE_COUNT,) or pieces.feature_std.shape != (FEATURE_COUNT,) or not (
            np.isfinite(pieces.feature_std).all() and (pieces.feature_std > 0).all()):
        raise ModelError(f"The piece network in {version_dir} describes pieces with other features than "
                         f"this recognizer's {FEATURE_COUNT}.")
    for index, (kernel, bias) in enumerate(zip(pieces.network.kernels, pieces.network.biases)):
        if kernel.ndim != 2 or kernel.shape[0] != inputs or bias.shape != (kernel.shape[1],) or not (
                np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise ModelError(f"The piece network in {version_dir} does not fit together at layer {index}.")
        inputs = kernel.shape[1]
    if inputs != PIECE_CLASSES:
        raise ModelError(f"The piece network in {version_dir} gives {inputs} outputs, not {PIECE_CLASSES}.")
    return pieces


def validate_model(classifier: DenseClassifier, manifest: dict[str, Any], where: Path | str = "the model") -> None:
    """Refuse a model that would fail on every photo: layer shapes that do not chain from 784 inputs to
    10 classes, values that are not finite, a temperature that is not a positive number, or a forward
    pass on known inputs that does not give probabilities.

    Raises:
        ModelError: one line naming the first problem found.
    """
    temperature = manifest.get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
            math.isfinite(temperature) and temperature > 0):
        raise ModelError(f"The manifest in {where} has temperature {temperature!r}; it must be a number above 0.")
    inputs = INPUT_SIZE
    for index, (kernel, bias) in enumerate(zip(classifier.kernels, classifier.biases)):
        if kernel.ndim != 2 or kernel.shape[0] != inputs or bias.shape != (kernel.shape[1],):
            raise ModelError(f"The weights in {where} do not fit together: layer {index} has kernel "
                             f"{kernel.shape} and bias {bias.shape} after {inputs} inputs.")
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise ModelError(f"The weights in {where} hold values that are not finite (layer {index}).")
        inputs = kernel.shape[1]
    if inputs != CLASSES:
        raise ModelError(f"The model in {where} gives {inputs} outputs; a digit model gives {CLASSES}.")
    if not (math.isfinite(float(classifier.input_scale)) and float(classifier.input_scale) > 0):
        raise ModelError(f"The weights in {where} have input scale {classifier.input_scale}; it must be above 0.")
    known = np.zeros((2, 28, 28), np.uint8)
    known[1, 4:24, 12:16] = 255  # a blank field and a plain "1"
    probabilities = classifier.classify(known, temperature=float(temperature))
    if probabilities.shape != (2, CLASSES) or not np.isfinite(probabilities).all() or not np.allclose(
            probabilities.sum(axis=1), 1.0, atol=1e-3):
        raise ModelError(f"The model in {where} does not give probabilities on a known input.")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300]


@contextlib.contextmanager
def training_lock(models_dir: Path) -> Iterator[None]:
    """Hold the models directory for one training run; a second one gets TrainingBusy at once.

    An OS lock on a file: it is released when its holder exits, however it exits.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    handle = open(models_dir / TRAINING_LOCK_FILE, "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TrainingBusy(f"another training run is using {models_dir}") from None
        yield
    finally:
        handle.close()


def set_current(models_dir: Path, version: str) -> None:
    """Point ``CURRENT`` at ``version`` (and ``PREVIOUS`` at the one it replaces), each by atomic rename."""
    current = models_dir / CURRENT_FILE
    if current.is_file():
        old = current.read_text(encoding="utf-8").strip()
        if old and old != version:
            _write_pointer(models_dir, PREVIOUS_FILE, old)
    _write_pointer(models_dir, CURRENT_FILE, version)


def _write_pointer(models_dir: Path, name: str, version: str) -> None:
    pointer_tmp = models_dir / f".{name}.tmp"
    pointer_tmp.write_text(version + "\n", encoding="utf-8")
    fsync_file(pointer_tmp)
    os.replace(pointer_tmp, models_dir / name)
    _fsync_dir(models_dir)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
