"""Settings of a training run, kept free of TensorFlow so the CLI can parse arguments cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from training.augment import AugmentConfig


@dataclass(frozen=True)
class ModelConfig:
    """Shape and regularisation of the network; defaults measured in bench/train_accuracy.py."""

    hidden_units: tuple[int, ...] = (512, 512)
    dropout: float = 0.2
    input_dropout: float = 0.1


@dataclass
class TrainConfig:
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 2e-3
    validation_size: int = 5000
    seed: int = 1
    limit: int | None = None  # train on the first N digits only (tests, quick experiments)
    # Font-drawn digits per class added to training (training/synthetic.py); 0 turns them off.
    font_digits_per_class: int = 500
    # Hand-drawn styles MNIST lacks (flagged 1, closed 4, crossed 7) per styled digit; 0 turns them off.
    style_digits_per_class: int = 1500
    # Synthetic photos of numbers whose cut-out pieces teach the piece network (and the digit network
    # the leftovers of real segmentation), photos to validate it, and photos to calibrate the confidence.
    photos: int = 10000
    validation_photos: int = 1500
    calibration_photos: int = 1500
    piece_epochs: int = 10
    workers: int = 2  # processes that render and cut the synthetic photos
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # Extra labelled samples (e.g. photos users corrected) and how much each counts relative to MNIST:
    # one weight for all, or one per sample (corrections weigh more than confirmations).
    extra_x: np.ndarray | None = None
    extra_y: np.ndarray | None = None
    extra_weight: float | np.ndarray = 1.0
