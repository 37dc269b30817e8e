"""Photos carried by the suite (tests/photos, made by the project: see its README) read right and sure."""

from __future__ import annotations

from pathlib import Path

import pytest

from recognizer import Recognizer, Status

PHOTOS = Path(__file__).resolve().parents[1] / "photos"
MADE = sorted(PHOTOS.glob("*.jpg"))


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


def test_the_photos_are_there():
    assert [p.name for p in MADE] == ["ruled_2048.jpg", "ruled_7.jpg", "squared_385.jpg"]


@pytest.mark.parametrize("photo", MADE, ids=lambda p: p.stem)
def test_ruled_and_squared_paper(recognizer, photo):
    """The printed lines are not ink: the number on them is read, and given as an answer, not a guess."""
    result = recognizer.recognize(photo.read_bytes())
    assert (result.number, result.status) == (photo.stem.rsplit("_", 1)[1], Status.OK), result.to_dict()
