"""The ``digitbot`` command: ``train``, ``predict`` and ``run`` subcommands, one for each package.

It sits above ``training``, ``recognizer`` and ``bot`` so none of them imports another's command
line. Each subcommand imports its heavy parts only when chosen, so ``digitbot predict`` never loads
TensorFlow and ``digitbot run`` starts in about a second.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from bot.__main__ import build_parser as run_parser
from digitbot.predict import build_parser as predict_parser
from training.__main__ import build_parser as train_parser

EPILOG = """exit codes: 0 done; 1 predict: no file could be read; 2 a wrong command line or setting;
3-5 run: see the README (data directory, model, Telegram unreachable); 4 predict: the model cannot be used"""

TRAIN_DESCRIPTION = """Train the dense network on MNIST (plus synthetic digits) and publish it as a new version in
the models directory; the bot and `digitbot predict` use it from then on. The defaults take
about an hour on 2 cores, `--reader-only` half an hour; `--epochs 1 --photos 500` makes a quick run."""
PREDICT_DESCRIPTION = """Read the handwritten digits or number in each photo: one line per file, in order, a file
that cannot be read as "FILE: error: why". Exit code 1 when no file could be read."""
RUN_DESCRIPTION = """Start the Telegram bot (long polling, or a webhook when WEBHOOK_URL is set). Settings come from
the environment and an optional .env file (see .env.example)."""


def version() -> str:
    """The installed distribution's version (the source tree's pyproject.toml when run from a checkout)."""
    try:
        return metadata.version("digitbot")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _clarify_train_options(parser: argparse.ArgumentParser) -> None:
    """Help and defaults for training's options that lack them (training/__main__.py defines the options)."""
    helps = {"epochs": "passes over the training data (default %(default)s)",
             "batch_size": "digits per training step (default %(default)s)"}
    for action in parser._actions:  # argparse keeps the options here; there is no public accessor
        if action.dest in helps and not action.help:
            action.help = helps[action.dest]
        elif action.dest == "hidden" and isinstance(action.default, tuple):
            action.help = (action.help or "").replace("(default %(default)s)", "").rstrip() + \
                f" (default {','.join(map(str, action.default))})"


def build_parser() -> argparse.ArgumentParser:
    """The command line, with a description and exit codes under --help."""
    parser = argparse.ArgumentParser(prog="digitbot", description="Read handwritten digits from photos.",
                                     epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,predict,run}")
    formatter = argparse.RawDescriptionHelpFormatter
    train = commands.add_parser("train", help="train the dense model and publish it into the models directory",
                                description=TRAIN_DESCRIPTION, formatter_class=formatter)
    train_parser(train)
    _clarify_train_options(train)
    predict_parser(commands.add_parser("predict", help="read digits in photo files", description=PREDICT_DESCRIPTION,
                                       formatter_class=formatter))
    run_parser(commands.add_parser("run", help="start the Telegram bot (settings from the environment or .env)",
                                   description=RUN_DESCRIPTION, formatter_class=formatter))
    return parser


def data_problem(path: str | None) -> str | None:
    """Why ``train --data PATH`` cannot be MNIST, said before TensorFlow loads; None when it may be.

    An ``.npz`` is a zip archive; anything else (a photo, a CSV) would otherwise surface from NumPy as
    talk of "pickled (object) data".
    """
    if not path:
        return None
    file = Path(path)
    if file.is_dir():
        return f"--data {path} is a directory; give the MNIST .npz file in it"
    if not file.is_file():
        return f"--data {path}: no such file"
    with open(file, "rb") as handle:
        if handle.read(4) != b"PK\x03\x04":
            return (f"--data {path} is not an .npz archive; it must be MNIST in Keras's layout "
                    "(arrays x_train, y_train, x_test, y_test), like Keras's mnist.npz")
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        problem = data_problem(args.data)
        if problem:
            print(f"digitbot train: error: {problem}", file=sys.stderr)
            return 2
        from training.__main__ import run  # noqa: PLC0415 - each command loads only its own package

        return run(args)
    if args.command == "predict":
        from digitbot.predict import run  # noqa: PLC0415

        return run(args)
    from bot.__main__ import run  # noqa: PLC0415

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
