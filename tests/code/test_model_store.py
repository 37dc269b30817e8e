"""The models directory: a model is validated before it is used or switched to; publishing, switching and
pruning keep a usable model in use at every step; one training run at a time."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from recognizer import ModelError, Recognizer
from recognizer.classifier import DenseClassifier
from recognizer.confidence import SIGNALS
from recognizer.model_store import (
    CURRENT_FILE,
    MANIFEST_FILE,
    PREVIOUS_FILE,
    SHIPPED_MODELS_DIR,
    ModelStore,
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


UNUSED = [0.0] * (len(SIGNALS) - 1)  # weights that make the calibration complete


@pytest.mark.parametrize("changes", [{"piece_weight": 0}, {"piece_weight": "1.5"}, {"piece_weight": float("inf")},
                                     {"calibration": {"weights": [1.0, *UNUSED, 1.0], "bias": 0.0}},
                                     {"calibration": {"weights": ["a", *UNUSED], "bias": 0.0}},
                                     {"calibration": {"bias": 0.0}},
                                     {"calibration": {"weights": [float("nan"), *UNUSED], "bias": 0.0}},
                                     {"calibration": {"weights": [1.0, *UNUSED], "bias": float("inf")}}])
def test_serving_settings_in_the_manifest_are_checked(models, changes):
    _set_manifest(models, **changes)
    assert next(iter(changes)) in _one_line_model_error(models)


# --- the protocol: publish, switch (install and rollback), prune ------------------------------------

SHIPPED_VERSION = resolve_version_dir(SHIPPED_MODELS_DIR)


def _publish(store: ModelStore, version: str, make_current: bool = True, damage: bool = False) -> None:
    """Publish a copy of the shipped model under another version name, as training would."""
    with store.publish(version, make_current=make_current) as stage:
        for file in SHIPPED_VERSION.iterdir():
            shutil.copy(file, stage / file.name)
        manifest = json.loads((stage / MANIFEST_FILE).read_text())
        (stage / MANIFEST_FILE).write_text(json.dumps({**manifest, "version": version}))
        if damage:
            weights = (stage / "weights.npz").read_bytes()
            (stage / "weights.npz").write_bytes(weights[: len(weights) // 2])


def _staging_left(store: ModelStore) -> list[str]:
    return [p.name for p in store.path.iterdir() if p.name.startswith(".tmp-")]


def test_publishing_makes_the_version_current_and_remembers_the_one_before(tmp_path):
    store = ModelStore(tmp_path / "models")
    _publish(store, "20260101T000001Z")
    assert store.current() == "20260101T000001Z" and store.previous() is None
    _publish(store, "20260101T000002Z")
    assert store.current() == "20260101T000002Z" and store.previous() == "20260101T000001Z"
    assert Recognizer.load(store.path).version == "20260101T000002Z"
    assert _staging_left(store) == []


def test_publishing_beside_the_model_in_use(tmp_path):
    store = ModelStore(tmp_path / "models")
    _publish(store, "20260101T000001Z")
    _publish(store, "20260101T000002Z", make_current=False)
    assert store.current() == "20260101T000001Z" and store.previous() is None
    assert store.versions() == ["20260101T000001Z", "20260101T000002Z"]


def test_a_version_that_does_not_load_is_never_published(tmp_path):
    store = ModelStore(tmp_path / "models")
    _publish(store, "20260101T000001Z")
    before = (store.path / CURRENT_FILE).read_bytes()
    with pytest.raises(ModelError, match="weights"):
        _publish(store, "20260101T000002Z", damage=True)
    assert (store.path / CURRENT_FILE).read_bytes() == before
    assert store.versions() == ["20260101T000001Z"] and _staging_left(store) == []


def test_a_failure_while_writing_leaves_nothing(tmp_path):
    store = ModelStore(tmp_path / "models")
    with pytest.raises(OSError, match="No space"):
        with store.publish("20260101T000001Z") as stage:
            (stage / "weights.npz").write_bytes(b"half")
            raise OSError(28, "No space left on device")
    assert list(store.path.iterdir()) == [] and store.current() is None


def test_switching_back_and_forth_is_a_rollback_and_its_undo(tmp_path):
    store = ModelStore(tmp_path / "models")
    _publish(store, "20260101T000001Z")
    _publish(store, "20260101T000002Z")
    loaded = store.switch_to(store.previous(), Recognizer.load)
    assert loaded.version == "20260101T000001Z"
    assert (store.current(), store.previous()) == ("20260101T000001Z", "20260101T000002Z")
    store.switch_to(store.previous(), Recognizer.load)
    assert (store.current(), store.previous()) == ("20260101T000002Z", "20260101T000001Z")


def test_switching_to_a_damaged_version_changes_nothing(tmp_path):
    store = ModelStore(tmp_path / "models")
    _publish(store, "20260101T000001Z")
    _publish(store, "20260101T000002Z")
    weights = store.version_dir("20260101T000001Z") / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:1000])
    pointers = [(store.path / name).read_bytes() for name in (CURRENT_FILE, PREVIOUS_FILE)]
    with pytest.raises(ModelError):
        store.switch_to("20260101T000001Z", Recognizer.load)
    with pytest.raises(ModelError, match="no model"):
        store.switch_to("20990101T000000Z", Recognizer.load)
    assert [(store.path / name).read_bytes() for name in (CURRENT_FILE, PREVIOUS_FILE)] == pointers


def test_previous_is_none_once_its_folder_is_gone(tmp_path):
    store = ModelStore(tmp_path / "models")
    _publish(store, "20260101T000001Z")
    _publish(store, "20260101T000002Z")
    shutil.rmtree(store.version_dir("20260101T000001Z"))
    assert store.previous() is None


def test_pruning_keeps_the_newest_three_and_the_one_in_use(tmp_path):
    store = ModelStore(tmp_path / "models")
    _publish(store, "20260101T000001Z")  # in use throughout
    for second in range(2, 7):
        _publish(store, f"20260101T00000{second}Z", make_current=False)
    assert store.versions() == ["20260101T000001Z", "20260101T000004Z", "20260101T000005Z", "20260101T000006Z"]
    assert store.current() == "20260101T000001Z"


def test_where_the_directory_is(monkeypatch, tmp_path):
    monkeypatch.delenv("MODEL_DIR", raising=False)
    assert ModelStore().path == SHIPPED_MODELS_DIR
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    assert ModelStore().path == tmp_path
    assert ModelStore(tmp_path / "given").path == tmp_path / "given"  # a given directory wins
