"""The ``digitbot`` command: ``train``, ``predict`` and ``run`` subcommands, one for each package.

It sits above ``training``, ``recognizer`` and ``bot`` so none of them imports another's command
line. Each subcommand imports its heavy parts only when chosen, so ``digitbot predict`` never loads
TensorFlow and ``digitbot run`` starts in about a second.
"""

from __future__ import annotations

import argparse
import sys

from bot.__main__ import build_parser as run_parser
from recognizer.cli import build_parser as predict_parser
from training.__main__ import build_parser as train_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="digitbot", description="Read handwritten digits from photos.")
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser(commands.add_parser("train", help="train the dense model and publish it into models/"))
    predict_parser(commands.add_parser("predict", help="read digits in photo files"))
    run_parser(commands.add_parser("run", help="start the Telegram bot (settings from the environment or .env)"))
    args = parser.parse_args(argv)
    if args.command == "train":
        from training.__main__ import run  # noqa: PLC0415 - each command loads only its own package

        return run(args)
    if args.command == "predict":
        from recognizer.cli import run  # noqa: PLC0415

        return run(args)
    from bot.__main__ import run  # noqa: PLC0415

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
