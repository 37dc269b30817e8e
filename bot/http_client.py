"""PTB's request interface on aiohttp: the bot's HTTP client, chosen for what it costs per request.

Under load, PTB's default client (httpx over httpcore) was most of what the bot spends beyond reading
photos: httpcore walks its whole pool, with a poll() per idle connection, for every request that starts
or ends, and the rest is pure-Python HTTP. aiohttp parses HTTP in C and keeps its pool in a dict of
queues; bench/http_clients.py measures both against the same local server. PTB documents ``BaseRequest``
as the place to plug in another networking library; this is that and nothing more.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
from urllib.request import proxy_bypass

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a pool of ``connection_pool_size`` connections to Telegram.

    Behaves as PTB's HTTPXRequest does: ``pool_timeout`` waiting for a free connection (TimedOut, the
    request not sent), ``connect_timeout`` opening one, ``read_timeout`` between pieces of the answer,
    no redirects followed, proxies from the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY).
    aiohttp has no write timeout of its own, so an upload as a whole is bounded by the sum of the
    four (``media_write_timeout`` standing for the write); other requests are bounded by the parts.
    """

    def __init__(self, connection_pool_size: int = 1, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0,
                 keepalive_s: float = 30.0) -> None:
        self._pool_size = connection_pool_size
        self._keepalive_s = keepalive_s
        self._timeouts = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout,
                          "pool": pool_timeout}
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._free: asyncio.Semaphore | None = None  # connections not in use
        self._proxies: dict[str, str | None] = {}  # per origin, read from the environment once

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=self._keepalive_s)
            # No cookies (the Bot API sets none) and no trust_env: aiohttp would then read ~/.netrc and the
            # proxy settings in a worker thread for every request, the threads the bot's storage uses.
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                                  headers={"User-Agent": self.USER_AGENT})
            self._free = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        """See ``BaseRequest.do_request``: (HTTP status, body); TimedOut or NetworkError when there is none."""
        if self._session is None or self._session.closed or self._free is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and request_data.contains_files
        default_write = self._media_write_timeout if files else self._timeouts["write"]
        read = self._timeouts["read"] if isinstance(read_timeout, DefaultValue) else read_timeout
        write = default_write if isinstance(write_timeout, DefaultValue) else write_timeout
        connect = self._timeouts["connect"] if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._timeouts["pool"] if isinstance(pool_timeout, DefaultValue) else pool_timeout
        timeout = aiohttp.ClientTimeout(total=_sum(read, write, connect, pool) if files else None, connect=connect,
                                        sock_connect=connect, sock_read=read)
        try:
            if self._free.locked():  # wait_for costs a task: only when there is something to wait for
                await asyncio.wait_for(self._free.acquire(), pool)
            else:
                await self._free.acquire()
        except asyncio.TimeoutError:
            raise TimedOut("Pool timeout: all connections in the pool are in use; the request was not sent.") from None
        try:
            async with self._session.request(method, url, data=_body(request_data), timeout=timeout,
                                             allow_redirects=False, proxy=self._proxy(url)) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as error:  # aiohttp's own timeouts are asyncio.TimeoutError too
            raise TimedOut(f"aiohttp: no answer in time ({type(error).__name__})") from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {without_token(str(error))}") from error
        finally:
            self._free.release()

    def _proxy(self, url: str) -> str | None:
        """The proxy the environment names for this URL's origin (as httpx reads it), looked up once."""
        target = URL(url)
        origin = f"{target.scheme}://{target.host}:{target.port}"
        if origin not in self._proxies:
            try:
                self._proxies[origin] = str(get_env_proxy_for_url(target)[0])
            except LookupError:  # none named for its scheme, or NO_PROXY covers the host
                every = os.environ.get("ALL_PROXY") or os.environ.get("all_proxy")
                bypassed = target.host is not None and proxy_bypass(target.host)
                self._proxies[origin] = every if every and not bypassed else None
        return self._proxies[origin]


def without_token(text: str) -> str:
    """The text with the token taken out of any Bot API URL in it (/bot<token>/, /file/bot<token>/).

    Some aiohttp errors quote the URL, and these messages reach the admins in the outage note.
    """
    return _TOKEN_IN_URL.sub(r"/\1bot[token]", text)


_TOKEN_IN_URL = re.compile(r"/(file/)?bot[^/\s'\")]+")


def _sum(*timeouts: float | None) -> float | None:
    """The sum of the timeouts, or None (no limit) when any of them is None."""
    return None if any(t is None for t in timeouts) else math.fsum(timeouts)  # type: ignore[arg-type]


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The parameters as a form (urlencoded), or as multipart when files go with them, as PTB's client sends."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return request_data.json_parameters
    form = aiohttp.FormData(quote_fields=False)  # file names as written (httpx does not percent-encode them)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
