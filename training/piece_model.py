"""The piece network: is a candidate piece a whole digit, not writing at all, or a wrong cut?

A dense network, like the digit network, over the piece's MNIST pixels and its description
(``recognizer.segment``). It learns from the labelled pieces of synthetic photos
(``training.pieces``), so what counts as a separator, a speck, a shadow, half a digit or two touching
digits is learned from data rather than written as thresholds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from recognizer.classifier import PieceClassifier, piece_inputs
from training.pieces import CLASS_NAMES, LabelledPieces

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PieceConfig:
    hidden_units: tuple[int, ...] = (384, 256)
    dropout: float = 0.3
    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 1.5e-3
    seed: int = 1


def standardiser(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of each feature (a spread of at least 1e-3, so constant features stay finite)."""
    return features.mean(axis=0).astype(np.float32), np.maximum(features.std(axis=0), 1e-3).astype(np.float32)


def train_piece_network(train: LabelledPieces, val: LabelledPieces, cfg: PieceConfig = PieceConfig(),
                        on_epoch=None) -> tuple[PieceClassifier, dict]:
    """Fit the piece network; return it (BatchNorm folded, for NumPy serving) and its validation figures."""
    import keras  # noqa: PLC0415 - TensorFlow only where training happens
    from keras import layers  # noqa: PLC0415

    from training.export import to_dense_classifier  # noqa: PLC0415

    keras.utils.set_random_seed(cfg.seed)
    mean, std = standardiser(train.features)
    x_train = piece_inputs(train.mnist, train.features, mean, std)
    x_val = piece_inputs(val.mnist, val.features, mean, std)
    y_train, y_val = train.kind.astype(np.int64), val.kind.astype(np.int64)

    inputs = keras.Input(shape=(x_train.shape[1],), name="piece")
    x = inputs
    for index, units in enumerate(cfg.hidden_units):
        x = layers.Dense(units, use_bias=False, name=f"dense_{index}")(x)
        x = layers.BatchNormalization(name=f"norm_{index}")(x)
        x = layers.Activation("relu")(x)
        x = layers.Dropout(cfg.dropout)(x)
    outputs = layers.Dense(len(CLASS_NAMES), activation="softmax", name="kind")(x)
    model = keras.Model(inputs, outputs, name="digitbot_pieces")
    steps = int(np.ceil(len(x_train) / cfg.batch_size)) * cfg.epochs
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    started = time.monotonic()
    for epoch in range(1, cfg.epochs + 1):
        fit = model.fit(x_train, y_train, batch_size=cfg.batch_size, epochs=1, verbose=0, shuffle=True,
                        validation_data=(x_val, y_val))
        log.info("piece network epoch %d/%d: loss %.4f, val_acc %.4f (%.0f s)", epoch, cfg.epochs,
                 fit.history["loss"][-1], fit.history["val_accuracy"][-1], time.monotonic() - started)
        if on_epoch:
            on_epoch(epoch, cfg.epochs)
    network = PieceClassifier(to_dense_classifier(model), mean, std)
    predicted = network.classify(val.mnist, val.features).argmax(axis=1)
    confusion = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), np.int64)
    np.add.at(confusion, (y_val, predicted), 1)
    figures = {"validation_accuracy": round(float((predicted == y_val).mean()), 5),
               "classes": list(CLASS_NAMES), "confusion_matrix": confusion.tolist(),
               "train_pieces": int(len(y_train)), "validation_pieces": int(len(y_val))}
    return network, figures
