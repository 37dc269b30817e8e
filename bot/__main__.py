"""``digitbot run`` / ``python -m bot``: start the Telegram bot."""

from __future__ import annotations

import argparse
import sys

from bot.config import ConfigError, load_settings


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="digitbot run", description=__doc__)
    return parser


def run(args: argparse.Namespace | None = None) -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from bot.app import run as run_bot  # noqa: PLC0415
    from bot.logging_setup import configure_logging  # noqa: PLC0415

    configure_logging(settings.log_level, settings.token, *settings.secrets)
    return run_bot(settings)


if __name__ == "__main__":
    sys.exit(run())
