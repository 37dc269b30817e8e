"""/metrics and /healthz over real HTTP: the counters an operator scrapes, and a health check that can fail."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import health_of
from bot.models import ModelHolder
from bot.storage import Storage
from recognizer import Recognizer
from recognizer.model_store import ModelStore


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def served(tmp_path):
    store = ModelStore()
    storage = Storage(tmp_path / "db.sqlite3", salt="test")
    models = ModelHolder(Recognizer.load(store.path), store)
    server = metrics.serve(0, health_of(storage, models), host="127.0.0.1")
    yield server.server_port, storage, models
    server.shutdown()
    storage.close()


def test_counters_move_and_the_model_in_use_is_named(served):
    port, _, models = served
    before = scrape(port)
    metrics.PHOTOS.labels(status="ok", source="file").inc()
    metrics.RECOGNITION_SECONDS.observe(0.02)
    metrics.TELEGRAM_ERRORS.labels(kind="429", method="sendMessage").inc()
    metrics.TRAINING_RUNS.labels(outcome="kept").inc()
    after = scrape(port)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)

    assert moved("digitbot_photos_total", status="ok", source="file") == 1
    assert moved("digitbot_recognition_seconds_count") == 1
    assert moved("digitbot_recognition_seconds_bucket", le="0.025") == 1
    assert moved("digitbot_recognition_seconds_bucket", le="0.01") == 0
    assert moved("digitbot_telegram_errors_total", kind="429", method="sendMessage") == 1
    assert moved("digitbot_training_runs_total", outcome="kept") == 1
    versions = [dict(labels)["version"] for (name, labels), value in after.items()
                if name == "digitbot_model_info" and value == 1]
    assert versions == [models.current.version]


def test_healthz_says_ok_then_why_not(served):
    port, storage, models = served
    status, body = get(port, "/healthz")
    assert status == 200
    assert json.loads(body) == {"ok": True, "database": "ok", "engine": "sqlite", "model": models.current.version}
    storage.close()  # the database can no longer be reached
    status, body = get(port, "/healthz")
    assert status == 503 and json.loads(body)["database"].startswith("unreachable")
    assert get(port, "/elsewhere")[0] == 404
