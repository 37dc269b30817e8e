"""The models directory: a model is validated before it is used or switched to; one training run at a time."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from recognizer import ModelError, Recognizer
from recognizer.classifier import DenseClassifier
from recognizer.model_store import (
    CURRENT_FILE,
    MANIFEST_FILE,
    SHIPPED_MODELS_DIR,
    TrainingBusy,
    read_pointer,
    resolve_version_dir,
    training_lock,
    validate_model,
)


@pytest.fixture
def models(tmp_path):
    target = tmp_path / "models"
    shutil.copytree(SHIPPED_MODELS_DIR, target)
    return target


def _set_manifest(models, **changes):
    version = resolve_version_dir(models)
    manifest = json.loads((version / MANIFEST_FILE).read_text())
    (version / MANIFEST_FILE).write_text(json.dumps({**manifest, **changes}))


def _one_line_model_error(models) -> str:
    with pytest.raises(ModelError) as error:
        Recognizer.load(models)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_the_shipped_model_passes():
    assert Recognizer.load(SHIPPED_MODELS_DIR).temperature > 0


@pytest.mark.parametrize("temperature", [0, -1.5, "abc", None, float("nan"), True])
def test_temperature_must_be_a_positive_number(models, temperature):
    _set_manifest(models, temperature=temperature)
    assert "temperature" in _one_line_model_error(models)


def test_wrong_shaped_weights_are_refused(models):
    version = resolve_version_dir(models)
    with np.load(version / "weights.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["bias_0"] = arrays["bias_0"][:-1]
    np.savez(version / "weights.npz", **arrays)
    assert "do not fit" in _one_line_model_error(models)


def test_a_model_that_does_not_answer_is_refused():
    kernel = np.full((784, 10), np.inf, np.float32)
    with pytest.raises(ModelError, match="not finite"):
        validate_model(DenseClassifier([kernel], [np.zeros(10)], 1 / 255), {"temperature": 1.0})
    with pytest.raises(ModelError, match="outputs"):
        validate_model(DenseClassifier([np.ones((784, 7))], [np.zeros(7)], 1 / 255), {})


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"not a zip at all"])
def test_unreadable_weights_are_one_line(models, content):
    (resolve_version_dir(models) / "weights.npz").write_bytes(content)
    assert "weights" in _one_line_model_error(models)


def test_manifest_that_is_not_an_object(models):
    (resolve_version_dir(models) / MANIFEST_FILE).write_text("[1, 2]")
    assert "not an object" in _one_line_model_error(models)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00", b"", b"../../etc\n", b".tmp-x\n"])
def test_current_that_names_no_version(models, content):
    (models / CURRENT_FILE).write_bytes(content)
    assert read_pointer(models) is None
    assert CURRENT_FILE in _one_line_model_error(models)


def test_one_training_run_at_a_time(tmp_path):
    with training_lock(tmp_path):
        with pytest.raises(TrainingBusy):
            with training_lock(tmp_path):
                pass
    with training_lock(tmp_path):  # released when the holder is done
        pass
