"""``digitbot train`` / ``python -m training``: train, evaluate and publish a model."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from recognizer.model_store import ModelStore
from training.config import ModelConfig, TrainConfig
from training.data import DataError, load_mnist


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = parser or argparse.ArgumentParser(prog="digitbot train", description=__doc__)
    parser.add_argument("--data", help="MNIST .npz (Keras layout); default $MNIST_PATH, else Keras's download")
    parser.add_argument("--models-dir", type=Path, help="where to publish the model (default $MODEL_DIR or models/)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="makes a run repeatable")
    parser.add_argument("--limit", type=int, help="train on the first N digits only (quick checks)")
    parser.add_argument("--photos", type=int, default=defaults.photos,
                        help="synthetic photos whose cut-out pieces train the piece network (default %(default)s)")
    parser.add_argument("--validation-photos", type=int, default=defaults.validation_photos,
                        help="synthetic photos to validate the piece network (default %(default)s)")
    parser.add_argument("--calibration-photos", type=int, default=defaults.calibration_photos,
                        help="held-out synthetic photos to calibrate the confidence (default %(default)s)")
    parser.add_argument("--piece-epochs", type=int, default=defaults.piece_epochs,
                        help="epochs of the piece network (default %(default)s)")
    parser.add_argument("--reader-only", action="store_true",
                        help="keep the digit network of the model in use; train the piece network and the "
                             "calibration afresh (after a change in how photos are cut into pieces)")
    parser.add_argument("--hidden", type=_units, default=defaults.model.hidden_units,
                        help="hidden layer widths, comma-separated (default %(default)s)")
    return parser


def _units(text: str) -> tuple[int, ...]:
    try:
        units = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths such as 800,800, got {text!r}") from None
    if not units or min(units) < 1:
        raise argparse.ArgumentTypeError("every hidden layer needs at least one unit")
    return units


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stdout)
    if min(args.epochs, args.batch_size, args.photos, args.validation_photos, args.calibration_photos,
           args.piece_epochs) < 1:
        print("error: --epochs, --batch-size, --piece-epochs and the photo counts must be at least 1", file=sys.stderr)
        return 2
    try:
        data = load_mnist(args.data)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from training.train import retrain_reader, train  # noqa: PLC0415 - imports TensorFlow

    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, limit=args.limit,
                      model=ModelConfig(hidden_units=args.hidden), photos=args.photos,
                      validation_photos=args.validation_photos, calibration_photos=args.calibration_photos,
                      piece_epochs=args.piece_epochs)
    started = time.monotonic()
    store = ModelStore(args.models_dir)
    result = retrain_reader(data, store, cfg) if args.reader_only else train(data, store, cfg)
    manifest = result.manifest
    print(f"model {manifest['version']}: MNIST test accuracy {manifest['test_accuracy']:.2%}, "
          f"{manifest['parameter_count']:,} parameters, trained in {time.monotonic() - started:.0f} s; "
          f"written to {result.version_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
