"""Settings from the environment and an optional ``.env`` file; every one is listed in .env.example."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

TELEGRAM_API_DEFAULT = "https://api.telegram.org"
# Every setting the bot reads (each is in .env.example).
SETTING_NAMES = ("TELEGRAM_BOT_TOKEN", "ADMIN_IDS", "TELEGRAM_API_URL", "DATA_DIR", "MODEL_DIR", "MNIST_PATH",
                 "LOG_LEVEL", "PHOTOS_PER_MINUTE", "MAX_FILE_MB", "STARTUP_RETRIES", "WEBHOOK_URL", "WEBHOOK_LISTEN",
                 "WEBHOOK_PORT", "WEBHOOK_SECRET", "DATABASE_URL", "METRICS_PORT", "MODEL_POLL_S")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says what is expected."""


@dataclass(frozen=True)
class Settings:
    token: str
    admin_ids: frozenset[int]
    api_url: str
    data_dir: Path
    model_dir: Path | None
    mnist_path: str | None
    log_level: str
    photos_per_minute: int
    max_file_bytes: int
    webhook_url: str | None
    webhook_listen: str
    webhook_port: int
    webhook_secret: str | None
    startup_retries: int = -1  # attempts to reach Telegram at start-up after the first; -1: keep trying
    database_url: str | None = None  # postgresql://...: a database replicas share; None: SQLite in DATA_DIR
    metrics_port: int | None = None  # /metrics and /healthz on this port; None: off
    model_poll_s: float = 2.0  # how often the models directory's CURRENT is checked for another process's switch

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never reach a log: the token, the webhook secret, the database password."""
        from urllib.parse import urlsplit  # noqa: PLC0415 - rarely needed

        password = urlsplit(self.database_url).password if self.database_url else None
        return tuple(value for value in (self.token, self.webhook_secret, password) if value)

    @property
    def base_url(self) -> str:
        return self.api_url.rstrip("/") + "/bot"

    @property
    def base_file_url(self) -> str:
        return self.api_url.rstrip("/") + "/file/bot"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "digitbot.sqlite3"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse the ``.env`` file by these rules (the same ones .env.example states):

    one ``KEY=VALUE`` per line, an optional ``export`` before the key; blank lines and lines starting
    with ``#`` are skipped; a value in matching single or double quotes is taken as written inside them
    (no escapes, no ``$VARIABLE`` expansion, one line); an unquoted value ends before `` #``. Variables
    already set in the environment win (``load_settings``). These are the common ground of Docker's
    ``--env-file`` and systemd's ``EnvironmentFile=``, except quotes: Docker keeps them, so
    ``load_settings`` refuses a setting that arrives still quoted.
    """
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key] = value
    return values


def _int(env: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def load_settings(env: dict[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Build the settings; raise ConfigError with a clear message when something is wrong."""
    merged = {**(read_env_file(env_file) if env_file else {}), **(os.environ if env is None else env)}
    for name in SETTING_NAMES:
        value = merged.get(name, "").strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            raise ConfigError(f"{name} arrived with its quotes ({value[0]}...{value[0]}): `docker --env-file` keeps "
                              f"quotes as part of the value. Write {name}=value without quotes in that file.")
    token = merged.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and put it in the "
                          "environment or in a .env file (see .env.example).")
    if ":" not in token or any(c.isspace() for c in token):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (expected digits, a colon, then "
                          "letters), so it was not used.")
    try:
        admins = frozenset(int(part) for part in merged.get("ADMIN_IDS", "").replace(" ", "").split(",") if part)
    except ValueError:
        raise ConfigError("ADMIN_IDS must be comma-separated numeric Telegram user ids, e.g. 12345,67890") from None
    model_dir = merged.get("MODEL_DIR", "").strip()
    database_url = merged.get("DATABASE_URL", "").strip() or None
    if database_url and not database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:5432/database); "
                          "leave it unset to keep the SQLite database in DATA_DIR.")
    metrics_port = _int(merged, "METRICS_PORT", 0, minimum=1) or None
    webhook_url = merged.get("WEBHOOK_URL", "").strip() or None
    webhook_secret = merged.get("WEBHOOK_SECRET", "").strip() or None
    if webhook_url and not webhook_secret:
        raise ConfigError("WEBHOOK_SECRET must be set with WEBHOOK_URL: without it anyone who finds the URL can "
                          "send the bot forged updates (1-256 characters of A-Z, a-z, 0-9, _ and -).")
    if webhook_secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", webhook_secret):
        raise ConfigError("WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and -, 1-256 of them (Telegram's rule).")
    return Settings(
        token=token,
        admin_ids=admins,
        api_url=merged.get("TELEGRAM_API_URL", "").strip() or TELEGRAM_API_DEFAULT,
        data_dir=Path(merged.get("DATA_DIR", "").strip() or "data"),
        model_dir=Path(model_dir) if model_dir else None,
        mnist_path=merged.get("MNIST_PATH", "").strip() or None,
        log_level=(merged.get("LOG_LEVEL", "").strip() or "INFO").upper(),
        photos_per_minute=_int(merged, "PHOTOS_PER_MINUTE", 20),
        max_file_bytes=_int(merged, "MAX_FILE_MB", 10) * 1024 * 1024,
        webhook_url=webhook_url,
        webhook_listen=merged.get("WEBHOOK_LISTEN", "").strip() or "0.0.0.0",
        webhook_port=_int(merged, "WEBHOOK_PORT", 8443),
        webhook_secret=webhook_secret,
        startup_retries=_int(merged, "STARTUP_RETRIES", -1, minimum=0),
        database_url=database_url,
        metrics_port=metrics_port,
        model_poll_s=_int(merged, "MODEL_POLL_S", 2),
    )
