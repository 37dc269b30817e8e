"""What is stored of an answer, in the columns' own formats, and the picture "What I saw" makes of it."""

from __future__ import annotations

import numpy as np
import pytest

from bot.answers import COLUMNS, StoredAnswer, writing_of
from recognizer import DigitResult, Recognition, Status
from recognizer.debug import ENLARGE, caption, inputs_picture


def recognition() -> Recognition:
    four, two = np.full((28, 28), 4, np.uint8), np.full((28, 28), 2, np.uint8)
    return Recognition(Status.UNSURE, "42", 0.55, [DigitResult(4, 0.7, [(4, 0.7), (9, 0.2)], (10, 5, 30, 60), four),
                                                   DigitResult(2, 0.99, [(2, 0.99)], (45, 5, 30, 60), two)],
                       seconds=0.0125)


def test_what_is_stored_of_a_recognition():
    answer = StoredAnswer.of(recognition(), chat_id=5, model_version="v7")
    row = dict(zip(COLUMNS, answer.to_row()))
    assert row["status"] == "unsure" and row["number"] == "42" and row["chat_id"] == 5
    assert row["latency_ms"] == pytest.approx(12.5) and row["model_version"] == "v7"
    assert row["digits"] == "4:0.7000,2:0.9900"
    assert len(row["inputs"]) == 2 * 28 * 28 and row["inputs"][:1] == b"\x04" and row["inputs"][-1:] == b"\x02"


def test_a_row_reads_back_as_the_answer_it_was():
    answer = StoredAnswer.of(recognition(), chat_id=5, model_version="v7")
    back = StoredAnswer.from_row({"id": 3, **dict(zip(COLUMNS, answer.to_row()))})
    assert back.id == 3 and back.status is Status.UNSURE and back.number == "42"
    assert [(d.digit, d.confidence) for d in back.digits] == [(4, 0.7), (2, 0.99)]
    np.testing.assert_array_equal(back.images, answer.images)


def test_what_i_saw_shows_each_input_with_its_caption():
    answer = StoredAnswer.of(recognition(), chat_id=5, model_version="v7")
    picture = inputs_picture(answer.images, [caption(d.digit, d.confidence) for d in answer.digits])
    tile = 28 * ENLARGE + 4  # enlarged, with a 2-px border
    assert picture.shape == (tile, 2 * tile, 3)
    assert caption(4, 0.7) == "4 70%"
    assert inputs_picture([], []).shape == (28 * ENLARGE, 28 * ENLARGE, 3)  # "no digit"
    with pytest.raises(ValueError):
        inputs_picture(answer.images, ["only one caption"])


def test_the_writing_is_stored_as_a_png_and_reads_back():
    writing = np.zeros((28, 50), np.uint8)
    writing[4:24, 8:12] = 255
    recognized = recognition()
    recognized.writing = writing
    answer = StoredAnswer.of(recognized, chat_id=5, model_version="v7")
    row = dict(zip(COLUMNS, answer.to_row()))
    assert row["writing"].startswith(b"\x89PNG") and len(row["writing"]) < writing.size  # small, lossless
    back = StoredAnswer.from_row({"id": 3, **row})
    np.testing.assert_array_equal(writing_of(back.writing), writing)
    assert StoredAnswer.of(recognition(), chat_id=5, model_version="v7").writing is None  # none found, none kept
