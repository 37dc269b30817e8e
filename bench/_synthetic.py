"""What the benches over synthetic photos share: their options, the digits they write with, the recognizer."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench._common import mnist_path
from recognizer import Recognizer
from training.data import load_mnist
from training.numbers import GlyphSource


def mnist_test_digits() -> GlyphSource:
    """MNIST's *test* digits, which no model here trained on, to write the synthetic numbers with."""
    data = load_mnist(mnist_path())
    return GlyphSource(data.x_test, data.y_test)


def synthetic_setup(description: str, photos: int, seed: int) -> tuple[argparse.Namespace, GlyphSource, Recognizer]:
    """The options (--photos, --seed, --models-dir), the MNIST *test* digits to write with, and the
    recognizer to measure (the models directory's current model)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=photos)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--models-dir", type=Path)
    args = parser.parse_args()
    return args, mnist_test_digits(), Recognizer.load(args.models_dir)
