"""The model shipped in models/ is the one the README promises."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from recognizer import Recognizer
from recognizer.confidence import SIGNALS
from recognizer.model_store import SHIPPED_MODELS_DIR, resolve_version_dir
from tests.conftest import QUICK_READER, REPO


def test_shipped_model_scores_at_least_99_percent_on_mnist_test(mnist):
    recognizer = Recognizer.load()
    probabilities = recognizer.classify(mnist["x_test"])
    accuracy = float((probabilities.argmax(axis=1) == mnist["y_test"]).mean())
    assert accuracy >= 0.99, accuracy
    assert abs(accuracy - recognizer.manifest["test_accuracy"]) < 1e-4


def test_recalibration_publishes_the_same_networks_with_a_new_map(tmp_path, mnist_path):
    """``python -m training.calibrate`` on a copy of the shipped models: a new version in use, networks unchanged."""
    models = tmp_path / "models"
    shutil.copytree(SHIPPED_MODELS_DIR, models)
    before = resolve_version_dir(models)
    result = subprocess.run([sys.executable, "-m", "training.calibrate", "--models-dir", str(models),
                             "--photos", "30", "--data", str(mnist_path)],
                            capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr
    after = resolve_version_dir(models)
    assert after != before and (models / "PREVIOUS").read_text().strip() == before.name
    for name in ("weights.npz", "pieces.npz", "model.keras"):
        assert (after / name).read_bytes() == (before / name).read_bytes()
    manifest = json.loads((after / "manifest.json").read_text())
    assert manifest["recalibrated_from"] == before.name and manifest["reader"]["calibration"]["photos"] == 30
    assert manifest["calibration"]["weights"][SIGNALS.index("digits")] == 0.0
    assert Recognizer.load(models).version == after.name


def test_reader_only_training_keeps_the_digit_network_and_replaces_the_piece_network(tmp_path, mnist_path):
    """``digitbot train --reader-only`` on a copy of the shipped models: the same digit network, a new piece
    network and calibration, published as a new version in use."""
    models = tmp_path / "models"
    shutil.copytree(SHIPPED_MODELS_DIR, models)
    before = resolve_version_dir(models)
    result = subprocess.run([sys.executable, "-m", "training", "--reader-only", "--models-dir", str(models),
                             "--data", str(mnist_path), *QUICK_READER],
                            capture_output=True, text=True, timeout=600, cwd=REPO,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    after = resolve_version_dir(models)
    assert after != before and (models / "PREVIOUS").read_text().strip() == before.name
    for name in ("weights.npz", "model.keras"):
        assert (after / name).read_bytes() == (before / name).read_bytes()
    assert (after / "pieces.npz").read_bytes() != (before / "pieces.npz").read_bytes()
    manifest = json.loads((after / "manifest.json").read_text())
    assert manifest["reader_retrained_from"] == before.name and manifest["synthetic_photos"] == 30
    assert manifest["reader"]["calibration"]["photos"] == 20 and "recalibrated_from" not in manifest
    assert Recognizer.load(models).version == after.name
