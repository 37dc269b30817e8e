"""The models directory and its protocol, in one place: every reader and writer of it goes through here.

A models directory holds version folders (``models/<version>/``) and two pointers: ``CURRENT`` names
the version in use, ``PREVIOUS`` the one it replaced (for /rollback). A published version holds
``weights.npz`` (the digit network), ``pieces.npz`` (the piece network), ``model.keras`` (the digit
network for further training), ``manifest.json`` (with ``temperature``, ``piece_weight`` and
``calibration``, which serving reads) and the training run's pictures.

``ModelStore`` is the protocol: where the directory is (``MODEL_DIR``, else the shipped
``models/``), publishing a new version through a staging folder, switching ``CURRENT`` (install and
rollback alike) only to a version that loads and answers, pruning old versions, and the lock that
lets one training run at a time write there. The functions below it read and validate one version.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from recognizer.classifier import PIECES_FILE, WEIGHTS_FILE, DenseClassifier, PieceClassifier
from recognizer.confidence import Calibration
from recognizer.segment import FEATURE_COUNT

CURRENT_FILE = "CURRENT"
PREVIOUS_FILE = "PREVIOUS"  # the version CURRENT replaced last, for rollback
MANIFEST_FILE = "manifest.json"
KERAS_FILE = "model.keras"
CONFUSION_PICTURE = "confusion.png"
CURVES_PICTURE = "curves.png"
KEEP_VERSIONS = 3
MODEL_DIR_ENV = "MODEL_DIR"
SHIPPED_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
TRAINING_LOCK_FILE = ".training.lock"
STAGING_PREFIX = ".tmp-"  # staging folders: never a version, never loaded, never pruned by name
INPUT_SIZE = 28 * 28
CLASSES = 10
PIECE_CLASSES = 3  # whole digit, not writing, wrong cut

Loaded = TypeVar("Loaded")


class ModelError(Exception):
    """No usable model: missing, unreadable, or made for another preprocessing version."""


class TrainingBusy(Exception):
    """Another training run holds the models directory."""


def default_models_dir() -> Path:
    """``$MODEL_DIR`` if set, else the ``models/`` directory shipped with the code."""
    return Path(os.environ.get(MODEL_DIR_ENV) or SHIPPED_MODELS_DIR)


class ModelStore:
    """One models directory and its protocol; the only code that reads or writes ``CURRENT`` and ``PREVIOUS``.

    ``ModelStore(None)`` is ``$MODEL_DIR``, else the shipped ``models/``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else default_models_dir()

    def __repr__(self) -> str:
        return f"ModelStore({str(self.path)!r})"

    def current(self) -> str | None:
        """The version ``CURRENT`` names, or None when it names none."""
        return read_pointer(self.path, CURRENT_FILE)

    def current_dir(self) -> Path:
        """The folder of the version in use.

        Raises:
            ModelError: ``CURRENT`` is missing, unreadable, or names no published version.
        """
        return resolve_version_dir(self.path)

    def previous(self) -> str | None:
        """The version ``CURRENT`` replaced last, if its folder is still there (what /rollback returns to)."""
        version = read_pointer(self.path, PREVIOUS_FILE)
        return version if version is not None and (self.path / version).is_dir() else None

    def version_dir(self, version: str) -> Path:
        return self.path / version

    def versions(self) -> list[str]:
        """Published versions, oldest first (version names sort by time)."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.is_dir() and not p.name.startswith("."))

    def validate(self, version_dir: Path) -> dict[str, Any]:
        """The manifest of a version whose manifest, digit network and piece network load and answer.

        Raises:
            ModelError: one line naming the first problem found.
        """
        manifest = read_manifest(version_dir)
        load_classifier(version_dir, manifest)
        load_pieces(version_dir)
        return manifest

    @contextlib.contextmanager
    def publish(self, version: str, make_current: bool = True) -> Iterator[Path]:
        """Yield an empty staging folder; when the body returns, publish it as ``version`` (and make it current).

        The staging folder has a ``.tmp-`` name that loaders and pruning ignore. If the body raises, or
        the version does not load and answer (``validate``), it is removed and nothing else changes; a
        process killed meanwhile leaves only that folder. The version appears by one rename, and
        ``CURRENT`` switches by another, so a crash at any moment leaves a model in use.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{version}-", dir=self.path))
        stage.chmod(0o755)
        try:
            yield stage
            self.validate(stage)
            for file in stage.iterdir():
                fsync_file(file)
            final = self.version_dir(version)
            if final.exists():
                shutil.rmtree(final)
            os.replace(stage, final)
            _fsync_dir(self.path)
            if make_current:
                self._point(version)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        self.prune()

    def switch_to(self, version: str, load: Callable[[Path], Loaded]) -> Loaded:
        """Make ``version`` current (``PREVIOUS`` then names the one it replaces) once ``load`` accepts it.

        ``load`` (``Recognizer.load`` in practice) loads and checks the version first; when it raises
        ``ModelError`` nothing changes. Install after /train and /rollback both switch this way.
        """
        version_dir = self.version_dir(version)
        if not version_dir.is_dir():
            raise ModelError(f"There is no model {version} in {self.path}.")
        loaded = load(version_dir)
        self._point(version)
        return loaded

    def prune(self, keep: int = KEEP_VERSIONS) -> list[str]:
        """Delete all but the newest ``keep`` versions; the current and previous ones always stay."""
        protected = {read_pointer(self.path, CURRENT_FILE), read_pointer(self.path, PREVIOUS_FILE)}
        removed = [old for old in self.versions()[:-keep] if old not in protected]
        for old in removed:
            shutil.rmtree(self.path / old, ignore_errors=True)
        return removed

    def training_lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the directory for one training run; a second one gets ``TrainingBusy`` at once."""
        return training_lock(self.path)

    def _point(self, version: str) -> None:
        """``CURRENT`` to ``version`` and ``PREVIOUS`` to the version it named, each by atomic rename."""
        old = read_pointer(self.path, CURRENT_FILE)
        if old and old != version:
            self._write_pointer(PREVIOUS_FILE, old)
        self._write_pointer(CURRENT_FILE, version)

    def _write_pointer(self, name: str, version: str) -> None:
        pointer_tmp = self.path / f".{name}.tmp"
        pointer_tmp.write_text(version + "\n", encoding="utf-8")
        fsync_file(pointer_tmp)
        os.replace(pointer_tmp, self.path / name)
        _fsync_dir(self.path)


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
    10 classes, values that are not finite, a temperature or piece weight that is not a positive
    number, a calibration that is not one, or a forward pass on known inputs that does not give
    probabilities.

    Raises:
        ModelError: one line naming the first problem found.
    """
    validate_manifest(manifest, where)
    temperature = manifest.get("temperature", 1.0)
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


def validate_manifest(manifest: dict[str, Any], where: Path | str = "the model") -> None:
    """The manifest's serving settings: ``temperature`` and ``piece_weight`` positive numbers (1.0 when
    absent), ``calibration`` absent or the weights and bias ``recognizer.confidence`` reads.

    Raises:
        ModelError: one line naming the setting.
    """
    for name in ("temperature", "piece_weight"):
        value = manifest.get(name, 1.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise ModelError(f"The manifest in {where} has {name} {value!r}; it must be a number above 0.")
    try:
        calibration = Calibration.from_manifest(manifest)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"The manifest in {where} has a calibration that cannot be used: {_one_line(error)}") from None
    if not all(math.isfinite(w) for w in (*calibration.weights, calibration.bias)):
        raise ModelError(f"The manifest in {where} has a calibration with values that are not finite.")


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
