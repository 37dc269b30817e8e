"""Logging to stdout in a form journald reads well, with the bot token scrubbed from every record."""

from __future__ import annotations

import logging
import sys

REDACTED = "[token]"


def redact(text: str, token: str) -> str:
    """Replace the token (and its secret half, which is what URLs leak) wherever it appears."""
    if not token:
        return text
    text = text.replace(token, REDACTED)
    secret = token.partition(":")[2]
    return text.replace(secret, REDACTED) if len(secret) >= 8 else text


class RedactTokenFilter(logging.Filter):
    """Formats each record and removes the token (and any other secret given) from the message and any traceback."""

    def __init__(self, token: str, *others: str) -> None:
        super().__init__()
        self.token = token
        self.others = [secret for secret in others if secret and len(secret) >= 4]

    def _redact(self, text: str) -> str:
        text = redact(text, self.token)
        for secret in self.others:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self._redact(message), None
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True


class OneLineTelegramErrors(logging.Filter):
    """python-telegram-bot logs network failures and a rejected token with a full traceback (its retry
    loop, its updater); that is 50-100 lines for what one line says. A network failure is dropped
    (bot.connectivity logs each attempt, bot.app the outcome); a rejected token becomes one line.
    Other tracebacks stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram.error import InvalidToken  # noqa: PLC0415

        from bot.connectivity import is_unreachable  # noqa: PLC0415

        error = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("telegram") and is_unreachable(error):
            return False
        if record.name.startswith("telegram") and isinstance(error, InvalidToken):
            record.msg, record.args = f"{record.getMessage()} ({type(error).__name__}: {error})", None
            record.exc_info, record.exc_text = None, None
        return True


def configure_logging(level: str, token: str, *secrets: str) -> None:
    """One handler on stdout; systemd adds timestamps, so under journald the level and logger suffice."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(OneLineTelegramErrors())
    handler.addFilter(RedactTokenFilter(token, *secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram URLs contain the token; each poll is noise anyway.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
