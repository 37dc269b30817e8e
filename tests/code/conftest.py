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
loaded_by_collection: list[str] = []  # the first unit-test module whose import loaded them, and what


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """After each module of this directory is collected (imported): did that load TensorFlow?"""
    in_this_directory = report.nodeid.startswith("tests/code/") and report.nodeid.endswith(".py")
    if in_this_directory and not LOADED_BEFORE_COLLECTION and not loaded_by_collection and _loaded():
        loaded_by_collection.extend([report.nodeid, *_loaded()])


@pytest.fixture(autouse=True)
def _no_tensorflow():
    assert not loaded_by_collection, f"importing {loaded_by_collection[0]} loaded {loaded_by_collection[1:]}"
    before = _loaded()
    yield
    assert _loaded() == before, f"this test loaded {sorted(set(_loaded()) - set(before))}; unit tests run without it"
