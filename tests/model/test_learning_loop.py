"""The learning loop works: corrected samples of a style the model misreads teach it that style.

Users send "bubble" digits (drawn as outlines), which the shipped model reads poorly; they correct
the answers; /train's retraining process runs; the candidate reads the style much better while its
MNIST accuracy stays within 0.3 points of the model in use.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from bot.answers import StoredAnswer, StoredDigit
from bot.storage import Storage
from recognizer import Recognizer, Status
from recognizer.model_store import SHIPPED_MODELS_DIR
from tests.conftest import REPO
from training.contract import retrain_command

pytestmark = pytest.mark.slow


def outline(image: np.ndarray) -> np.ndarray:
    """The digit's outline only, like bubble lettering."""
    ink = (image > 100).astype(np.uint8)
    return ((cv2.dilate(ink, np.ones((3, 3), np.uint8)) - ink) * 255).astype(np.uint8)


def test_feedback_on_a_misread_style_is_learned(tmp_path, mnist, mnist_path):
    models_dir = tmp_path / "models"
    shutil.copytree(SHIPPED_MODELS_DIR, models_dir)
    base = Recognizer.load(models_dir)

    # 500 users' corrections of bubble digits, stored the way the bot stores them.
    storage = Storage(tmp_path / "digitbot.sqlite3", salt="test")
    rng = np.random.default_rng(0)
    picks = rng.choice(len(mnist["x_train"]), 500, replace=False)
    misread = 0
    for index in picks:
        image = outline(mnist["x_train"][index])
        said = int(base.classify(image[None]).argmax())
        misread += said != int(mnist["y_train"][index])
        answer = StoredAnswer(chat_id=int(index), status=Status.OK, number=str(said), confidence=0.9, latency_ms=5.0,
                              model_version=base.version, digits=(StoredDigit(said, 0.9, image),))
        answer_id = storage.record_answer(int(index), answer)
        storage.record_feedback(answer_id, int(index), "wrong", str(mnist["y_train"][index]))
    storage.feedback_samples().save(tmp_path / "feedback.npz")  # what the bot hands to the run
    storage.close()

    test_x = np.stack([outline(image) for image in mnist["x_test"][:1000]])
    test_y = mnist["y_test"][:1000]
    base_style = float((base.classify(test_x).argmax(axis=1) == test_y).mean())
    assert base_style < 0.75  # the shipped model really does misread this style

    result = subprocess.run(retrain_command(tmp_path / "feedback.npz", models_dir, 3, str(mnist_path)),
                            cwd=REPO, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    done = events[-1]
    assert done["event"] == "done" and events[0]["feedback_samples"] == 500
    candidate = Recognizer.load(models_dir / done["version"])
    new_style = float((candidate.classify(test_x).argmax(axis=1) == test_y).mean())
    print(f"bubble digits: {base_style:.1%} -> {new_style:.1%}")
    assert new_style > base_style + 0.15, (base_style, new_style)
    base_mnist = float((base.classify(mnist["x_test"]).argmax(axis=1) == mnist["y_test"]).mean())
    new_mnist = float((candidate.classify(mnist["x_test"]).argmax(axis=1) == mnist["y_test"]).mean())
    print(f"MNIST test: {base_mnist:.2%} -> {new_mnist:.2%}; installed: {done['installed']} ({done['reason']})")
    assert abs(new_mnist - base_mnist) <= 0.003, (base_mnist, new_mnist)
    # The run judged what this test measured: the MNIST test set, and the held-out fifth of the feedback.
    scores = done["scores"]
    assert scores["current"]["mnist"] == pytest.approx(base_mnist, abs=1e-4)
    assert scores["candidate"]["mnist"] == pytest.approx(new_mnist, abs=1e-4)
    # Measured (shipped networks of 20261129T214308Z, 2 cores): held-out bubble digits 51.0% -> 82.0%, MNIST
    # 99.28% -> 99.08%, installed; with misread digits in 30 copies weighing 30 confirmed ones (issue 13):
    # 51.0% -> 89.0%, MNIST 99.28% -> 99.16%, bubble digits of the test set 58.3% -> 85.5%, installed.
    # A candidate that learned the style this well at that cost is what the loop exists to install; a
    # recipe that costs more than the 0.2-point MNIST tolerance makes this fail (as it should: the loop
    # would then keep the model).
    assert scores["current"]["feedback"] <= 0.6 and scores["candidate"]["feedback"] >= 0.75, scores
    assert done["installed"] is True, done["reason"]
    # What the final message tells the users who corrected: the misread digits it trained on are read right
    # now (issue 13 asks for 80%), and most held-out ones too; the model in use read none of them. Measured
    # (same run as above): fixed 181 of 203 trained on (89%), 43 of 49 held out (88%; 75% is ~2.7 standard
    # errors of 49 digits below).
    fixes = done["corrections"]
    print(f"corrected digits: fixed {fixes['trained_fixed']} of {fixes['trained']} trained on, "
          f"{fixes['held_out_fixed']} of {fixes['held_out']} held out")
    assert fixes["trained"] + fixes["held_out"] == misread
    assert fixes["trained_before"] == fixes["held_out_before"] == 0
    assert fixes["trained_fixed"] >= 0.8 * fixes["trained"], fixes
    assert fixes["held_out_fixed"] >= 0.75 * fixes["held_out"], fixes
    assert (models_dir / "CURRENT").read_text().strip() == done["version"]
