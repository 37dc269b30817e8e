"""Where models live and which one is in use: ``models/CURRENT`` names a version directory."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

CURRENT_FILE = "CURRENT"
PREVIOUS_FILE = "PREVIOUS"  # the version CURRENT replaced last, for rollback
MANIFEST_FILE = "manifest.json"
KERAS_FILE = "model.keras"
KEEP_VERSIONS = 3
MODEL_DIR_ENV = "MODEL_DIR"
SHIPPED_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class ModelError(Exception):
    """No usable model: missing, unreadable, or made for another preprocessing version."""


def default_models_dir() -> Path:
    """``$MODEL_DIR`` if set, else the ``models/`` directory shipped with the code."""
    return Path(os.environ.get(MODEL_DIR_ENV) or SHIPPED_MODELS_DIR)


def resolve_version_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Accept a models directory (follow its CURRENT pointer) or a version directory itself."""
    base = Path(path) if path else default_models_dir()
    if (base / MANIFEST_FILE).is_file():
        return base
    pointer = base / CURRENT_FILE
    if not pointer.is_file():
        raise ModelError(f"No model found in {base}: it has neither {MANIFEST_FILE} nor {CURRENT_FILE}. "
                         "Train one with `digitbot train` or point MODEL_DIR at the shipped models/ directory.")
    version_dir = base / pointer.read_text(encoding="utf-8").strip()
    if not (version_dir / MANIFEST_FILE).is_file():
        raise ModelError(f"{pointer} names {version_dir.name}, which has no {MANIFEST_FILE}.")
    return version_dir


def read_manifest(version_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((version_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"The manifest in {version_dir} could not be read: {error}") from None


def set_current(models_dir: Path, version: str) -> None:
    """Point ``CURRENT`` at ``version`` (and ``PREVIOUS`` at the one it replaces), each by atomic rename."""
    current = models_dir / CURRENT_FILE
    if current.is_file():
        old = current.read_text(encoding="utf-8").strip()
        if old and old != version:
            _write_pointer(models_dir, PREVIOUS_FILE, old)
    _write_pointer(models_dir, CURRENT_FILE, version)


def _write_pointer(models_dir: Path, name: str, version: str) -> None:
    pointer_tmp = models_dir / f".{name}.tmp"
    pointer_tmp.write_text(version + "\n", encoding="utf-8")
    fsync_file(pointer_tmp)
    os.replace(pointer_tmp, models_dir / name)
    _fsync_dir(models_dir)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
