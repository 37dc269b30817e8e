"""Real photos: the dev set in ../shared (not in the repository: its licences forbid copying it).

Skipped where the set is absent. The bounds sit a little under what bench/photo_accuracy.py measures
for the shipped model (README, Results), so a change that costs real photos a few answers fails here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from recognizer import Recognizer
from recognizer.evaluation import Answer, summarise

REPO = Path(__file__).resolve().parents[2]
PHOTOS = Path(os.environ.get("PHOTOS_DEV") or REPO.parent / "shared" / "data" / "photos-dev")


def read_folder(recognizer: Recognizer, folder: Path) -> list[Answer]:
    answers = []
    for file in sorted(folder.rglob("*")):
        if file.is_file() and "_" in file.stem and file.suffix.lower() in {".jpg", ".jpeg", ".png"}:
            result = recognizer.recognize(file.read_bytes())
            answers.append(Answer(file.parent.name, file.stem.split("_", 1)[1], result.number, result.confidence,
                                  result.status))
    return answers


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    if not (PHOTOS / "single").is_dir():
        pytest.skip(f"no dev photos at {PHOTOS}: set PHOTOS_DEV to the photos-dev folder to run these")
    return Recognizer.load()


def test_single_digits_of_every_writer(recognizer):
    figures = summarise(read_folder(recognizer, PHOTOS / "single"))
    assert figures["count"] >= 382
    assert figures["exact"] >= SINGLE["exact"], figures
    assert figures["exact_averaged_per_group"] >= SINGLE["per_writer"], figures
    assert figures["ok_right"] >= SINGLE["ok_right"], figures
    assert figures["calibration_error"] <= SINGLE["calibration_error"], figures


def test_cheque_amounts(recognizer):
    answers = read_folder(recognizer, PHOTOS / "multi")
    figures = summarise(answers)
    assert figures["count"] >= 560
    assert figures["exact"] >= CHEQUES["exact"], figures
    assert figures["ok_right"] >= CHEQUES["ok_right"], figures
    assert figures["calibration_error"] <= CHEQUES["calibration_error"], figures
    # Wrong answers given as sure are what costs trust: they stay rare.
    wrong_and_sure = np.mean([a.status == "ok" and not a.right for a in answers])
    assert wrong_and_sure <= CHEQUES["wrong_and_sure"], figures


def test_a_lone_1_is_answered_as_a_guess_not_as_no_digit(recognizer):
    """A single upright stroke looks much like a ruled line or the paper's edge, and the networks may believe
    "nothing written" most; ink was found, so the answer is still the best number, given as unsure (before:
    "no digit", with 97% and 70% belief in nothing, for these two photos of writer krisut01)."""
    for name in ("0001_1.png", "0011_1.png"):
        result = recognizer.recognize((PHOTOS / "single" / "krisut01" / name).read_bytes())
        assert (result.status, result.number) == ("unsure", "1"), (name, result.to_dict())
        assert result.confidence < 0.6, name


# Measured for the shipped model (20261130T142855Z) by bench/photo_accuracy.py at 34e7144, bounds a little
# under: single digits 98.4% exact, 98.4% averaged per writer, 100% of "ok" answers right, calibration error
# 0.041; cheques 57.5% exact, 95.3% of "ok" answers right, calibration error 0.071. (The reader before: 97.9%,
# 97.3%, 100%, 0.039; 57.3%, 95.3%, 0.071, 1.1% wrong and "ok". 20261130T114537Z: 96.9%, 96.9%, 100%, 0.041;
# 57.3%, 92.3%, 0.067, 1.8%.)
SINGLE = {"exact": 0.98, "per_writer": 0.98, "ok_right": 0.99, "calibration_error": 0.05}
CHEQUES = {"exact": 0.55, "ok_right": 0.9, "calibration_error": 0.08, "wrong_and_sure": 0.03}
