"""Is the Bot API reachable? Every request tells; an outage is logged once per attempt and reported once.

python-telegram-bot retries by itself (the start-up with ``bootstrap_retries``, polling forever,
backing off from 1 s to 30 s), but logs each failed poll as a full traceback and says nothing when
the API is back. ``WatchedRequest`` sees every request's outcome: a failure is one log line, the
first success after failures ends the outage, and the admins get one message saying how long it
lasted, sent when it can be.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from telegram.error import BadRequest, NetworkError

from bot import metrics, texts
from bot.http_client import AiohttpRequest

log = logging.getLogger(__name__)


def is_unreachable(error: BaseException | None) -> bool:
    """Telegram could not be reached or did not answer (PTB's BadRequest is a NetworkError too, but an answer)."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


@dataclass(frozen=True)
class Outage:
    started: float  # time.time() of the first failure
    seconds: float
    failed_attempts: int
    last_error: str

    def describe(self, lang: str = "en") -> str:
        """The note to an admin, in the admin's language."""
        start = time.strftime("%H:%M:%S", time.gmtime(self.started))
        return texts.text(lang, "outage", start=start, seconds=self.seconds, attempts=self.failed_attempts,
                          error=self.last_error)


class Connectivity:
    """Outage bookkeeping shared by the bot's request objects; ``ended`` is set when one is over."""

    def __init__(self) -> None:
        self._down_since: float | None = None
        self._down_monotonic = 0.0
        self._failures = 0
        self._last_error = ""
        self.finished: list[Outage] = []  # outages over but not yet reported
        self.ended = asyncio.Event()

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, method: str, error: Exception) -> None:
        if self._down_since is None:
            self._down_since, self._down_monotonic = time.time(), time.monotonic()
        self._failures += 1
        self._last_error = f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
        log.warning("Telegram unreachable (attempt %d, %.0f s so far; %s): %s", self._failures,
                    time.monotonic() - self._down_monotonic, method, self._last_error)

    def succeeded(self) -> None:
        if self._down_since is None:
            return
        outage = Outage(self._down_since, time.monotonic() - self._down_monotonic, self._failures, self._last_error)
        self._down_since, self._failures = None, 0
        log.warning("Telegram reachable again after %.0f s (%d failed attempts)", outage.seconds,
                    outage.failed_attempts)
        self.finished.append(outage)
        self.ended.set()


# Idle connections are kept this long for the next request (httpx's default is 5 s): a new one to
# api.telegram.org costs a TCP and TLS handshake, so a bot answering every few seconds keeps its own.
KEEPALIVE_S = 30.0


class WatchedRequest(AiohttpRequest):
    """The bot's HTTP client, reporting each request's network outcome to a ``Connectivity``; every
    connection of its pool may stay open while idle, for ``KEEPALIVE_S``."""

    def __init__(self, connectivity: Connectivity, connection_pool_size: int = 1, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=connection_pool_size, keepalive_s=KEEPALIVE_S, **kwargs)
        self.connectivity = connectivity

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1] if "/bot" in url and "/file/bot" not in url else "download"
        try:
            result = await super().do_request(url, method, *args, **kwargs)
        except NetworkError as error:  # TimedOut included: no answer is no answer
            metrics.TELEGRAM_ERRORS.labels(kind="network", method=name).inc()
            self.connectivity.failed(name, error)
            raise
        self.connectivity.succeeded()
        if result[0] >= 400:  # Telegram answered with an error (PTB raises it next): 400, 403, 429, 5xx
            metrics.TELEGRAM_ERRORS.labels(kind=str(result[0]), method=name).inc()
        return result
