"""The unit layer: fast, and never TensorFlow (serving, the bot and these tests do without it).

Each test checks that it did not load TensorFlow or Keras, and that collecting this directory's
modules did not either. Only finding MNIST may (tests/conftest.py's ``mnist_path``, a session
fixture set up before the test): where MNIST is not on disk, Keras downloads it.
"""

from __future__ import annotations

import sys

import pytest

HEAVY = ("tensorflow", "keras")


def _loaded() -> list[str]:
    return [name for name in HEAVY if name in sys.modules]


LOADED_BEFORE_COLLECTION = _loaded()
loaded_by_collection: list[str] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    if not LOADED_BEFORE_COLLECTION:
        loaded_by_collection.extend(_loaded())


@pytest.fixture(autouse=True)
def _no_tensorflow():
    assert not loaded_by_collection, f"importing the unit tests loaded {loaded_by_collection}"
    before = _loaded()
    yield
    assert _loaded() == before, f"this test loaded {sorted(set(_loaded()) - set(before))}; unit tests run without it"
