"""Turn a trained Keras model into the NumPy weights the serving path loads, and publish it atomically.

A model version is a directory ``models/<version>/``; ``models/CURRENT`` names the one in use. A new
version is written under a temporary name, renamed into place in one step, and only then does
``CURRENT`` switch (also by rename), so a crash or kill at any moment leaves the old model in use.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np

from recognizer.classifier import DenseClassifier
from recognizer.model_store import (
    CURRENT_FILE,
    KEEP_VERSIONS,
    PREVIOUS_FILE,
    fsync_file,
    load_classifier,
    load_pieces,
    read_manifest,
    read_pointer,
    set_current,
)


def to_dense_classifier(model: keras.Model) -> DenseClassifier:
    """Fold BatchNorm into the preceding Dense layer and drop the layers that only act in training."""
    kernels: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    input_scale = 1.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Rescaling):
            if kernels or float(layer.offset) != 0.0:
                raise ValueError("only a leading Rescaling without offset can be exported")
            input_scale = float(layer.scale)
        elif isinstance(layer, keras.layers.Dense):
            kernel = np.asarray(layer.kernel.numpy(), np.float64)
            bias = np.asarray(layer.bias.numpy(), np.float64) if layer.use_bias else np.zeros(kernel.shape[1])
            kernels.append(kernel)
            biases.append(bias)
        elif isinstance(layer, keras.layers.BatchNormalization):
            gamma = layer.gamma.numpy() if layer.scale else 1.0
            beta = layer.beta.numpy() if layer.center else 0.0
            factor = gamma / np.sqrt(layer.moving_variance.numpy() + layer.epsilon)
            kernels[-1] = kernels[-1] * factor
            biases[-1] = (biases[-1] - layer.moving_mean.numpy()) * factor + beta
        elif not isinstance(layer, (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Dropout,
                                    keras.layers.Activation)):
            raise ValueError(f"layer {layer.name} ({type(layer).__name__}) has no NumPy equivalent")
    return DenseClassifier(kernels, biases, input_scale)


@contextlib.contextmanager
def staged_version(models_dir: Path, version: str, make_current: bool = True) -> Iterator[Path]:
    """Yield an empty staging directory; on success publish it as ``version`` (and make it current).

    If the body raises (or the process dies) the staging directory is removed or left under a
    ``.tmp-`` name that loaders ignore, and ``CURRENT`` is untouched. A version whose weights do not
    load and answer (``load_classifier``) is never published.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=models_dir))
    stage.chmod(0o755)
    try:
        yield stage
        manifest = read_manifest(stage)  # any ModelError below: nothing is published
        load_classifier(stage, manifest)
        load_pieces(stage)
        for file in stage.iterdir():
            fsync_file(file)
        final = models_dir / version
        if final.exists():
            shutil.rmtree(final)
        os.replace(stage, final)
        if make_current:
            set_current(models_dir, version)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    prune_old_versions(models_dir)


def prune_old_versions(models_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    """Delete all but the newest ``keep`` versions; the current and previous ones always stay."""
    protected = {read_pointer(models_dir, name) for name in (CURRENT_FILE, PREVIOUS_FILE)}
    versions = sorted(p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in versions[:-keep]:
        if old.name not in protected:
            shutil.rmtree(old, ignore_errors=True)
