"""Two bot processes in webhook mode on one PostgreSQL and one models directory behave as one bot.

The local Bot API stand-in delivers updates to the two webhooks in turn, as a load balancer would
(a replica that does not take an update is passed over). Everything real but Telegram: the bot
processes, PostgreSQL, HTTP, the models directory. Without PostgreSQL (DIGITBOT_TEST_POSTGRES) the
module skips with the reason.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from digitbot.testkit.bot_process import ADMIN_ID, BotProcess
from digitbot.testkit.photos import digit_photo
from recognizer.model_store import MANIFEST_FILE, SHIPPED_MODELS_DIR, ModelStore
from tests.bot.test_operations_e2e import free_port
from tests.code.test_metrics import get, scrape

pytestmark = pytest.mark.slow

SECRET = "replica-test-secret_1"
PER_MINUTE = 12


@pytest.fixture(scope="module")
def shared_models(tmp_path_factory):
    target = tmp_path_factory.mktemp("shared") / "models"
    shutil.copytree(SHIPPED_MODELS_DIR, target)
    return target


@pytest.fixture(scope="module")
def replicas(module_fake, module_database, shared_models, tmp_path_factory, small_mnist_file):
    """Two replicas, each with its own DATA_DIR (another host), sharing the database and MODEL_DIR."""
    started = []
    for name in ("a", "b"):
        directory = tmp_path_factory.mktemp(f"replica-{name}")
        process = BotProcess(module_fake, directory / "data", directory / "bot.log", DATABASE_URL=module_database.url,
                             MODEL_DIR=str(shared_models), MNIST_PATH=str(small_mnist_file),
                             WEBHOOK_URL="https://bot.example.org/telegram", WEBHOOK_SECRET=SECRET,
                             WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(free_port()), METRICS_PORT=str(free_port()),
                             MODEL_POLL_S="1", PHOTOS_PER_MINUTE=str(PER_MINUTE))
        process.start(timeout=60)
        started.append(process)
    module_fake.deliver_to([process.webhook for process in started], SECRET)
    yield started
    for process in started:
        if process.process.poll() is None:
            process.stop()


def _answers(fake, chat_id: int) -> list:
    return [c for c in fake.sent("sendMessage", chat_id) if c.params.get("reply_markup")]


def _health(process: BotProcess) -> dict:
    return json.loads(get(int(process.env["METRICS_PORT"]), "/healthz")[1])


def _photos_counted(process: BotProcess) -> float:
    return sum(value for (name, _), value in scrape(int(process.env["METRICS_PORT"])).items()
               if name == "digitbot_photos_total")


def test_an_update_without_the_secret_is_refused(replicas):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(replicas[0].webhook, data=b'{"update_id": 1}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


def test_200_photos_from_20_users_are_answered_once_and_counted_once(replicas, test_digits):
    fake = replicas[0].fake
    digits, labels = test_digits
    rng = np.random.default_rng(20)
    users = list(range(3000, 3020))
    updates = [fake.photo_message(users[i % 20], digit_photo([digits[i]], rng, size=300)) for i in range(200)]
    pushed = fake.push_many(updates)
    for user in users:
        fake.replies_to(user, count=10, timeout=180)
    time.sleep(2)  # a second answer to any photo would arrive by now
    assert all(len(fake.replies_to(user, count=10)) == 10 for user in users)  # once each, none refused
    taken = [c.params["replica"] for c in fake.sent("webhook") if c.params["update_id"] in set(pushed)]
    assert len(taken) == 200 and taken.count(0) == taken.count(1) == 100  # alternately
    with contextlib.closing(replicas[0].database()) as db:
        assert db.execute("SELECT COUNT(*) FROM answers WHERE chat_id BETWEEN 3000 AND 3019").fetchone()[0] == 200
    fake.push(fake.command(ADMIN_ID, "/stats"), replica=1)
    text = fake.replies_to(ADMIN_ID, methods=("sendMessage",), timeout=30)[0].params["text"]
    assert "Photos read: 200" in text and "Distinct users: 20" in text  # one user counts once across replicas
    counted = [_photos_counted(process) for process in replicas]
    assert sum(counted) == 200 and min(counted) > 0  # each replica's /metrics moved; together they are all


def test_buttons_under_one_replicas_answer_work_on_the_other(replicas, test_digits):
    fake = replicas[0].fake
    digits, labels = test_digits
    user = 3100
    seven, two = digits[np.flatnonzero(labels == 7)[0]], digits[np.flatnonzero(labels == 2)[0]]
    fake.push(fake.photo_message(user, digit_photo([seven, two], np.random.default_rng(2), digit_height=0.3)),
              replica=0)
    reply = fake.replies_to(user)[0]
    buttons = {b["text"]: b["callback_data"] for row in reply.params["reply_markup"]["inline_keyboard"] for b in row}
    message = {"message_id": 9100, "date": 0, "chat": {"id": user, "type": "private"}, "text": reply.params["text"],
               "reply_markup": reply.params["reply_markup"]}
    fake.push(fake.callback(user, buttons["✏️ Wrong"], message), replica=1)  # the keypad opens on B
    keypad = fake.wait_for(lambda calls: [c for c in calls if c.method == "editMessageText"
                                          and c.params.get("chat_id") == user])[0]
    keys = {b["text"]: b["callback_data"] for row in keypad.params["reply_markup"]["inline_keyboard"] for b in row}
    shown = {**message, "text": keypad.params["text"], "reply_markup": keypad.params["reply_markup"]}
    fake.push(fake.callback(user, keys["1"], shown), replica=0)  # a digit on A
    fake.wait_for(lambda calls: len([c for c in calls if c.method == "editMessageText"
                                     and c.params.get("chat_id") == user]) >= 2)
    fake.push(fake.message(user, text="12"), replica=1)  # the typed number on B closes it
    assert "saved the right answer: 12" in fake.replies_to(user, count=2)[-1].params["text"]
    answer_id = int(buttons["✏️ Wrong"].split(":")[1])
    with contextlib.closing(replicas[0].database()) as db:
        assert db.execute("SELECT verdict, label FROM feedback WHERE answer_id = ?", (answer_id,)).fetchone() == (
            "wrong", "12")


def test_the_rate_limit_is_per_user_across_replicas(replicas, test_digits):
    fake = replicas[0].fake
    user = 3200
    photo = digit_photo([test_digits[0][0]], np.random.default_rng(8), size=200)
    fake.push_many([fake.photo_message(user, photo) for _ in range(PER_MINUTE + 2)])  # alternately to A and B
    replies = fake.replies_to(user, count=PER_MINUTE + 2, timeout=60)
    assert sum("faster than I can read" in r.params["text"] for r in replies) == 2


def _runs_training(process: BotProcess) -> bool:
    """Whether this replica's process has a training process as its child."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == process.process.pid and b"training.retrain" in command:
            return True
    return False


def test_two_train_commands_at_once_on_two_replicas_start_one_run(replicas):
    fake = replicas[0].fake
    fake.push(fake.command(ADMIN_ID, "/train 1"), replica=0)
    fake.push(fake.command(ADMIN_ID, "/train 1"), replica=1)
    started = fake.calls_with_text("Training started", method="sendMessage", timeout=60)
    busy = fake.calls_with_text("A training run is already going", method="sendMessage", timeout=60)
    time.sleep(1)
    assert len(fake.sent_texts("Training started")) == 1 and len(busy) == 1 and len(started) == 1
    with contextlib.closing(replicas[0].database()) as db:
        assert db.execute("SELECT COUNT(*) FROM training_runs WHERE status = 'running'").fetchone()[0] == 1
    running = [process for process in replicas if _runs_training(process)]
    assert len(running) == 1
    other = 1 - replicas.index(running[0])
    fake.push(fake.command(ADMIN_ID, "/train cancel"), replica=other)  # sent to the replica NOT running it
    fake.calls_with_text("Cancelling the training run", timeout=30)
    fake.calls_with_text("Training cancelled", timeout=60)
    with contextlib.closing(replicas[0].database()) as db:
        assert db.execute("SELECT status FROM training_runs").fetchall() == [("cancelled",)]
    fake.push(fake.command(ADMIN_ID, "/train cancel"), replica=other)
    assert fake.calls_with_text("No training is running", timeout=30)


def test_a_run_on_one_replica_finishes_and_its_model_reaches_both(replicas, shared_models):
    """A whole /train (one epoch on a slice of MNIST): its outcome is recorded once, counted in /metrics, and
    when it installs its candidate the other replica uses it within 10 s too."""
    fake = replicas[0].fake
    before = ModelStore(shared_models).current()
    fake.push(fake.command(ADMIN_ID, "/train 1"), replica=1)
    final = fake.wait_for(lambda calls: [c for c in calls if c.method == "editMessageText"
                                         and ("installed" in c.params["text"] or "Kept the model" in c.params["text"])],
                          timeout=300)[0].params["text"]
    with contextlib.closing(replicas[0].database()) as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM training_runs ORDER BY id")]
    assert statuses[0] == "cancelled" and statuses[1] in ("installed", "kept") and len(statuses) == 2
    outcomes = {}
    for process in replicas:
        for (name, labels), value in scrape(int(process.env["METRICS_PORT"])).items():
            if name == "digitbot_training_runs_total":
                outcomes[dict(labels)["outcome"]] = outcomes.get(dict(labels)["outcome"], 0) + value
    assert outcomes == {"cancelled": 1, statuses[1]: 1}
    after = ModelStore(shared_models).current()
    assert (after != before) == (statuses[1] == "installed"), final
    print(f"the run's outcome: {statuses[1]}")
    _until_both_use(replicas, after, within_s=10)


def _publish_copy(store: ModelStore, version: str) -> None:
    """Install a model as a /train run does (a separate process publishing into MODEL_DIR)."""
    current = store.current_dir()
    with store.publish(version) as stage:
        for file in current.iterdir():
            shutil.copy2(file, stage / file.name)
        manifest = json.loads((stage / MANIFEST_FILE).read_text())
        (stage / MANIFEST_FILE).write_text(json.dumps({**manifest, "version": version}))


def _until_both_use(replicas, version: str, within_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if all(_health(process)["model"] == version for process in replicas):
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not both on {version} after {within_s} s: {[_health(p) for p in replicas]}")


def test_an_installed_model_and_a_rollback_reach_both_replicas_within_10_s(replicas, shared_models):
    store = ModelStore(shared_models)
    before = store.current()
    assert all(_health(process)["model"] == before for process in replicas)
    _publish_copy(store, "29990101T000000Z")
    _until_both_use(replicas, "29990101T000000Z", within_s=10)
    fake = replicas[0].fake
    fake.push(fake.command(ADMIN_ID, "/rollback"), replica=1)
    fake.calls_with_text("Rolled back to model", timeout=30)
    _until_both_use(replicas, before, within_s=10)


def test_kill_9_of_one_replica_loses_no_answered_photo(replicas, test_digits):
    fake = replicas[0].fake
    digits, _ = test_digits
    rng = np.random.default_rng(9)
    users = list(range(3300, 3306))
    before_kill = fake.push_many([fake.photo_message(users[i % 6], digit_photo([digits[i]], rng, size=300))
                                  for i in range(60)])
    fake.wait_for(lambda calls: sum(1 for u in users for c in calls if c.method == "sendMessage"
                                    and c.params.get("chat_id") == u) >= 15, timeout=60)
    replicas[0].stop(signal.SIGKILL)
    after_kill = fake.push_many([fake.photo_message(3310 + i % 4, digit_photo([digits[100 + i]], rng, size=300))
                                 for i in range(20)])
    for user in range(3310, 3314):
        fake.replies_to(user, count=5, timeout=120)  # every photo sent after the kill is answered (by B)
    _settle(fake)
    answered = [c for u in users for c in _answers(fake, u)]
    answer_ids = [int(re.search(r"ok:(\d+)", json.dumps(c.params["reply_markup"])).group(1)) for c in answered]
    with contextlib.closing(replicas[1].database()) as db:
        stored = {row[0] for row in db.execute("SELECT id FROM answers WHERE chat_id BETWEEN 3300 AND 3305")}
    assert set(answer_ids) <= stored  # every answer a user got is in the database
    assert len(answer_ids) == len(set(answer_ids)) <= len(before_kill)
    print(f"kill -9 midway: {len(answered)} of {len(before_kill)} photos sent before it answered, "
          f"{len(after_kill)} of {len(after_kill)} after it")


def _settle(fake, quiet_s: float = 3.0) -> None:
    """Wait until the bots have sent nothing for ``quiet_s`` seconds."""
    while True:
        last = max(c.at for c in fake.calls)
        if time.monotonic() - last >= quiet_s:
            return
        time.sleep(0.5)


def test_a_rolling_restart_loses_nothing(replicas, test_digits):
    """The killed replica comes back; then the other is stopped (SIGTERM, as a deploy does) while photos
    arrive: it answers every photo it took before it exits, and the first takes the rest."""
    fake = replicas[0].fake
    replicas[0].start(timeout=60)
    digits, _ = test_digits
    rng = np.random.default_rng(11)
    users = list(range(3400, 3405))
    fake.push_many([fake.photo_message(users[i % 5], digit_photo([digits[200 + i]], rng, size=300))
                    for i in range(40)])
    fake.wait_for(lambda calls: sum(1 for u in users for c in calls if c.method == "sendMessage"
                                    and c.params.get("chat_id") == u) >= 10, timeout=60)
    assert replicas[1].stop(signal.SIGTERM, timeout=60) == 0
    fake.push_many([fake.photo_message(users[i % 5], digit_photo([digits[300 + i]], rng, size=300))
                    for i in range(10)])
    for user in users:
        fake.replies_to(user, count=10, timeout=120)
    _settle(fake)
    assert all(len(_answers(fake, user)) == 10 for user in users)  # every photo answered, none twice
