"""End to end, issue 9 cases 9 and 10: start-up failures are one line and an exit code; outages heal.

The real bot process against the Bot API stand-in, which can be taken down (connections refused,
open ones cut) and brought back on the same port.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bot.startup import EXIT_DATA_DIR, EXIT_MODEL, EXIT_TELEGRAM
from digitbot.testkit.bot_process import ADMIN_ID, TOKEN, BotProcess
from digitbot.testkit.fake_telegram import FakeTelegram
from digitbot.testkit.photos import digit_photo
from recognizer.model_store import CURRENT_FILE, MANIFEST_FILE, SHIPPED_MODELS_DIR, resolve_version_dir
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _one() -> np.ndarray:
    """A plain handwritten-looking 1 in MNIST's format (no MNIST file needed)."""
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255
    return digit


def _photo(seed: int) -> bytes:
    return digit_photo([_one()], np.random.default_rng(seed), size=400)


def _start_bot(env: dict[str, str], cwd: Path = REPO, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot`` to its end; stdout and stderr together."""
    full = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "INFO", "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-m", "bot"], cwd=cwd, env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    errors = [line for line in result.stdout.splitlines() if " ERROR " in line or line.startswith("error:")]
    assert result.returncode == code, result.stdout[-3000:]
    assert "Traceback" not in result.stdout, result.stdout[-3000:]
    assert len(errors) == 1, result.stdout[-3000:]
    assert all(word in errors[0] for word in words), errors[0]
    assert TOKEN.split(":")[1] not in result.stdout


# --- case 9: start-up failures --------------------------------------------------------------------

def _closed_port() -> str:
    with FakeTelegram(TOKEN) as fake:
        url = fake.url
    return url  # nothing listens there any more


@pytest.mark.parametrize("api", ["closed-port", "dns"])
def test_unreachable_api_with_a_retry_limit_is_one_line_and_exit_5(tmp_path, api):
    url = _closed_port() if api == "closed-port" else "http://digitbot-test.invalid"
    result = _start_bot({"TELEGRAM_API_URL": url, "DATA_DIR": str(tmp_path / "data"), "STARTUP_RETRIES": "1"})
    _assert_one_clear_line(result, EXIT_TELEGRAM, "could not be reached", "STARTUP_RETRIES")
    attempts = [line for line in result.stdout.splitlines() if "Telegram unreachable (attempt" in line]
    assert len(attempts) == 2 and len(result.stdout.splitlines()) <= 6, result.stdout


def _data_dir_cases(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    return {"a file": a_file, "under a file": a_file / "data"}


def test_data_dir_that_is_a_file_or_under_one(tmp_path):
    url = _closed_port()  # never reached: the data directory is checked first
    for case, path in _data_dir_cases(tmp_path).items():
        result = _start_bot({"TELEGRAM_API_URL": url, "DATA_DIR": str(path)})
        _assert_one_clear_line(result, EXIT_DATA_DIR, "DATA_DIR", str(path))


def test_read_only_data_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "PYTHONPATH": str(REPO), "TELEGRAM_API_URL": _closed_port(),
           "DATA_DIR": str(data)}
    if os.geteuid() != 0:
        data.chmod(0o555)
        command = [sys.executable, "-m", "bot"]
    elif shutil.which("unshare") and subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0:
        # root writes through permissions: make the directory a read-only mount in a private namespace
        command = ["unshare", "-m", "sh", "-c", f'mount --bind "{data}" "{data}" && '
                   f'mount -o remount,bind,ro "{data}" && exec "{sys.executable}" -m bot']
    else:
        pytest.skip("running as root without mount namespaces: no way to make a read-only directory")
    result = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=60)
    _assert_one_clear_line(result, EXIT_DATA_DIR, "not writable", str(data))


def _damaged_models(tmp_path: Path) -> dict[str, Path]:
    """Copies of the shipped models directory, each with one defect from issue 9 or case 6."""
    cases = {}

    def copy(name: str) -> tuple[Path, Path]:
        target = tmp_path / name
        shutil.copytree(SHIPPED_MODELS_DIR, target)
        return target, resolve_version_dir(target)

    models, version = copy("empty-weights")
    (version / "weights.npz").write_bytes(b"")
    cases["empty weights.npz"] = models
    models, version = copy("truncated-weights")
    data = (version / "weights.npz").read_bytes()
    (version / "weights.npz").write_bytes(data[: len(data) // 2])
    cases["truncated weights.npz"] = models
    models, _ = copy("current-not-utf8")
    (models / CURRENT_FILE).write_bytes(b"\xff\xfe\x00version\n")
    cases["CURRENT not UTF-8"] = models
    for name, change in (("manifest-list", lambda m: [m]), ("temperature-abc", lambda m: {**m, "temperature": "abc"}),
                         ("temperature-0", lambda m: {**m, "temperature": 0})):
        models, version = copy(name)
        manifest = json.loads((version / MANIFEST_FILE).read_text())
        (version / MANIFEST_FILE).write_text(json.dumps(change(manifest)))
        cases[name] = models
    models, version = copy("wrong-shapes")
    with np.load(version / "weights.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["kernel_1"] = arrays["kernel_1"][:100]  # 100 inputs where the layer before gives 512
    np.savez(version / "weights.npz", **arrays)
    cases["wrong-shaped weights"] = models
    return cases


def test_unusable_models_are_one_line_and_exit_4(tmp_path):
    url = _closed_port()
    for case, models in _damaged_models(tmp_path).items():
        result = _start_bot({"TELEGRAM_API_URL": url, "DATA_DIR": str(tmp_path / "data"), "MODEL_DIR": str(models)})
        _assert_one_clear_line(result, EXIT_MODEL, "MODEL_DIR")


# --- case 10: outages ------------------------------------------------------------------------------

def _attempt_lines(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if "Telegram unreachable (attempt" in line]


def test_bot_started_while_the_api_is_down_comes_up_by_itself(fake_telegram, tmp_path):
    fake_telegram.down()
    bot = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log")
    with open(bot.log_path, "ab") as log:
        bot.process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=REPO, env=bot.env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while len(_attempt_lines(bot.logs())) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert bot.process.poll() is None, bot.logs()[-3000:]  # still trying, not exited
        assert len(_attempt_lines(bot.logs())) >= 3
        fake_telegram.up()
        back = time.monotonic()
        fake_telegram.push(fake_telegram.photo_message(701, _photo(1)))
        reply = fake_telegram.replies_to(701, timeout=60)[0]
        assert reply.at - back < 60 and reply.params["text"].startswith("1")
        note = fake_telegram.calls_with_text("could not reach Telegram", "sendMessage", timeout=30)
        assert len(note) == 1 and note[0].params["chat_id"] == ADMIN_ID
        logs = bot.logs()
        assert "Traceback" not in logs and TOKEN.split(":")[1] not in logs
        assert all(len(line) < 400 for line in _attempt_lines(logs))
    finally:
        assert bot.stop() == 0


OUTAGE_S = 60


def test_an_outage_mid_run_loses_no_photo_sent_after_it(fake_telegram, tmp_path):
    bot = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log")
    bot.start()
    try:
        fake_telegram.push(fake_telegram.photo_message(702, _photo(2)))
        assert fake_telegram.replies_to(702)
        fake_telegram.down()
        time.sleep(OUTAGE_S)
        fake_telegram.up()
        back = time.monotonic()
        users = list(range(710, 715))
        fake_telegram.push_many([fake_telegram.photo_message(user, _photo(user)) for user in users])
        for user in users:
            reply = fake_telegram.replies_to(user, timeout=90)[0]
            assert reply.params["text"].startswith("1"), reply.params
            assert reply.at - back < 60, reply.at - back
        notes = fake_telegram.calls_with_text("could not reach Telegram", "sendMessage", timeout=30)
        time.sleep(1)
        assert len(fake_telegram.calls_with_text("could not reach Telegram", "sendMessage")) == 1
        assert re.search(r"for (\d+) s", notes[0].params["text"]) and int(
            re.search(r"for (\d+) s", notes[0].params["text"]).group(1)) >= OUTAGE_S - 5
        logs = bot.logs()
        attempts = _attempt_lines(logs)
        assert 3 <= len(attempts) <= 40, attempts  # one line per attempt, backing off
        assert "Traceback" not in logs and "reachable again" in logs
        assert TOKEN.split(":")[1] not in logs
    finally:
        assert bot.stop() == 0
