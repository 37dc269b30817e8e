"""Settings from the environment and .env: defaults, parsing, and one clear error per bad value."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.config import TELEGRAM_API_DEFAULT, ConfigError, load_settings, read_env_file

TOKEN = "123456:ABC-def"


def settings(**env: str):
    return load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, **env}, env_file=None)


def test_defaults():
    s = settings()
    assert s.admin_ids == frozenset() and s.api_url == TELEGRAM_API_DEFAULT and s.data_dir == Path("data")
    assert s.model_dir is None and s.mnist_path is None and s.log_level == "INFO"
    assert s.photos_per_minute == 20 and s.max_file_bytes == 10 * 1024 * 1024
    assert s.webhook_url is None and s.webhook_port == 8443 and s.startup_retries == -1  # keep trying
    assert s.database_path == Path("data") / "digitbot.sqlite3"


def test_values_are_parsed():
    s = settings(ADMIN_IDS=" 12, 34 ,56", TELEGRAM_API_URL="http://127.0.0.1:8081/", DATA_DIR="/var/lib/bot",
                 MODEL_DIR="/srv/models", LOG_LEVEL="debug", PHOTOS_PER_MINUTE="5", MAX_FILE_MB="2",
                 STARTUP_RETRIES="0")
    assert s.admin_ids == {12, 34, 56} and s.log_level == "DEBUG" and s.model_dir == Path("/srv/models")
    assert s.base_url == "http://127.0.0.1:8081/bot" and s.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert s.photos_per_minute == 5 and s.max_file_bytes == 2 * 1024 * 1024 and s.startup_retries == 0


@pytest.mark.parametrize(("env", "named"), [
    ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN is not set"),
    ({"TELEGRAM_BOT_TOKEN": "no-colon"}, "does not look like a bot token"),
    ({"TELEGRAM_BOT_TOKEN": "123: with space"}, "does not look like a bot token"),
    ({"ADMIN_IDS": "alice,bob"}, "ADMIN_IDS"),
    ({"PHOTOS_PER_MINUTE": "many"}, "PHOTOS_PER_MINUTE must be a whole number"),
    ({"PHOTOS_PER_MINUTE": "0"}, "PHOTOS_PER_MINUTE must be at least 1"),
    ({"MAX_FILE_MB": "-3"}, "MAX_FILE_MB must be at least 1"),
    ({"STARTUP_RETRIES": "-1"}, "STARTUP_RETRIES must be at least 0"),
    ({"TELEGRAM_BOT_TOKEN": '"123456:ABC-def"'}, "TELEGRAM_BOT_TOKEN arrived with its quotes"),  # docker --env-file
    ({"DATA_DIR": "'/data'"}, "DATA_DIR arrived with its quotes"),
])
def test_a_bad_value_is_one_clear_error(env, named):
    with pytest.raises(ConfigError, match=named):
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, **env}, env_file=None)


def test_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\n\nexport TELEGRAM_BOT_TOKEN='1:from-file'\nADMIN_IDS=7 # inline comment\n"
                        'LOG_LEVEL="warning"\nnot a setting\nDATA_DIR=/tmp/x#not-a-comment\n', encoding="utf-8")
    assert read_env_file(env_file) == {"TELEGRAM_BOT_TOKEN": "1:from-file", "ADMIN_IDS": "7", "LOG_LEVEL": "warning",
                                       "DATA_DIR": "/tmp/x#not-a-comment"}
    s = load_settings({"ADMIN_IDS": "8"}, env_file=env_file)  # the environment wins over the file
    assert s.token == "1:from-file" and s.admin_ids == {8} and s.log_level == "WARNING"
    assert read_env_file(tmp_path / "missing") == {}


def test_a_stale_or_missing_heartbeat_is_unhealthy(tmp_path):
    from bot.health import STALE_AFTER_S, beat, check

    assert check(tmp_path)[0] is False
    beat(tmp_path)
    assert check(tmp_path)[0] is True
    healthy, why = check(tmp_path, now=time.time() + STALE_AFTER_S + 5)
    assert not healthy and "cannot reach Telegram" in why


def test_every_shipped_model_file_is_packaged():
    import fnmatch
    import tomllib

    from recognizer.model_store import SHIPPED_MODELS_DIR

    setuptools = tomllib.loads((SHIPPED_MODELS_DIR.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "models" in setuptools["packages"]
    patterns = setuptools["package-data"]["models"]
    files = [p.relative_to(SHIPPED_MODELS_DIR).as_posix() for p in SHIPPED_MODELS_DIR.rglob("*") if p.is_file()
             and not p.name.startswith(".")]
    assert files and all(any(fnmatch.fnmatch(f, pattern) for pattern in patterns) for f in files), files


def test_replica_settings_and_what_never_reaches_a_log():
    s = settings(DATABASE_URL="postgresql://bot:s3cret-pw@db:5432/digitbot", METRICS_PORT="9100",
                 WEBHOOK_URL="https://bot.example.org/telegram", WEBHOOK_SECRET="hook_Secret-1", MODEL_POLL_S="5")
    assert s.database_url.startswith("postgresql://") and s.metrics_port == 9100 and s.model_poll_s == 5
    assert set(s.secrets) == {TOKEN, "hook_Secret-1", "s3cret-pw"}
    assert settings().database_url is None and settings().metrics_port is None and settings().secrets == (TOKEN,)


@pytest.mark.parametrize(("env", "named"), [
    ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL must be a PostgreSQL URL"),
    ({"WEBHOOK_URL": "https://bot.example.org/telegram"}, "WEBHOOK_SECRET must be set with WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://b.example.org/t", "WEBHOOK_SECRET": "has space"}, "WEBHOOK_SECRET may hold only"),
    ({"METRICS_PORT": "http"}, "METRICS_PORT must be a whole number"),
])
def test_bad_replica_settings_are_named(env, named):
    with pytest.raises(ConfigError, match=named):
        settings(**env)


def test_the_database_password_is_redacted_from_logs():
    import logging

    from bot.database import redact_url
    from bot.logging_setup import RedactTokenFilter

    assert redact_url("postgresql://bot:s3cret-pw@db:5432/x") == "postgresql://bot:***@db:5432/x"
    assert redact_url("postgresql://db/x") == "postgresql://db/x"
    record = logging.LogRecord("x", logging.INFO, "", 0, "connecting with %s", ("password=s3cret-pw",), None)
    assert RedactTokenFilter(TOKEN, "s3cret-pw").filter(record) and "s3cret-pw" not in record.getMessage()
