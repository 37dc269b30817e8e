"""Issue 9, case 12: tests find MNIST the way training does, and skip only when nothing works, saying how to fix it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import REPO

# A tiny file in Keras's layout: the tests below check where MNIST is looked for, not what it holds.
_PROBE_TEST = '''
def test_probe(mnist_path):
    print("FOUND", mnist_path)
'''


def _run_probe(tmp_path: Path, home: Path, **env: str) -> str:
    """Run one test that needs MNIST under pytest, with ``home`` as HOME and MNIST_PATH unset."""
    probe = tmp_path / "probe"
    probe.mkdir(exist_ok=True)
    (probe / "test_probe.py").write_text(_PROBE_TEST)
    (probe / "conftest.py").write_text("from tests.conftest import mnist_path  # noqa: F401\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("MNIST_PATH", "KERAS_HOME")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-s", "-p", "no:cacheprovider",
                             str(probe / "test_probe.py")], cwd=REPO, capture_output=True, text=True, timeout=240,
                            env={**clean, "HOME": str(home), "PYTHONPATH": str(REPO), **env})
    return result.stdout + result.stderr


def _tiny_mnist(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    images, labels = np.zeros((10, 28, 28), np.uint8), np.arange(10)
    np.savez(path, x_train=images, y_train=labels, x_test=images, y_test=labels)


def test_keras_cache_is_found_without_mnist_path(tmp_path):
    home = tmp_path / "home"
    _tiny_mnist(home / ".keras" / "datasets" / "mnist.npz")
    output = _run_probe(tmp_path, home)
    assert f"FOUND {home}/.keras/datasets/mnist.npz" in output and "1 passed" in output, output[-2000:]


def test_skip_only_when_nothing_works_and_say_how_to_fix_it(tmp_path):
    home = tmp_path / "empty-home"
    home.mkdir()
    # Keras's download is attempted for real and fails at once: the proxy it must use refuses connections.
    blocked = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "https_proxy":
               "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9", "TF_CPP_MIN_LOG_LEVEL": "3"}
    output = _run_probe(tmp_path, home, **blocked)
    assert "1 skipped" in output, output[-2000:]
    assert "download failed" in output and "Fix: set MNIST_PATH" in output
    assert f"{home}/.keras/datasets/mnist.npz" in output


def test_mnist_path_wins_and_a_wrong_one_is_named(tmp_path):
    home = tmp_path / "home"
    _tiny_mnist(home / ".keras" / "datasets" / "mnist.npz")
    chosen = tmp_path / "chosen.npz"
    _tiny_mnist(chosen)
    assert f"FOUND {chosen}" in _run_probe(tmp_path, home, MNIST_PATH=str(chosen))
    output = _run_probe(tmp_path, home, MNIST_PATH=str(tmp_path / "missing.npz"))
    assert "1 skipped" in output and "missing.npz, which does not exist" in output, output[-2000:]
