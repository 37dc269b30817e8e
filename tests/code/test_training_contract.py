"""The bot <-> retraining contract: the command line, the feedback file, the events on stdout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.contract import (
    Done,
    Epoch,
    Failed,
    FeedbackFileError,
    FeedbackSamples,
    Miscounts,
    Scores,
    Started,
    Verdict,
    decode,
    encode,
    retrain_command,
)
from training.retrain import build_parser

EVENTS = [
    Started(epochs=3, feedback_samples=12, held_out=2, feedback_weight=1500.0, fine_tuning="20260101T000000Z"),
    Epoch(epoch=1, epochs=3, loss=0.12, accuracy=0.97, val_accuracy=0.985, epoch_seconds=12.5, seconds_left=25.0),
    Done(installed=True, reason="MNIST test 99.30% vs 99.29% in use", version="v2", previous="v1",
         current=Scores(0.9929, 0.5), candidate=Scores(0.993, None)),
    Failed(reason="DataError: the file could not be read"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_every_event_survives_the_pipe(event):
    line = encode(event)
    assert "\n" not in line
    assert decode(line) == event
    assert decode(line.encode()) == event  # the bot reads bytes


def test_done_carries_both_scores_under_scores():
    wire = json.loads(encode(EVENTS[2]))
    assert wire["event"] == "done" and wire["installed"] is True
    assert wire["scores"] == {"current": {"mnist": 0.9929, "feedback": 0.5},
                              "candidate": {"mnist": 0.993, "feedback": None}}


@pytest.mark.parametrize("line", [
    "I0000 00:00:1732912345.123 cpu_feature_guard.cc oneDNN custom operations are on", "", "   ", "[1, 2]",
    "{}", '{"event": "restarted"}', '{"event": "epoch", "epoch": 1}',
    '{"event": "done", "installed": true, "reason": "r", "version": "v", "previous": "p", "scores": {}}',
    '{"event": "failed", "reason": "x", "extra": 1}', b"\xff\xfe", '{"event": "failed"',
])
def test_anything_else_on_stdout_is_no_event(line):
    assert decode(line) is None


def test_the_trainer_parses_the_command_the_bot_builds(tmp_path):
    command = retrain_command(tmp_path / "feedback.npz", tmp_path / "models", 7, "/data/mnist.npz")
    assert command[1:3] == ["-m", "training.retrain"]
    args = build_parser().parse_args(command[3:])
    assert (args.samples, args.models_dir, args.epochs, args.data) == (
        tmp_path / "feedback.npz", tmp_path / "models", 7, "/data/mnist.npz")
    assert build_parser().parse_args(retrain_command(tmp_path / "f.npz", tmp_path, 1)[3:]).data is None


def _samples(count: int = 6) -> FeedbackSamples:
    rng = np.random.default_rng(0)
    rows = [{"images": rng.integers(0, 256, (28, 28), dtype=np.uint8), "labels": i % 10, "predicted": (i * 3) % 10,
             "confidence": 0.5 + i / 100, "verdicts": Verdict.WRONG if i % 2 else Verdict.RIGHT, "sample_ids": i + 1,
             "answer_ids": 100 + i // 2, "users": f"user{i % 3}", "created_at": 1_700_000_000.0 + i}
            for i in range(count)]
    miscounts = Miscounts(answer_ids=np.array([7, 9]), read=np.array(["12", "5"]), labels=np.array(["123", "51"]),
                          input_counts=np.array([2, 1]), inputs=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8))
    return FeedbackSamples.from_rows(rows, miscounts)


def test_the_feedback_file_round_trips(tmp_path):
    samples = _samples()
    samples.save(tmp_path / "feedback.npz")
    loaded = FeedbackSamples.load(tmp_path / "feedback.npz")
    assert len(loaded) == 6
    for name in ("images", "labels", "predicted", "confidence", "verdicts", "sample_ids", "answer_ids", "users",
                 "created_at"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(samples, name), err_msg=name)
    assert loaded.verdicts.tolist() == ["right", "wrong"] * 3
    assert loaded.corrected().tolist() == [False, True] * 3
    assert len(loaded.miscounts) == 2 and loaded.miscounts.labels.tolist() == ["123", "51"]
    np.testing.assert_array_equal(loaded.miscounts.inputs, samples.miscounts.inputs)
    assert not list(tmp_path.glob(".*partial"))


def test_an_empty_file_round_trips(tmp_path):
    FeedbackSamples.empty().save(tmp_path / "none.npz")
    loaded = FeedbackSamples.load(tmp_path / "none.npz")
    assert len(loaded) == 0 and loaded.images.shape == (0, 28, 28) and len(loaded.miscounts) == 0


def test_one_sample_in_five_is_held_out_by_id():
    samples = FeedbackSamples.from_rows([dict(images=np.zeros((28, 28), np.uint8), labels=1, predicted=1,
                                              confidence=0.9, verdicts="right", sample_ids=i, answer_ids=i,
                                              users="u", created_at=0.0) for i in range(1, 11)])
    assert np.flatnonzero(samples.held_out()).tolist() == [4, 9]  # ids 5 and 10


@pytest.mark.parametrize("content", [None, b"", b"not a zip", "npz-without-format"])
def test_what_is_not_a_feedback_file_is_refused(tmp_path, content):
    path = tmp_path / "feedback.npz"
    if content == "npz-without-format":
        np.savez(path, images=np.zeros((0, 28, 28), np.uint8))
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(FeedbackFileError):
        FeedbackSamples.load(path)


def test_arrays_that_disagree_or_unknown_verdicts_are_refused():
    good = _samples(2)
    with pytest.raises(FeedbackFileError, match="disagree"):
        FeedbackSamples(**{**_fields(good), "labels": np.array([1, 2, 3])})
    with pytest.raises(FeedbackFileError, match="verdicts"):
        FeedbackSamples(**{**_fields(good), "verdicts": np.array(["right", "maybe"])})


def _fields(samples: FeedbackSamples) -> dict:
    return {name: getattr(samples, name) for name in FeedbackSamples._ARRAYS}
