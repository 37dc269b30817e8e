"""Train the reader (the digit network, the piece network, their calibration) and publish it into ``models/``.

Literate order, as in the keras-io examples: prepare the data, build the model, train, evaluate,
calibrate, export. The digit network learns MNIST, synthetic styles and the whole digits the
recognizer cut out of synthetic photos; the piece network learns which pieces are digits at all;
both are calibrated on held-out synthetic photos written with MNIST's validation digits.
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

from recognizer import charts
from recognizer.classifier import PIECES_FILE, WEIGHTS_FILE, DenseClassifier, PieceClassifier
from recognizer.confidence import Calibration
from recognizer.evaluation import confusion_matrix, per_digit_accuracy
from recognizer.mnist_format import PREPROCESSING_VERSION
from recognizer.model_store import (
    CONFUSION_PICTURE,
    CURVES_PICTURE,
    KERAS_FILE,
    MANIFEST_FILE,
    ModelStore,
    load_classifier,
    read_manifest,
)
from training.augment import augment_batch
from training.config import TrainConfig
from training.contract import Epoch
from training.data import NUM_CLASSES, MnistData, split_validation
from training.pieces import DIGIT, LabelledPieces, make_pieces
from training.synthetic import font_digits, style_digits

log = logging.getLogger(__name__)
ProgressCallback = Callable[[Epoch], None]


@dataclass
class TrainResult:
    version_dir: Path
    manifest: dict[str, Any]


@dataclass
class DigitSet:
    """What the digit network learns from, and what it is validated on."""

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    counts: dict[str, int]


@dataclass
class Reader:
    """The piece network and how its belief is weighed and calibrated (new, or carried from a model)."""

    pieces: PieceClassifier
    piece_weight: float
    calibration: Calibration
    figures: dict[str, Any]


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
    confusion = confusion_matrix(labels, predicted)
    per_digit = per_digit_accuracy(confusion)
    return {
        "accuracy": float((predicted == labels).mean()),
        "per_digit_accuracy": {str(d): round(per_digit.get(d, 0.0), 5) for d in range(NUM_CLASSES)},
        "confusion_matrix": confusion.tolist(),
    }


def prepare_digits(data: MnistData, cfg: TrainConfig, segmented: LabelledPieces | None) -> DigitSet:
    """MNIST's training split, font and style digits, segmented whole digits, and extra (feedback) samples."""
    x, y, x_val, y_val = split_validation(data, cfg.validation_size, cfg.seed)
    if cfg.limit:
        x, y = x[: cfg.limit], y[: cfg.limit]
    scale = min(1.0, len(x) / 55_000)  # synthetic digits in proportion when training on a slice
    counts: dict[str, int] = {"mnist": len(x)}
    parts_x, parts_y = [x], [y]
    for name, make, per_class in (("font", font_digits, cfg.font_digits_per_class),
                                  ("style", style_digits, cfg.style_digits_per_class)):
        if per_class:
            extra_x, extra_y = make(max(1, int(per_class * scale)), cfg.seed)
            parts_x.append(extra_x)
            parts_y.append(extra_y)
            counts[name] = len(extra_x)
    if segmented is not None:
        whole = segmented.kind == DIGIT
        parts_x.append(segmented.mnist[whole])
        parts_y.append(segmented.digit[whole].astype(np.int64))
        counts["segmented"] = int(whole.sum())
    x, y = np.concatenate(parts_x), np.concatenate(parts_y)
    weights = np.ones(len(x), np.float32)
    if cfg.extra_x is not None and len(cfg.extra_x):
        x, y = np.concatenate([x, cfg.extra_x]), np.concatenate([y, cfg.extra_y])
        extra_weights = np.broadcast_to(np.asarray(cfg.extra_weight, np.float32), (len(cfg.extra_x),))
        weights = np.concatenate([weights, extra_weights])
        counts["extra"] = len(cfg.extra_x)
    return DigitSet(x, y, weights, x_val, y_val, counts)


def build_digit_model(cfg: TrainConfig, samples: int, start_from: Path | None):
    """The dense digit network, compiled with Adam, warm-up and cosine decay; fine-tuned if ``start_from``."""
    import keras  # noqa: PLC0415 - keep `import training` cheap for the CLI's other commands

    from training.model import build_model  # noqa: PLC0415

    model = build_model(cfg.model)
    if start_from is not None:
        model.set_weights(keras.saving.load_model(start_from, compile=False).get_weights())
    steps_per_epoch = int(np.ceil(samples / cfg.batch_size))
    total_steps = steps_per_epoch * cfg.epochs
    warmup = min(steps_per_epoch, total_steps // 4)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=cfg.learning_rate / 10, decay_steps=max(total_steps - warmup, 1), alpha=0.01,
        warmup_target=cfg.learning_rate, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def fit_digit_model(model, digits: DigitSet, cfg: TrainConfig, on_epoch: ProgressCallback | None) -> dict:
    """Train epoch by epoch on fresh augmentation, prepared in a thread while the previous epoch trains."""
    rng = np.random.default_rng(cfg.seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    x_val = digits.x_val.astype(np.float32)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        def next_epoch():
            return pool.submit(augment_batch, digits.x, np.random.default_rng(rng.integers(2**63)), cfg.augment)

        upcoming = next_epoch()
        for epoch in range(1, cfg.epochs + 1):
            epoch_start = time.monotonic()
            x_epoch = upcoming.result()
            if epoch < cfg.epochs:
                upcoming = next_epoch()
            fit = model.fit(x_epoch, digits.y, sample_weight=digits.weights, batch_size=cfg.batch_size, epochs=1,
                            validation_data=(x_val, digits.y_val), shuffle=True, verbose=0)
            for key in history:
                history[key].append(float(fit.history[key][-1]))
            info = Epoch(epoch=epoch, epochs=cfg.epochs, loss=round(history["loss"][-1], 5),
                         accuracy=round(history["accuracy"][-1], 5), val_accuracy=round(history["val_accuracy"][-1], 5),
                         epoch_seconds=round(time.monotonic() - epoch_start, 5),
                         seconds_left=round((time.monotonic() - started) / epoch * (cfg.epochs - epoch), 5))
            log.info("epoch %d/%d  loss %.4f  acc %.4f  val_acc %.4f  %.1fs  ~%.1f min left", epoch, cfg.epochs,
                     info.loss, info.accuracy, info.val_accuracy, info.epoch_seconds, info.seconds_left / 60)
            if on_epoch:
                on_epoch(info)
    return history


def training_pieces(data: MnistData, cfg: TrainConfig) -> LabelledPieces:
    """The labelled pieces the piece network learns: ``cfg.photos`` synthetic photos written with the
    training split's digits (the validation digits stay for validating and calibrating)."""
    x, y, _, _ = split_validation(data, cfg.validation_size, cfg.seed)
    return make_pieces(x, y, cfg.photos, cfg.seed, workers=cfg.workers)


def train_reader(data: MnistData, cfg: TrainConfig, classifier: DenseClassifier, temperature: float,
                 train_pieces: LabelledPieces) -> Reader:
    """Fit the piece network, then choose the piece weight and the confidence map on held-out photos."""
    from recognizer.recognizer import Recognizer  # noqa: PLC0415
    from training.calibrate import calibrate, calibration_photos  # noqa: PLC0415
    from training.piece_model import PieceConfig, train_piece_network  # noqa: PLC0415

    _, _, x_val, y_val = split_validation(data, cfg.validation_size, cfg.seed)
    val_pieces = make_pieces(x_val, y_val, cfg.validation_photos, cfg.seed + 1, workers=cfg.workers)
    pieces, figures = train_piece_network(train_pieces, val_pieces, PieceConfig(epochs=cfg.piece_epochs,
                                                                              seed=cfg.seed))
    reader = Recognizer(classifier, {"temperature": temperature}, None, pieces)
    photos = calibration_photos(data, cfg, cfg.calibration_photos)
    weight, calibration, calibration_figures = calibrate(reader, photos)
    log.info("piece network: validation accuracy %.4f; piece weight %.2f, held-out photos read exactly %.1f%%",
             figures["validation_accuracy"], weight, 100 * calibration_figures["exact"])
    return Reader(pieces, weight, calibration, {"piece_network": figures, "calibration": calibration_figures})


def carried_reader(version_dir: Path) -> Reader:
    """The piece network and calibration of an existing model, for fine-tuning its digit network only."""
    manifest = read_manifest(version_dir)
    return Reader(PieceClassifier.from_npz(version_dir / PIECES_FILE), float(manifest.get("piece_weight", 1.0)),
                  Calibration.from_manifest(manifest), {"carried_from": version_dir.name})


def train(data: MnistData, store: ModelStore, cfg: TrainConfig, on_epoch: ProgressCallback | None = None,
          start_from: Path | None = None, make_current: bool = True) -> TrainResult:
    """Train, evaluate and publish a new model version; return where it went and its manifest.

    ``start_from`` (a .keras file in a version directory) fine-tunes that model's digit network and
    keeps its piece network and calibration; ``make_current`` False publishes without putting it in use.
    """
    import keras  # noqa: PLC0415

    from training.export import to_dense_classifier  # noqa: PLC0415

    started = time.monotonic()
    keras.utils.set_random_seed(cfg.seed)
    fresh = start_from is None
    train_pieces = None
    if fresh:
        train_pieces = training_pieces(data, cfg)
    digits = prepare_digits(data, cfg, train_pieces)
    model = build_digit_model(cfg, len(digits.x), start_from)
    history = fit_digit_model(model, digits, cfg, on_epoch)
    classifier = to_dense_classifier(model)
    test = evaluate(classifier.classify(data.x_test), data.y_test)
    val_distorted = augment_batch(digits.x_val, np.random.default_rng(cfg.seed + 1), cfg.augment)
    temperature = calibrate_temperature(classifier.logits(val_distorted), digits.y_val)
    log.info("test accuracy %.4f, calibrated temperature %.2f", test["accuracy"], temperature)
    if train_pieces is not None:
        reader = train_reader(data, cfg, classifier, temperature, train_pieces)
    else:
        assert start_from is not None
        reader = carried_reader(start_from.parent)
    manifest = _manifest(data, cfg, test, history, temperature, reader, digits, classifier, start_from,
                         time.monotonic() - started)
    version_dir = publish(store, manifest, model, classifier, reader, cfg, make_current)
    return TrainResult(version_dir, manifest)


def retrain_reader(data: MnistData, store: ModelStore, cfg: TrainConfig, make_current: bool = True) -> TrainResult:
    """Keep the digit network of the model in use; train its piece network and calibration afresh.

    For a change in how photos are cut into pieces: the piece network must learn the new pieces, while
    the digit network reads whole digits as before. Costs the synthetic photos and the piece network
    (about an hour on two cores), not the digit network's 40 epochs.
    """
    from training.calibrate import publish_revision  # noqa: PLC0415

    started = time.monotonic()
    source = store.current_dir()
    manifest = read_manifest(source)
    classifier = load_classifier(source, manifest)
    reader = train_reader(data, cfg, classifier, float(manifest.get("temperature", 1.0)), training_pieces(data, cfg))
    manifest.pop("recalibrated_from", None)
    manifest.update(piece_weight=reader.piece_weight, calibration=reader.calibration.to_manifest(),
                    reader=reader.figures, reader_retrained_from=source.name, synthetic_photos=cfg.photos,
                    piece_parameter_count=reader.pieces.network.parameter_count,
                    reader_training_seconds=round(time.monotonic() - started, 1))
    version_dir = publish_revision(store, source, manifest, make_current, reader.pieces)
    return TrainResult(version_dir, manifest)


def _manifest(data: MnistData, cfg: TrainConfig, test: dict, history: dict, temperature: float, reader: Reader,
              digits: DigitSet, classifier: DenseClassifier, start_from: Path | None, seconds: float) -> dict:
    import keras  # noqa: PLC0415

    now = dt.datetime.now(dt.timezone.utc)
    return {
        "version": now.strftime("%Y%m%dT%H%M%SZ"),
        "created_at": now.isoformat(timespec="seconds"),
        "preprocessing_version": PREPROCESSING_VERSION,
        "test_accuracy": round(test["accuracy"], 5),
        "per_digit_accuracy": test["per_digit_accuracy"],
        "confusion_matrix": test["confusion_matrix"],
        "validation_accuracy": round(history["val_accuracy"][-1], 5),
        "temperature": round(temperature, 4),
        "piece_weight": reader.piece_weight,
        "calibration": reader.calibration.to_manifest(),
        "reader": reader.figures,
        "architecture": {"layers": [784, *cfg.model.hidden_units, NUM_CLASSES], **asdict(cfg.model)},
        "parameter_count": classifier.parameter_count,
        "piece_parameter_count": reader.pieces.network.parameter_count,
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "learning_rate": cfg.learning_rate,
        "seed": cfg.seed,
        "training_seconds": round(seconds, 1),
        "train_examples": int(len(digits.x)),
        "examples": digits.counts,
        "synthetic_photos": cfg.photos if start_from is None else 0,
        "fine_tuned_from": None if start_from is None else start_from.parent.name,
        "train_data_sha256": data.train_sha256,
        "keras_version": keras.__version__,
        "history": history,
    }


def publish(store: ModelStore, manifest: dict, model, classifier: DenseClassifier, reader: Reader,
            cfg: TrainConfig, make_current: bool) -> Path:
    """Write the version folder (a copy of the model without optimizer state keeps the .keras file small)."""
    from training.model import build_model  # noqa: PLC0415

    with store.publish(manifest["version"], make_current=make_current) as stage:
        serving_model = build_model(cfg.model)
        serving_model.set_weights(model.get_weights())
        serving_model.save(stage / KERAS_FILE)
        classifier.save_npz(stage / WEIGHTS_FILE)
        reader.pieces.save_npz(stage / PIECES_FILE)
        (stage / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        charts.plot_confusion(np.array(manifest["confusion_matrix"]), stage / CONFUSION_PICTURE,
                              title=f"MNIST test, accuracy {manifest['test_accuracy']:.2%}")
        charts.plot_history(manifest["history"], stage / CURVES_PICTURE)
    return store.version_dir(manifest["version"])

