"""What an operator scrapes: Prometheus metrics on ``/metrics`` and a health check on ``/healthz``.

The metrics are prometheus-client's, in its default registry (which adds the process's CPU, memory
and open files); every replica serves its own, and Prometheus sums them. ``serve`` runs a small HTTP
server in a thread on METRICS_PORT, in polling and webhook mode alike; unset, nothing listens.
``/healthz`` answers 200 when the process can reach its database and has a model, 503 otherwise,
with one JSON object saying which.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app

log = logging.getLogger(__name__)

PHOTOS = Counter("digitbot_photos", "Photos and image files received, by outcome and how they were sent",
                 ["status", "source"])
RECOGNITION_SECONDS = Histogram("digitbot_recognition_seconds", "Time to read one photo (decode and recognize)",
                                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
TELEGRAM_ERRORS = Counter("digitbot_telegram_errors", "Bot API requests that failed, by kind: the HTTP status "
                          "Telegram answered with, or 'network' when it could not be reached", ["kind", "method"])
TRAINING_RUNS = Counter("digitbot_training_runs", "/train runs finished, by outcome", ["outcome"])
MODEL = Gauge("digitbot_model_info", "The model version in use (1 for the version in use)", ["version"])
SOURCES = ("photo", "file")


def model_in_use(version: str) -> None:
    """The gauge names exactly one version: the one serving now."""
    MODEL.clear()
    MODEL.labels(version=version).set(1)


Health = Callable[[], dict[str, Any]]  # {"ok": bool, ...what was checked}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:  # a scrape every 15 s is no news
        pass


def application(health: Health) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The WSGI app: /metrics (Prometheus text format), /healthz (JSON, 200 or 503), 404 elsewhere."""
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            result = health()
            body = json.dumps(result).encode()
            start_response("200 OK" if result.get("ok") else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"/metrics or /healthz\n"]

    return app


def serve(port: int, health: Health, host: str = "0.0.0.0") -> WSGIServer:
    """Start serving in a daemon thread; ``shutdown()`` the returned server to stop."""
    server = make_server(host, port, application(health), server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics on http://%s:%d/metrics, health on /healthz", host, port)
    return server
