"""A local HTTP server run in a thread for a test: the stand-in for Telegram's servers in client tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import TypeVar

Server = TypeVar("Server", bound=ThreadingHTTPServer)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Serve ``server`` on a daemon thread until the block ends, then close its socket."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
