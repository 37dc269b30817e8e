"""The model shipped in models/ is the one the README promises."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from recognizer import Recognizer
from recognizer.confidence import SIGNALS
from recognizer.model_store import SHIPPED_MODELS_DIR, resolve_version_dir
from tests.conftest import REPO


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
