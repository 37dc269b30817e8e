"""What the bot needs before it talks to Telegram: a writable data directory, its database, a usable model.

Each failure is one sentence naming the setting to fix, and a distinct exit code, so a service
manager's log shows the cause at a glance and scripts can tell the cases apart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import logging
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from bot.config import Settings
from bot.database import redact_url
from bot.models import ModelHolder
from bot.storage import Storage
from recognizer import ModelError, Recognizer
from recognizer.model_store import CURRENT_FILE, SHIPPED_MODELS_DIR, ModelStore

log = logging.getLogger(__name__)

# glibc's M_MMAP_THRESHOLD: buffers from this size up get their own mapping, returned on free.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 20

EXIT_STOPPED = 0
EXIT_CONFIG = 2  # a setting is missing or malformed, the token was rejected, a needed extra is missing
EXIT_DATA_DIR = 3  # DATA_DIR or the database in it cannot be used
EXIT_MODEL = 4  # the model in MODEL_DIR (or the shipped one) cannot be used
EXIT_TELEGRAM = 5  # the Bot API could not be reached within STARTUP_RETRIES attempts


class StartupError(Exception):
    """One sentence for the log, and the process exit code that goes with it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def return_large_buffers_promptly() -> None:
    """Give decode buffers back to the OS as soon as they are freed.

    glibc raises its mmap threshold to the largest block freed (up to 32 MB), after which a decoder's
    multi-megabyte rows and blocks come from per-thread heaps that keep the memory: three worst-case
    files at once took the bot to 378 MB this way, and to 246 MB with a fixed 1 MB threshold
    (bench/worst_file_load.py). Elsewhere than glibc this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if not libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES):
            log.debug("mallopt(M_MMAP_THRESHOLD) was refused")
    except (OSError, AttributeError):  # not glibc (musl, macOS): its own allocator decides
        pass


# OpenBLAS's thread-count setters, as NumPy's bundled build (scipy-openblas) and others name them.
_BLAS_THREAD_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                        "openblas_set_num_threads64_", "openblas_set_num_threads")
_BLAS_THREAD_GETTERS = tuple(name.replace("_set_", "_get_") for name in _BLAS_THREAD_SETTERS)


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (NumPy's, once NumPy is imported)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            return sorted({line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()
                           and ".so" in line})
    except OSError:  # not Linux
        return []


def blas_threads() -> list[int]:
    """The thread count of each OpenBLAS loaded in this process (empty when none could be asked)."""
    counts = []
    for path in _loaded_openblas():
        library = ctypes.CDLL(path)
        getter = next((getattr(library, name) for name in _BLAS_THREAD_GETTERS if hasattr(library, name)), None)
        if getter is not None:
            counts.append(int(getter()))
    return counts


def one_thread_per_reading() -> None:
    """Let each reading use one core: the bot reads several photos at once in its worker threads.

    OpenBLAS and OpenCV otherwise start a thread per core for every matrix product and filter, and
    those threads spin while they wait: with two readings at once on two cores, that spinning cost more
    CPU than the reading itself (bench/bot_load.py; pinned to one core, 115 ms of CPU a photo instead
    of 15). Set here, at run time, because NumPy is imported before the bot's entry point runs.
    """
    import cv2  # noqa: PLC0415 - the recognizer imports it anyway; kept out of the module's import cost

    cv2.setNumThreads(1)
    for path in _loaded_openblas():
        library = ctypes.CDLL(path)
        setter = next((getattr(library, name) for name in _BLAS_THREAD_SETTERS if hasattr(library, name)), None)
        if setter is None:
            log.debug("no thread-count setter in %s", path)
            continue
        setter(1)


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _first_file_above(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def prepare_data_dir(data_dir: Path) -> None:
    """Create DATA_DIR if needed and prove that files can be written there."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StartupError(f"DATA_DIR {data_dir} is a file, not a directory: set DATA_DIR to a directory "
                           "the bot may write to.", EXIT_DATA_DIR) from None
    except NotADirectoryError:
        raise StartupError(f"DATA_DIR {data_dir} cannot be created because {_first_file_above(data_dir)} is a file: "
                           "set DATA_DIR to a directory the bot may write to.", EXIT_DATA_DIR) from None
    except OSError as error:
        raise StartupError(f"DATA_DIR {data_dir} cannot be created ({_reason(error)}): set DATA_DIR to a directory "
                           "the bot may write to.", EXIT_DATA_DIR) from None
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-test-"):
            pass
    except OSError as error:
        raise StartupError(f"DATA_DIR {data_dir} is not writable ({_reason(error)}): the bot stores its answers "
                           "there; give it write access or choose another DATA_DIR.", EXIT_DATA_DIR) from None


def user_hash_salt(data_dir: Path) -> str:
    """A per-installation secret for hashing user ids, kept next to the database."""
    path = data_dir / "user-hash-salt"
    try:
        if not path.exists():
            path.write_text(secrets.token_hex(16), encoding="utf-8")
            os.chmod(path, 0o600)
        salt = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise StartupError(f"{path} cannot be read or written ({error}); delete it to make a new one (user "
                           "counts then restart from zero).", EXIT_DATA_DIR) from None
    if not salt:
        raise StartupError(f"{path} is empty; delete it to make a new one.", EXIT_DATA_DIR)
    return salt


def open_storage(settings: Settings) -> Storage:
    """The database (PostgreSQL at DATABASE_URL, else SQLite in DATA_DIR), migrated to the current schema.

    DATA_DIR is needed either way: the feedback file for /train and the heartbeat live there.
    """
    prepare_data_dir(settings.data_dir)
    if settings.database_url:
        try:
            # The salt stored in the database wins: every replica hashes user ids alike.
            return Storage(settings.database_url, secrets.token_hex(16))
        except Exception as error:  # psycopg's errors, or no psycopg: either way one sentence, no password
            raise StartupError(f"The database at DATABASE_URL ({redact_url(settings.database_url)}) cannot be used "
                               f"({type(error).__name__}: {' '.join(str(error).split())[:300]}); check the URL, "
                               "the server and the role's rights.", EXIT_DATA_DIR) from None
    salt = user_hash_salt(settings.data_dir)
    try:
        return Storage(settings.database_path, salt)
    except (sqlite3.Error, OSError) as error:
        raise StartupError(f"The database {settings.database_path} cannot be opened ({error}); check the file, or "
                           "move it away to start a new one.", EXIT_DATA_DIR) from None


SEED_LOCK = ".seed.lock"


def _holds_anything(model_dir: Path) -> bool:
    return any(path.name != SEED_LOCK for path in model_dir.iterdir())


def seed_model_dir(model_dir: Path, shipped: Path = SHIPPED_MODELS_DIR) -> bool:
    """Put the shipped model into an empty or missing MODEL_DIR; True if it did.

    MODEL_DIR on a volume (Docker) or in the state directory (systemd) keeps retrained models and their
    rollback history across re-created containers and updated checkouts; on first start it holds
    nothing yet. A directory with anything in it is left alone (a broken one is reported, not replaced).
    Replicas sharing an empty MODEL_DIR take turns (a lock file there): one seeds, the others find it done.
    """
    if model_dir.exists() and (not model_dir.is_dir() or _holds_anything(model_dir)):
        return False
    try:
        version = (shipped / CURRENT_FILE).read_text(encoding="utf-8").strip()
        model_dir.mkdir(parents=True, exist_ok=True)
        lock_path = model_dir / SEED_LOCK
        with open(lock_path, "a", encoding="utf-8") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                if _holds_anything(model_dir):  # another replica seeded it while this one waited
                    return False
                staging = model_dir / f".seed-{version}"
                shutil.copytree(shipped / version, staging, dirs_exist_ok=True)
                staging.rename(model_dir / version)
                partial = model_dir / f".{CURRENT_FILE}.partial"
                partial.write_text(version + "\n", encoding="utf-8")
                partial.replace(model_dir / CURRENT_FILE)  # CURRENT last: a half-seeded directory names no model
            finally:
                lock_path.unlink(missing_ok=True)  # while held: whoever waits on it finds the directory seeded
    except (OSError, UnicodeDecodeError) as error:
        raise StartupError(f"MODEL_DIR {model_dir} could not be seeded with the shipped model from {shipped} "
                           f"({error}): give the bot write access to it, or fill it yourself.", EXIT_MODEL) from None
    log.info("MODEL_DIR %s was empty: seeded it with the shipped model %s", model_dir, version)
    return True


def load_models(settings: Settings) -> ModelHolder:
    """The model in use, loaded and checked (it answers a known input) before the bot accepts photos."""
    if settings.model_dir is not None:
        seed_model_dir(settings.model_dir)
    store = ModelStore(settings.model_dir)
    try:
        return ModelHolder(Recognizer.load(store.path), store)
    except ModelError as error:
        raise StartupError(f"{error} (MODEL_DIR: {settings.model_dir or 'the shipped models/'})",
                           EXIT_MODEL) from None
