"""Train the dense model on (augmented) MNIST, evaluate it, and publish it into ``models/``.

Literate order, as in the keras-io examples: prepare the data, build the model, train, evaluate,
calibrate, export.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from recognizer.classifier import WEIGHTS_FILE
from recognizer.mnist_format import PREPROCESSING_VERSION
from recognizer.model_store import KERAS_FILE, MANIFEST_FILE
from training import report
from training.augment import augment_batch
from training.config import TrainConfig
from training.data import NUM_CLASSES, MnistData, split_validation
from training.synthetic import font_digits, style_digits

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    version_dir: Path
    manifest: dict[str, Any]


ProgressCallback = Callable[[dict[str, Any]], None]


def _epoch_line(info: dict[str, Any]) -> str:
    return (f"epoch {info['epoch']}/{info['epochs']}  loss {info['loss']:.4f}  acc {info['accuracy']:.4f}  "
            f"val_acc {info['val_accuracy']:.4f}  {info['epoch_seconds']:.1f}s  "
            f"~{info['seconds_left'] / 60:.1f} min left")


def calibrate_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature that minimises the negative log-likelihood on held-out data (Guo et al., 2017)."""
    best_t, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.5), np.log(5.0), 200)):
        scaled = logits.astype(np.float64) / t
        scaled -= scaled.max(axis=1, keepdims=True)
        log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        nll = -log_probs[np.arange(len(labels)), labels].mean()
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def evaluate(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Overall and per-digit accuracy and the confusion matrix (rows: true digit, columns: predicted)."""
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_digit = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {
        "accuracy": float((predicted == labels).mean()),
        "per_digit_accuracy": {str(d): round(float(a), 5) for d, a in enumerate(per_digit)},
        "confusion_matrix": confusion.tolist(),
    }


def train(data: MnistData, models_dir: Path, cfg: TrainConfig, on_epoch: ProgressCallback | None = None,
          start_from: Path | None = None, make_current: bool = True) -> TrainResult:
    """Train, evaluate and publish a new model version; return where it went and its manifest.

    ``start_from`` (a .keras file) fine-tunes that model instead of starting from random weights;
    ``make_current`` False publishes the version without putting it in use (a candidate).
    """
    import keras  # noqa: PLC0415 - keep `import training` cheap for the CLI's other commands

    from training.export import staged_version, to_dense_classifier  # noqa: PLC0415
    from training.model import build_model  # noqa: PLC0415

    started = time.monotonic()
    keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)

    # Prepare the data.
    x_train, y_train, x_val, y_val = split_validation(data, min(cfg.validation_size, len(data.x_train) // 5), cfg.seed)
    if cfg.limit:
        x_train, y_train = x_train[: cfg.limit], y_train[: cfg.limit]
    # Synthetic digits in shapes MNIST lacks, in proportion when training on a slice.
    scale = min(1.0, len(x_train) / 55_000)
    synthetic_counts = {}
    for name, make, per_class in (("font", font_digits, cfg.font_digits_per_class),
                                  ("style", style_digits, cfg.style_digits_per_class)):
        if per_class:
            extra_x, extra_y = make(max(1, int(per_class * scale)), cfg.seed)
            x_train, y_train = np.concatenate([x_train, extra_x]), np.concatenate([y_train, extra_y])
            synthetic_counts[name] = len(extra_x)
    weights = np.ones(len(x_train), np.float32)
    if cfg.extra_x is not None and len(cfg.extra_x):
        x_train = np.concatenate([x_train, cfg.extra_x])
        y_train = np.concatenate([y_train, cfg.extra_y])
        weights = np.concatenate([weights, np.full(len(cfg.extra_x), cfg.extra_weight, np.float32)])

    # Build the model.
    model = build_model(cfg.model)
    if start_from is not None:
        model.set_weights(keras.saving.load_model(start_from, compile=False).get_weights())
    steps_per_epoch = int(np.ceil(len(x_train) / cfg.batch_size))
    total_steps = steps_per_epoch * cfg.epochs
    warmup = min(steps_per_epoch, total_steps // 4)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=cfg.learning_rate / 10, decay_steps=max(total_steps - warmup, 1), alpha=0.01,
        warmup_target=cfg.learning_rate, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    # Train: the next epoch's augmented copy is prepared in a thread while this one trains.
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    x_val_float = x_val.astype(np.float32)
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(augment_batch, x_train, np.random.default_rng(rng.integers(2**63)), cfg.augment)
        for epoch in range(1, cfg.epochs + 1):
            epoch_start = time.monotonic()
            x_epoch = upcoming.result()
            if epoch < cfg.epochs:
                upcoming = pool.submit(augment_batch, x_train, np.random.default_rng(rng.integers(2**63)), cfg.augment)
            fit = model.fit(x_epoch, y_train, sample_weight=weights, batch_size=cfg.batch_size, epochs=1,
                            validation_data=(x_val_float, y_val), shuffle=True, verbose=0)
            for key in history:
                history[key].append(float(fit.history[key][-1]))
            elapsed = time.monotonic() - started
            info = {"epoch": epoch, "epochs": cfg.epochs, "loss": history["loss"][-1],
                    "accuracy": history["accuracy"][-1], "val_accuracy": history["val_accuracy"][-1],
                    "epoch_seconds": time.monotonic() - epoch_start,
                    "seconds_left": elapsed / epoch * (cfg.epochs - epoch)}
            log.info(_epoch_line(info))
            if on_epoch:
                on_epoch(info)
    training_seconds = time.monotonic() - started

    # Evaluate through the exported NumPy classifier: the numbers describe what is actually served.
    classifier = to_dense_classifier(model)
    test = evaluate(classifier.classify(data.x_test), data.y_test)
    val_distorted = augment_batch(x_val, np.random.default_rng(cfg.seed + 1), cfg.augment)
    temperature = calibrate_temperature(classifier.logits(val_distorted), y_val)
    log.info("test accuracy %.4f, calibrated temperature %.2f", test["accuracy"], temperature)

    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    hidden = list(cfg.model.hidden_units)
    manifest: dict[str, Any] = {
        "version": version,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "preprocessing_version": PREPROCESSING_VERSION,
        "test_accuracy": round(test["accuracy"], 5),
        "per_digit_accuracy": test["per_digit_accuracy"],
        "confusion_matrix": test["confusion_matrix"],
        "validation_accuracy": round(history["val_accuracy"][-1], 5),
        "temperature": round(temperature, 4),
        "architecture": {"layers": [784, *hidden, NUM_CLASSES], **asdict(cfg.model)},
        "parameter_count": classifier.parameter_count,
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "learning_rate": cfg.learning_rate,
        "seed": cfg.seed,
        "training_seconds": round(training_seconds, 1),
        "train_examples": int(len(x_train)),
        "font_examples": synthetic_counts.get("font", 0),
        "style_examples": synthetic_counts.get("style", 0),
        "extra_examples": int(0 if cfg.extra_x is None else len(cfg.extra_x)),
        "fine_tuned_from": None if start_from is None else start_from.parent.name,
        "train_data_sha256": data.train_sha256,
        "keras_version": keras.__version__,
        "history": history,
    }

    # Export: a copy of the model without optimizer state keeps the shipped .keras file small.
    with staged_version(models_dir, version, make_current=make_current) as stage:
        serving_model = build_model(cfg.model)
        serving_model.set_weights(model.get_weights())
        serving_model.save(stage / KERAS_FILE)
        classifier.save_npz(stage / WEIGHTS_FILE)
        (stage / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        report.plot_confusion(np.array(test["confusion_matrix"]), stage / "confusion.png",
                              title=f"MNIST test, accuracy {test['accuracy']:.2%}")
        report.plot_history(history, stage / "curves.png")
    return TrainResult(models_dir / version, manifest)
