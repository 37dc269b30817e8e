"""Load MNIST from a file (or Keras's download), check it, and split off a validation set."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MNIST_PATH_ENV = "MNIST_PATH"
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)


class DataError(Exception):
    """The training data could not be loaded or is not MNIST-shaped; the message says how to fix it."""


@dataclass(frozen=True)
class MnistData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def train_sha256(self) -> str:
        """Hash of the training arrays themselves, so the same data hashes alike in any container."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.x_train).tobytes())
        digest.update(np.ascontiguousarray(self.y_train).tobytes())
        return digest.hexdigest()


def validate(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
             source: str) -> MnistData:
    """Refuse anything that is not MNIST-shaped uint8 images with labels 0-9."""
    problems = []
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
            problems.append(f"x_{name} has shape {x.shape}, expected (N, 28, 28)")
        if x.dtype != np.uint8:
            problems.append(f"x_{name} has dtype {x.dtype}, expected uint8")
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            problems.append(f"y_{name} has shape {y.shape}, expected ({x.shape[0]},)")
        elif y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= NUM_CLASSES):
            problems.append(f"y_{name} must hold integer labels 0-9")
        if x.shape[0] == 0:
            problems.append(f"x_{name} is empty")
    if problems:
        raise DataError(f"{source} is not usable MNIST data: " + "; ".join(problems) + ".")
    return MnistData(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64), source)


def load_mnist(path: str | os.PathLike[str] | None = None) -> MnistData:
    """Load MNIST from ``path``, else ``$MNIST_PATH``, else Keras's download (needs internet).

    Raises:
        DataError: with one paragraph saying what was tried and how to fix it.
    """
    chosen = path or os.environ.get(MNIST_PATH_ENV)
    if chosen:
        file = Path(chosen).expanduser()
        if not file.is_file():
            raise DataError(
                f"No MNIST file at {file}. Pass --data PATH or set {MNIST_PATH_ENV} to an .npz with the arrays "
                "x_train, y_train, x_test, y_test (Keras's mnist.npz layout)."
            )
        try:
            with np.load(file, allow_pickle=False) as archive:
                arrays = [archive[key] for key in ("x_train", "y_train", "x_test", "y_test")]
        except KeyError as missing:
            raise DataError(f"{file} lacks the array {missing}; expected x_train, y_train, x_test, y_test.") from None
        except (OSError, ValueError) as error:
            raise DataError(f"{file} could not be read as an .npz archive ({error}). Re-download mnist.npz.") from None
        return validate(*arrays, source=str(file))
    try:
        from keras.datasets import mnist  # noqa: PLC0415 - TensorFlow is heavy; only the download path needs it

        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except Exception as error:  # the download fails in many ways (DNS, proxy, TLS); all get one message
        raise DataError(
            f"MNIST could not be loaded: no --data path was given, {MNIST_PATH_ENV} is not set, and Keras's "
            f"download failed ({type(error).__name__}: {error}). Download mnist.npz on a machine with internet "
            f"and pass --data PATH or set {MNIST_PATH_ENV}."
        ) from None
    return validate(x_train, y_train, x_test, y_test, source="keras.datasets.mnist")


def keras_cache_file() -> Path:
    """Where Keras keeps its MNIST download: ``$KERAS_HOME/datasets/mnist.npz``, by default under ~/.keras."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets" / "mnist.npz"


def locate_mnist(path: str | os.PathLike[str] | None = None) -> Path:
    """The MNIST file training would use, in training's order: ``path``, ``$MNIST_PATH``, Keras's cache,
    then Keras's download (which fills that cache).

    Raises:
        DataError: none of them worked; the message says what was tried and how to fix it.
    """
    chosen = path or os.environ.get(MNIST_PATH_ENV)
    if chosen:
        file = Path(chosen).expanduser()
        if not file.is_file():
            raise DataError(f"{MNIST_PATH_ENV} is {file}, which does not exist. Point {MNIST_PATH_ENV} at "
                            "mnist.npz (Keras's layout), or unset it to use Keras's cache or download.")
        return file
    cached = keras_cache_file()
    if cached.is_file():
        return cached
    try:
        from keras.datasets import mnist  # noqa: PLC0415 - TensorFlow is heavy; only the download path needs it

        mnist.load_data()
    except Exception as error:  # the download fails in many ways (DNS, proxy, TLS); all get one message
        raise DataError(
            f"MNIST not found: {MNIST_PATH_ENV} is not set, {cached} does not exist, and Keras's download failed "
            f"({type(error).__name__}: {' '.join(str(error).split())[:200]}). Fix: set {MNIST_PATH_ENV} to an "
            f"mnist.npz, or copy one to {cached}, or allow the download.") from None
    if not cached.is_file():
        raise DataError(f"Keras downloaded MNIST but not to {cached}; set {MNIST_PATH_ENV} to the file.")
    return cached


def split_validation(data: MnistData, size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out ``size`` training digits (stratified by nothing but a seeded shuffle) for validation.

    At most a fifth of them, so that a small slice (``--limit``, the tests) still trains on most.
    """
    size = min(size, len(data.x_train) // 5)
    order = np.random.default_rng(seed).permutation(len(data.x_train))
    val, train = order[:size], order[size:]
    return data.x_train[train], data.y_train[train], data.x_train[val], data.y_train[val]
