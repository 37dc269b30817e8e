"""The bot's aiohttp client under PTB's request interface: forms, files, downloads, timeouts, failures."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.http_client import AiohttpRequest, without_token
from tests.code.local_server import running

TOKEN = "123456:secret-half"


class RecordingServer(ThreadingHTTPServer):
    """Answers every request with a small JSON body after ``delay_s``, and keeps what it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str, bytes]] = []  # method, path, content type, body
        self.delay_s = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.received.append((method, self.path, self.headers.get("Content-Type", ""), body))
                time.sleep(server.delay_s)
                reply = b'{"ok": true, "result": true}'
                self.send_response(307 if "redirect" in self.path else 200)
                if "redirect" in self.path:
                    self.send_header("Location", self.path)  # a loop, were it followed
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def do_POST(self) -> None:  # noqa: N802
                self._answer("POST")

            def do_GET(self) -> None:  # noqa: N802
                self._answer("GET")

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with running(RecordingServer()) as server:
        yield server


async def test_parameters_go_as_a_form_and_files_as_multipart(server):
    request = AiohttpRequest()
    await request.initialize()
    try:
        form = RequestData([RequestParameter("chat_id", 42, None), RequestParameter("text", "7 – 99% sûr", None)])
        photo = InputFile(b"\x89PNG fake picture bytes", filename="счёт.png")
        upload = RequestData([RequestParameter("chat_id", 42, None),
                              RequestParameter("photo", photo.attach_uri, [photo])])
        assert await request.post(f"{server.url}/bot{TOKEN}/sendMessage", form) is True
        assert await request.post(f"{server.url}/bot{TOKEN}/sendPhoto", upload) is True
        assert await request.retrieve(f"{server.url}/file/bot{TOKEN}/photos/1.jpg") == b'{"ok": true, "result": true}'
    finally:
        await request.shutdown()
    (_, _, form_type, form_body), (_, _, upload_type, upload_body), (method, path, _, _) = server.received
    assert form_type == "application/x-www-form-urlencoded"
    assert form_body == b"chat_id=42&text=7+%E2%80%93+99%25+s%C3%BBr"
    assert upload_type.startswith("multipart/form-data; boundary=")
    assert b"\x89PNG fake picture bytes" in upload_body
    assert 'filename="счёт.png"'.encode() in upload_body  # as written, not percent-encoded
    assert b'name="chat_id"' in upload_body and b"\r\n42\r\n" in upload_body
    assert (method, path) == ("GET", f"/file/bot{TOKEN}/photos/1.jpg")


async def test_a_slow_answer_times_out_and_no_answer_is_a_network_error(server):
    server.delay_s = 2.0
    request = AiohttpRequest()
    await request.initialize()
    try:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await request.post(f"{server.url}/bot{TOKEN}/getMe", read_timeout=0.3)
        assert time.monotonic() - started < 1.5
        with socket.socket() as closed_port:
            closed_port.bind(("127.0.0.1", 0))
            port = closed_port.getsockname()[1]
        with pytest.raises(NetworkError) as refused:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
        assert not isinstance(refused.value, TimedOut)
        assert "secret-half" not in str(refused.value)
    finally:
        await request.shutdown()


async def test_requests_need_an_initialised_client():
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/getMe", "POST")
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/getMe", "POST")


def test_error_texts_lose_the_token_of_any_bot_api_url():
    text = (f"Cannot reach http://api.telegram.org/bot{TOKEN}/getFile or "
            f"URL('https://api.telegram.org/file/bot{TOKEN}/photos/file_1.jpg')")
    cleaned = without_token(text)
    assert TOKEN not in cleaned and "secret-half" not in cleaned
    assert "/bot[token]/getFile" in cleaned and "/file/bot[token]/photos/file_1.jpg" in cleaned


async def test_a_full_pool_times_out_unsent_and_redirects_are_not_followed(server):
    server.delay_s = 1.0
    request = AiohttpRequest(connection_pool_size=1)
    await request.initialize()
    try:
        first = asyncio.create_task(request.post(f"{server.url}/bot{TOKEN}/getMe", read_timeout=5))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(TimedOut, match="Pool timeout"):
            await request.post(f"{server.url}/bot{TOKEN}/getMe", pool_timeout=0.2)
        assert time.monotonic() - started < 0.8
        assert await first is True
        server.delay_s = 0.0
        status, _ = await request.do_request(f"{server.url}/bot{TOKEN}/redirect", "POST")
        assert status == 307
    finally:
        await request.shutdown()
    assert len(server.received) == 2  # the unsent request never arrived; the redirect was not followed
