"""The bot's HTTP client: sized for the handlers it serves, and keeping the connections it opened."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from telegram.request import BaseRequest

from bot.app import CONCURRENT_UPDATES, CONNECTION_POOL_SIZE, build_application
from bot.config import load_settings
from bot.connectivity import Connectivity, WatchedRequest
from bot.models import ModelHolder
from bot.storage import Storage
from recognizer import Recognizer
from recognizer.model_store import ModelStore
from tests.code.local_server import running

AT_ONCE = 30


class HoldingServer(ThreadingHTTPServer):
    """A file server standing in for Telegram's, answering only when ``AT_ONCE`` requests are open at
    once (so the client must have that many connections), and counting the connections it accepts."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self) -> None:
        self.accepted = 0
        self.together = threading.Barrier(AT_ONCE, timeout=20)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.together.wait()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        super().__init__(("127.0.0.1", 0), Handler)

    def process_request(self, request, client_address) -> None:  # noqa: ANN001 - socketserver's signature
        self.accepted += 1
        super().process_request(request, client_address)


@pytest.fixture
def server() -> Iterator[HoldingServer]:
    with running(HoldingServer()) as server:
        yield server


async def _two_bursts(request: BaseRequest, url: str) -> None:
    import asyncio  # noqa: PLC0415

    await request.initialize()
    try:
        for _ in range(2):
            bodies = await asyncio.gather(*(request.retrieve(url, read_timeout=30) for _ in range(AT_ONCE)))
            assert bodies == [b"ok"] * AT_ONCE
    finally:
        await request.shutdown()


async def test_a_second_burst_reuses_every_connection_of_the_first(server):
    url = f"http://127.0.0.1:{server.server_address[1]}/file"
    await _two_bursts(WatchedRequest(Connectivity(), connection_pool_size=AT_ONCE), url)
    assert server.accepted == AT_ONCE


def test_the_pool_holds_every_request_the_handlers_can_make_at_once(tmp_path):
    """Each handler in flight makes one request at a time, and has a connection for it (a slow answer's
    'typing' and the background jobs share the rest, or wait for one)."""
    settings = load_settings({"TELEGRAM_BOT_TOKEN": "123:abc", "DATA_DIR": str(tmp_path)}, env_file=None)
    store = ModelStore()
    storage = Storage(settings.database_path, salt="test")
    try:
        application = build_application(settings, ModelHolder(Recognizer.load(store.path), store), storage,
                                         Connectivity())
        assert application.update_processor.max_concurrent_updates == CONCURRENT_UPDATES
        assert CONNECTION_POOL_SIZE > CONCURRENT_UPDATES
    finally:
        storage.close()
