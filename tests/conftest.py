"""Shared fixtures: the real MNIST file, a small model trained for real, rendered digit photos."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from digitbot.testkit import postgres
from digitbot.testkit.postgres import TestDatabase
from training.data import DataError, locate_mnist

REPO = Path(__file__).resolve().parent.parent


T = TypeVar("T")


def at_once(function: Callable[[], T], times: int = 4) -> tuple[list[T], list[BaseException]]:
    """Call ``function`` from ``times`` threads started together (processes starting at the same moment):
    what the calls returned, and what they raised."""
    results: list[T] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(function())
        except BaseException as error:  # noqa: BLE001 - the caller asserts on whatever went wrong
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


@functools.cache
def _mnist_path() -> tuple[Path | None, str]:
    """Found once per session, the way training finds it: $MNIST_PATH, Keras's cache, Keras's download."""
    try:
        return locate_mnist(), ""
    except DataError as error:
        return None, str(error)


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path, why = _mnist_path()
    if path is None:
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path: Path) -> dict[str, np.ndarray]:
    with np.load(mnist_path) as archive:
        return {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}


@pytest.fixture(scope="session")
def small_mnist_file(tmp_path_factory: pytest.TempPathFactory, mnist: dict[str, np.ndarray]) -> Path:
    """A real slice of MNIST (3,000 train, 1,000 test) in Keras's layout, for quick training runs."""
    path = tmp_path_factory.mktemp("data") / "mnist-small.npz"
    np.savez(path, x_train=mnist["x_train"][:3000], y_train=mnist["y_train"][:3000],
             x_test=mnist["x_test"][:1000], y_test=mnist["y_test"][:1000])
    return path


# A few synthetic photos instead of thousands: enough to train and calibrate a (poor) piece network fast.
QUICK_READER = ("--photos", "30", "--validation-photos", "20", "--calibration-photos", "20", "--piece-epochs", "1")


def run_train(data: Path, models_dir: Path, *extra: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``python -m training`` as a user would, in a subprocess (one epoch, few synthetic photos)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, "-m", "training", "--data", str(data), "--models-dir", str(models_dir),
                           "--epochs", "1", *QUICK_READER, *extra], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def trained_models_dir(tmp_path_factory: pytest.TempPathFactory, small_mnist_file: Path) -> Path:
    """A models directory holding one model trained for real, for one epoch on the small slice."""
    models_dir = tmp_path_factory.mktemp("models")
    result = run_train(small_mnist_file, models_dir, "--seed", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    return models_dir


def own_database() -> Iterator[TestDatabase]:
    """A database of its own on the PostgreSQL that DIGITBOT_TEST_POSTGRES names (else a skip), dropped after."""
    why = postgres.unavailable()
    if why is not None:
        pytest.skip(why)
    database = TestDatabase()
    yield database
    database.drop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TestDatabase]:
    """The session's own database, emptied by ``postgres_url`` for each test that uses it."""
    yield from own_database()


@pytest.fixture
def postgres_url(postgres_server: TestDatabase) -> str:
    """The URL of an empty PostgreSQL database for one test."""
    postgres_server.reset()
    return postgres_server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Each engine in turn: a fresh SQLite file, then an empty PostgreSQL database (skipped without one)."""
    if request.param == "sqlite":
        return tmp_path / "db.sqlite3"
    return request.getfixturevalue("postgres_url")
