"""Photos carried by the suite (tests/photos, made by the project: see its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recognizer import Recognizer, Status
from recognizer.recognizer import UNSURE_BELOW

PHOTOS = Path(__file__).resolve().parents[1] / "photos"
ON_LINES = ["ruled_2048.jpg", "ruled_7.jpg", "squared_385.jpg"]  # each name ends in the number written


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


def test_the_photos_are_there():
    assert sorted(p.name for p in PHOTOS.glob("*.jpg")) == [*ON_LINES, "unsure_5_over_6.jpg"]


@pytest.mark.parametrize("name", ON_LINES)
def test_ruled_and_squared_paper(recognizer, name):
    """The printed lines are not ink: the number on them is read, and given as an answer, not a guess."""
    result = recognizer.recognize((PHOTOS / name).read_bytes())
    assert (result.number, result.status) == (Path(name).stem.rsplit("_", 1)[1], Status.OK), result.to_dict()


def five_over_six(recognizer):
    result = recognizer.recognize((PHOTOS / "unsure_5_over_6.jpg").read_bytes())
    return result, {result.number, *(number for number, _ in result.alternatives)}


def test_a_5_written_over_a_6_is_a_guess(recognizer):
    """No honest single digit: the answer is given as unsure, with the 6 among the readings offered.

    Measured (model 20261130T142855Z): "8", 31% sure, with 6 (31%) and 0 (26%) as alternatives; 20261130T114537Z
    read "6", 66% sure, with 0 and 5; 20261130T055054Z "6" at 41%.
    """
    result, readings = five_over_six(recognizer)
    assert result.status == Status.UNSURE and result.confidence < UNSURE_BELOW, result.to_dict()
    assert "6" in readings, result.to_dict()


@pytest.mark.xfail(strict=True, reason="model 20261130T142855Z gives the 5 of a 5 over a 6 only 5%: not among "
                                       "the alternatives (the model before named it)")
def test_a_5_written_over_a_6_names_the_5_too(recognizer):
    _, readings = five_over_six(recognizer)
    assert "5" in readings
