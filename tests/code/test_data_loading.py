"""Loading and validating training data: clear errors instead of tracebacks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO
from training.data import DataError, load_mnist


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _valid_arrays(n_train=20, n_test=10):
    rng = np.random.default_rng(0)
    return dict(x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
                y_train=rng.integers(0, 10, n_train).astype(np.uint8),
                x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
                y_test=rng.integers(0, 10, n_test).astype(np.uint8))


def test_valid_file_loads(tmp_path):
    data = load_mnist(_write(tmp_path / "ok.npz", **_valid_arrays()))
    assert data.x_train.shape == (20, 28, 28) and data.y_test.shape == (10,)


def test_path_comes_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_PATH", str(_write(tmp_path / "env.npz", **_valid_arrays(n_train=7))))
    assert load_mnist().x_train.shape[0] == 7


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(DataError, match="MNIST_PATH"):
        load_mnist(tmp_path / "nope.npz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(x_train=a["x_train"][:, :20, :20]), "expected \\(N, 28, 28\\)"),
        (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "expected uint8"),
        (lambda a: a.update(y_train=a["y_train"] + 5), "labels 0-9"),
        (lambda a: a.update(y_test=a["y_test"][:3]), "y_test has shape"),
        (lambda a: a.pop("y_test"), "lacks the array"),
    ],
)
def test_malformed_data_is_refused(tmp_path, change, message):
    arrays = _valid_arrays()
    change(arrays)
    with pytest.raises(DataError, match=message):
        load_mnist(_write(tmp_path / "bad.npz", **arrays))


def test_not_an_archive(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match="could not be read"):
        load_mnist(path)


def test_cli_prints_one_clear_error_not_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "training", "--data", str(tmp_path / "missing.npz"),
                             "--models-dir", str(tmp_path / "models")], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "No MNIST file" in result.stderr and "--data" in result.stderr
    assert not (tmp_path / "models").exists()
