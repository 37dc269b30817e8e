"""A local stand-in for the Telegram Bot API, speaking real HTTP on 127.0.0.1.

It implements the methods digitbot uses, with JSON shaped as Telegram's: getMe, deleteWebhook,
setMyCommands, getUpdates (long polling), getFile and file downloads, sendMessage, sendPhoto,
sendChatAction, editMessageText / ReplyMarkup / Caption, answerCallbackQuery, setWebhook. Tests push
updates in and read back every call the bot made, and can take the API down (connections refused,
open ones cut) and bring it back on the same port, as an outage would.

Updates reach the bot by long polling (getUpdates), or, after ``deliver_to``, by webhook: POSTed to
the replicas' webhook URLs in turn with the secret header, as Telegram and a load balancer in front of
several replicas would; a replica that does not take an update (refused, cut off, not 200) is passed
over for the next, as a load balancer's health check would.
"""

from __future__ import annotations

import email.parser
import email.policy
import http.client
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlparse

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "digitbot", "username": "digit_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class FakeTelegram:
    """The server and its state. Use as a context manager; ``url`` is what TELEGRAM_API_URL should be."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._changed = threading.Condition()
        self.is_down = False
        self._flood: dict[str, int] = {}  # method -> how many more calls get 429 (see ``flood``)
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._address = self._server.server_address[:2]
        self._targets: dict[int, int] = {}  # update_id -> the replica it must reach first (webhook mode)
        self._webhooks: list[str] = []
        self._webhook_secret = ""
        self._closed = False
        # (chat_id, message_id) -> (text, buttons) of each message sent or edited: an edit that changes
        # neither is refused as Telegram refuses it ("message is not modified").
        self._contents: dict[tuple[Any, Any], tuple[str, str]] = {}
        self.file_delay_s = 0.0  # how long the file server takes before it answers a download

    @property
    def url(self) -> str:
        host, port = self._address
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeTelegram:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if not self.is_down:
            self._server.shutdown()
            self._server.server_close()

    def down(self) -> None:
        """An outage: the port refuses connections and open ones (a long poll too) are cut."""
        with self._changed:
            self.is_down = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._server.cut_connections()

    def up(self) -> None:
        """The API is back on the same address, with every update pushed meanwhile still waiting."""
        self._server = _Server(self._address, self._handler_class())
        with self._changed:
            self.is_down = False
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def flood(self, method: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` as Telegram's flood control does: 429, retry after 1 s.

        A refused call is recorded as ``method#429``, so it never counts as a reply.
        """
        with self._changed:
            self._flood[method] = self._flood.get(method, 0) + times

    # --- what tests do -------------------------------------------------------------------------

    def add_file(self, content: bytes, suffix: str = "jpg") -> str:
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = (f"photos/{file_id}.{suffix}", content)
        return file_id

    def push(self, update: dict[str, Any], replica: int | None = None) -> int:
        return self.push_many([update], replica)[0]

    def push_many(self, updates: list[dict[str, Any]], replica: int | None = None) -> list[int]:
        """Queue updates together, so one getUpdates delivers them all (the bot handles them at once).

        In webhook mode ``replica`` (an index into ``deliver_to``'s URLs) is where they go first; by
        default each update goes to the next replica in turn.
        """
        with self._changed:
            ids = []
            for update in updates:
                ids.append(next(self._ids))
                self._updates.append({"update_id": ids[-1], **update})
                if replica is not None:
                    self._targets[ids[-1]] = replica
            self._changed.notify_all()
        return ids

    def deliver_to(self, urls: list[str], secret: str, senders: int = 4) -> None:
        """Webhook mode from now on: every update, queued or to come, is POSTed to one of ``urls``.

        ``senders`` updates are in flight at once (Telegram's max_connections is 40 by default). Each
        delivery is recorded as a ``webhook`` call with the update's id and the replica that took it.
        """
        self._webhooks, self._webhook_secret = list(urls), secret
        position = itertools.count()
        turn = itertools.count()
        for _ in range(senders):
            threading.Thread(target=self._deliver, args=(position, turn), daemon=True).start()

    def _deliver(self, position: itertools.count, turn: itertools.count) -> None:
        while True:
            with self._changed:
                index = next(position)
                while len(self._updates) <= index and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                update = self._updates[index]
                first = self._targets.get(update["update_id"], next(turn) % len(self._webhooks))
            order = [(first + step) % len(self._webhooks) for step in range(len(self._webhooks))]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not self._closed:
                replica = next((r for r in order if self._post(self._webhooks[r], update)), None)
                if replica is not None:
                    self._record(Call("webhook", {"update_id": update["update_id"], "replica": replica}))
                    break
                time.sleep(0.2)  # no replica took it: Telegram retries later

    def _post(self, url: str, update: dict[str, Any]) -> bool:
        parts = urlparse(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request("POST", parts.path, json.dumps(update).encode(),
                               {"Content-Type": "application/json",
                                "X-Telegram-Bot-Api-Secret-Token": self._webhook_secret})
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def message(self, user_id: int, *, language: str = "en", **content: Any) -> dict[str, Any]:
        """Build a private-chat message update from ``user_id``."""
        return {"message": {"message_id": next(self._message_ids), "date": int(time.time()),
                            "chat": {"id": user_id, "type": "private"},
                            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}",
                                     "language_code": language}, **content}}

    def photo_message(self, user_id: int, image: bytes, **kwargs: Any) -> dict[str, Any]:
        file_id = self.add_file(image)
        sizes = [{"file_id": f"{file_id}-thumb", "file_unique_id": "t", "width": 90, "height": 90, "file_size": 1},
                 {"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 1280,
                  "file_size": len(image)}]
        self.files[f"{file_id}-thumb"] = self.files[file_id]
        return self.message(user_id, photo=sizes, **kwargs)

    def document_message(self, user_id: int, content: bytes, mime_type: str, file_name: str,
                         **kwargs: Any) -> dict[str, Any]:
        file_id = self.add_file(content, suffix=file_name.rsplit(".", 1)[-1])
        return self.message(user_id, document={"file_id": file_id, "file_unique_id": file_id, "file_name": file_name,
                                               "mime_type": mime_type, "file_size": len(content)}, **kwargs)

    def command(self, user_id: int, command: str, **kwargs: Any) -> dict[str, Any]:
        name = command.split()[0]
        return self.message(user_id, text=command,
                            entities=[{"type": "bot_command", "offset": 0, "length": len(name)}], **kwargs)

    def callback(self, user_id: int, data: str, message: dict[str, Any], language: str = "en") -> dict[str, Any]:
        return {"callback_query": {"id": str(next(self._ids)), "chat_instance": "ci", "data": data,
                                   "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}",
                                            "language_code": language},
                                   "message": message}}

    def sent(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if (method is None or c.method == method)
                    and (chat_id is None or c.params.get("chat_id") == chat_id)]

    def sent_texts(self, text: str) -> list[Call]:
        """Every message or edit sent so far whose text contains ``text`` (no waiting)."""
        return [c for c in self.sent() if text in str(c.params.get("text", ""))]

    def wait_for(self, predicate: Callable[[list[Call]], Any], timeout: float = 20.0) -> Any:
        """Block until ``predicate(calls)`` is truthy; return its value, or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate(list(self.calls))
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    methods = [(c.method, c.params.get("chat_id"), str(c.params.get("text", ""))[:40])
                               for c in self.calls[-15:]]
                    raise AssertionError(f"timed out waiting; last calls: {methods}")
                self._changed.wait(remaining)

    def replies_to(self, chat_id: int, count: int = 1, timeout: float = 20.0, methods=("sendMessage", "sendPhoto")):
        """Wait for ``count`` messages or photos sent to ``chat_id`` and return them."""
        def ready(calls: list[Call]) -> list[Call] | None:
            found = [c for c in calls if c.method in methods and c.params.get("chat_id") == chat_id]
            return found if len(found) >= count else None
        return self.wait_for(ready, timeout)

    def calls_with_text(self, text: str, method: str | None = None, timeout: float = 20.0) -> list[Call]:
        """Wait for calls (of ``method``, if given) whose text contains ``text``; return them all."""
        return self.wait_for(lambda calls: [c for c in calls if (method is None or c.method == method)
                                            and text in str(c.params.get("text", ""))], timeout)

    # --- the HTTP side -------------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _next_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                pending = [u for u in self._updates if u["update_id"] >= offset]
                if pending or time.monotonic() >= deadline or self.is_down:
                    return pending[:100]
                self._changed.wait(max(0.0, deadline - time.monotonic()))

    def _sent_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        return {"message_id": next(self._message_ids), "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private"}, **content}

    def _answer(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, dict[str, Any]]:
        with self._changed:
            flooded = self._flood.get(method, 0) > 0
            if flooded:
                self._flood[method] -= 1
        if flooded:
            self._record(Call(f"{method}#429", params, files))
            return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                         "parameters": {"retry_after": 1}}
        self._record(Call(method, params, files))
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            return 200, {"ok": True, "result": self._next_updates(offset, float(params.get("timeout") or 0))}
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method in ("deleteWebhook", "setWebhook", "setMyCommands", "sendChatAction", "answerCallbackQuery",
                      "deleteMessage"):
            return 200, {"ok": True, "result": True}
        if method == "getFile":
            file_id = params.get("file_id")
            if file_id not in self.files:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            path, content = self.files[file_id]
            return 200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": file_id,
                                                "file_size": len(content), "file_path": path}}
        if method == "sendMessage":
            result = self._sent_message(params, text=params.get("text", ""))
            with self._changed:
                self._contents[(params.get("chat_id"), result["message_id"])] = _content(params)
            return 200, {"ok": True, "result": result}
        if method == "sendPhoto":
            photo = [{"file_id": "sent-photo", "file_unique_id": "sp", "width": 100, "height": 100}]
            return 200, {"ok": True, "result": self._sent_message(params, photo=photo,
                                                                  caption=params.get("caption"))}
        if method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            key, content = (params.get("chat_id"), params.get("message_id")), _content(params)
            with self._changed:  # two presses handled at once edit from two server threads
                unchanged = self._contents.get(key) == content
                self._contents[key] = content
            if unchanged:
                return 400, {"ok": False, "error_code": 400, "description": (
                    "Bad Request: message is not modified: specified new message content and reply markup are "
                    "exactly the same as a current content and reply markup of the message")}
            return 200, {"ok": True, "result": self._sent_message(params, text=params.get("text", ""))}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - file downloads, and GET-style method calls
                path = unquote(urlparse(self.path).path)
                prefix = f"/file/bot{fake.token}/"
                if path.startswith(prefix):
                    time.sleep(fake.file_delay_s)
                    wanted = path[len(prefix):]
                    for file_path, content in fake.files.values():
                        if file_path == wanted:
                            fake._record(Call("download", {"file_path": wanted}))
                            return self._reply(200, content, "application/octet-stream")
                    return self._reply(404, f"no file at {wanted}".encode(), "text/plain")
                self._method_call(path, dict(parse_qsl(urlparse(self.path).query)), {})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                params, files = _parse_body(self.headers.get("Content-Type", ""), body)
                self._method_call(unquote(urlparse(self.path).path), params, files)

            def _method_call(self, path: str, params: dict[str, Any], files: dict[str, bytes]) -> None:
                prefix = "/bot"
                if not path.startswith(prefix) or "/" not in path[len(prefix):]:
                    return self._reply(404, b'{"ok":false,"error_code":404,"description":"Not Found"}')
                token, _, method = path[len(prefix):].partition("/")
                if token != fake.token:
                    return self._reply(401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}')
                status, payload = fake._answer(method, params, files)
                self._reply(status, json.dumps(payload).encode())

        return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the bot opens many connections at once under load; 5 would refuse some
    daemon_threads = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self._lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client cut off by an outage is expected; keep test output quiet."""


def _content(params: dict[str, Any]) -> tuple[str, str]:
    """A message's text (or caption) and buttons, comparable between a send and an edit."""
    return (str(params.get("text", params.get("caption", ""))),
            json.dumps(params.get("reply_markup"), sort_keys=True, default=str))


def _decode_value(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Form-encoded or multipart parameters (PTB JSON-encodes non-string values)."""
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[name] = payload
            else:
                params[name] = _decode_value(payload.decode())
        return params, files
    if content_type.startswith("application/json"):
        return json.loads(body or b"{}"), {}
    return {k: _decode_value(v) for k, v in parse_qsl(body.decode())}, {}
