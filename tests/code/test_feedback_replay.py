"""bench/feedback_replay.py's bookkeeping: who is held out, and how before -> after is counted.

The replay itself drives the real bot and /train (minutes); these are the parts whose mistakes would
make its table say something false without failing: a held-out writer's photo sent as feedback, or a
wrong count of digits counted as a digit error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.feedback_replay import Photo, choose, figures


def _photos(writer: str, count: int) -> list[Photo]:
    return [Photo(Path(f"{writer}/{i:04d}_{i % 10}.jpg"), writer, str(i % 10)) for i in range(count)]


def test_held_out_writers_send_nothing_and_the_others_send_their_share():
    photos = {"a": _photos("a", 10), "b": _photos("b", 3), "c": _photos("c", 7)}
    choose(photos, ["c"], 0.7, np.random.default_rng(0))
    roles = {w: [p.role for p in own] for w, own in photos.items()}
    assert roles["c"] == ["other_writer"] * 7
    assert roles["a"].count("feedback") == 7 and roles["a"].count("same_writer") == 3
    assert roles["b"].count("feedback") == 2
    lone = {"d": _photos("d", 1)}
    choose(lone, [], 0.1, np.random.default_rng(0))
    assert lone["d"][0].role == "feedback"  # at least one photo of each writer in the feedback


def test_segmentation_errors_are_counted_apart_from_digit_errors():
    chosen = _photos("a", 4)  # labels 0, 1, 2, 3
    for photo, before, after in zip(chosen, ["0", "7", "", "33"], ["0", "1", "2", "8"]):
        photo.before, photo.after = before, after
    result = figures(chosen)
    assert result["before"] == {"right": 1, "digit_errors": 1, "segmentation_errors": 2}
    assert result["after"] == {"right": 3, "digit_errors": 1, "segmentation_errors": 0}
    assert (result["gained"], result["lost"]) == (2, 0)
    assert result["accuracy_before"] == 0.25 and result["accuracy_after"] == 0.75
    assert result["noise_two_se"] == pytest.approx(2 * np.sqrt(2 - 4 / 4) / 4)
    assert figures([])["count"] == 0
