"""The bot token never reaches the logs: not whole, not its secret half (what URLs leak), not in a traceback."""

from __future__ import annotations

import io
import logging

from bot.logging_setup import REDACTED, RedactTokenFilter, redact

TOKEN = "123456789:AAHk3x-secret-half_0123456789abcdef"
SECRET = TOKEN.partition(":")[2]


def test_the_token_and_its_secret_half_are_replaced():
    assert redact(f"POST https://api.telegram.org/bot{TOKEN}/getUpdates", TOKEN) == (
        f"POST https://api.telegram.org/bot{REDACTED}/getUpdates")
    assert redact(f"file path /file/bot123:{SECRET}/photo.jpg", TOKEN) == f"file path /file/bot123:{REDACTED}/photo.jpg"
    assert redact("nothing secret here", TOKEN) == "nothing secret here"
    assert redact("no token configured", "") == "no token configured"


def test_the_filter_scrubs_the_message_its_arguments_and_the_traceback():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactTokenFilter(TOKEN))
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("request to %s failed", f"https://api.telegram.org/bot{TOKEN}/getMe")
        try:
            raise RuntimeError(f"connection to bot{TOKEN} refused")
        except RuntimeError:
            log.exception("polling")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert TOKEN not in written and SECRET not in written
    assert written.count(REDACTED) == 2 and "RuntimeError: connection to bot[token] refused" in written
