"""The dense network's forward pass in NumPy, so serving never imports TensorFlow.

Measured here: importing TensorFlow costs ~3 s and ~550 MB and ``model.predict`` ~45 ms per photo,
while this forward pass takes well under a millisecond (bench/latency.py has the figures). ONNX
Runtime or LiteRT would add a dependency of tens of MB for a network that is four matrix products.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WEIGHTS_FILE = "weights.npz"


class DenseClassifier:
    """ReLU hidden layers and a softmax output, with BatchNorm already folded into the weights."""

    def __init__(self, kernels: list[np.ndarray], biases: list[np.ndarray], input_scale: float) -> None:
        if len(kernels) != len(biases) or not kernels:
            raise ValueError("need one bias per kernel and at least one layer")
        self.kernels = [np.ascontiguousarray(k, dtype=np.float32) for k in kernels]
        self.biases = [np.asarray(b, dtype=np.float32) for b in biases]
        self.input_scale = np.float32(input_scale)

    @classmethod
    def from_npz(cls, path: str | Path) -> DenseClassifier:
        """Load the weights written by ``training.export``."""
        with np.load(path, allow_pickle=False) as archive:
            count = int(archive["layer_count"])
            kernels = [archive[f"kernel_{i}"] for i in range(count)]
            biases = [archive[f"bias_{i}"] for i in range(count)]
            return cls(kernels, biases, float(archive["input_scale"]))

    def save_npz(self, path: str | Path) -> None:
        """Write the weights in the layout ``from_npz`` reads."""
        arrays = {f"kernel_{i}": k for i, k in enumerate(self.kernels)}
        arrays.update({f"bias_{i}": b for i, b in enumerate(self.biases)})
        with open(path, "wb") as handle:
            np.savez(handle, layer_count=np.int64(len(self.kernels)), input_scale=self.input_scale, **arrays)

    @property
    def parameter_count(self) -> int:
        return int(sum(k.size + b.size for k, b in zip(self.kernels, self.biases)))

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Pre-softmax scores (N, 10) for MNIST-format images (N, 28, 28), 0-255 white ink on black."""
        x = rows_of_four(np.asarray(images, dtype=np.float32).reshape(len(images), -1) * self.input_scale)
        for kernel, bias in zip(self.kernels[:-1], self.biases[:-1]):
            x = np.maximum(x @ kernel + bias, 0.0)
        return (x @ self.kernels[-1] + self.biases[-1])[: len(images)]

    def classify(self, images: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Probabilities (N, 10), float32; ``temperature`` > 1 softens over-confident answers."""
        return softmax(self.logits(images) / np.float32(temperature))


def rows_of_four(x: np.ndarray) -> np.ndarray:
    """``x`` with zero rows added up to a multiple of four rows (one row stays one: a vector product).

    OpenBLAS's single-precision kernels work on four rows at a time and take a slower path for the rest:
    3 or 7 rows cost up to twice what 4 or 8 do (bench/matrix_rows.py). The padded rows' outputs are dropped.
    """
    rows = len(x)
    padded = -(-rows // 4) * 4
    if rows <= 1 or padded == rows:
        return x
    return np.concatenate([x, np.zeros((padded - rows, x.shape[1]), x.dtype)])


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis, in float32."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted, dtype=np.float32)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


PIECES_FILE = "pieces.npz"


class PieceClassifier:
    """Whether a candidate piece is a whole digit, not writing at all, or a wrong cut (three probabilities).

    A dense network over the piece's MNIST pixels (scaled to 0-1) and its description from
    ``recognizer.segment`` (standardised with the training set's mean and spread, stored alongside).
    """

    def __init__(self, network: DenseClassifier, feature_mean: np.ndarray, feature_std: np.ndarray) -> None:
        self.network = network
        self.feature_mean = np.asarray(feature_mean, np.float32)
        self.feature_std = np.asarray(feature_std, np.float32)

    @classmethod
    def from_npz(cls, path: str | Path) -> PieceClassifier:
        with np.load(path, allow_pickle=False) as archive:
            count = int(archive["layer_count"])
            network = DenseClassifier([archive[f"kernel_{i}"] for i in range(count)],
                                      [archive[f"bias_{i}"] for i in range(count)], 1.0)
            return cls(network, archive["feature_mean"], archive["feature_std"])

    def save_npz(self, path: str | Path) -> None:
        arrays = {f"kernel_{i}": k for i, k in enumerate(self.network.kernels)}
        arrays.update({f"bias_{i}": b for i, b in enumerate(self.network.biases)})
        with open(path, "wb") as handle:
            np.savez(handle, layer_count=np.int64(len(self.network.kernels)), feature_mean=self.feature_mean,
                     feature_std=self.feature_std, **arrays)

    def classify(self, images: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Probabilities (N, 3): whole digit, not writing, wrong cut."""
        if len(images) == 0:
            return np.zeros((0, 3), np.float32)
        return self.network.classify(piece_inputs(images, features, self.feature_mean, self.feature_std))


def piece_inputs(images: np.ndarray, features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The piece network's input rows: pixels in 0-1, then the description standardised by ``mean``, ``std``."""
    pixels = np.asarray(images, np.float32).reshape(len(images), -1) / np.float32(255.0)
    described = (np.asarray(features, np.float32) - mean) / std
    return np.concatenate([pixels, described], axis=1)
