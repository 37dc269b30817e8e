"""A few corrections among many confirmations must move the model: what the trainer is given, and what the
run reports about the corrected digits afterwards (the figure a user who corrected the bot cares about)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.training_job import decided_text
from recognizer import Recognizer
from recognizer.model_store import SHIPPED_MODELS_DIR
from training.contract import Corrections, Done, FeedbackSamples, Scores, Verdict, decode, encode
from training.retrain import (
    CORRECTION_COPIES,
    CORRECTION_FACTOR,
    FEEDBACK_SHARE,
    corrections_report,
    feedback_training,
)


def _feedback(labels: list[int], predicted: list[int], images: np.ndarray | None = None) -> FeedbackSamples:
    """One sample per label, ids 1..N (so ids 5, 10, ... are held out); distinct images to trace copies."""
    if images is None:
        images = np.arange(len(labels), dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
    return FeedbackSamples.from_rows([
        {"images": images[i], "labels": label, "predicted": predicted[i], "confidence": 0.9,
         "verdicts": Verdict.RIGHT if label == predicted[i] else Verdict.WRONG, "sample_ids": i + 1,
         "answer_ids": i + 1, "users": "u", "created_at": 0.0} for i, label in enumerate(labels)])


def test_a_misread_digit_is_repeated_and_outweighs_a_confirmed_one():
    # 10 samples: ids 3 and 7 misread (trained on), id 5 misread but held out, the rest confirmed.
    labels = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    predicted = [1, 2, 8, 4, 6, 6, 1, 8, 9, 0]
    feedback = _feedback(labels, predicted)
    train = ~feedback.held_out()
    extra = feedback_training(feedback, train, mnist_digits=55_000, copies=25, factor=40)

    assert extra.corrected == 2
    assert len(extra.x) == 6 + 2 * 25  # 6 confirmed trained on once, 2 misread 25 times; ids 5, 10 held out
    kept_ids = {int(image[0, 0]) + 1 for image in extra.x}
    assert 5 not in kept_ids and 10 not in kept_ids
    copies_of = {sample_id: int(sum(int(image[0, 0]) + 1 == sample_id for image in extra.x)) for sample_id in (3, 7, 1)}
    assert copies_of == {3: 25, 7: 25, 1: 1}
    assert extra.y[extra.x[:, 0, 0] == 2].tolist() == [3] * 25  # the user's digit, not the model's
    misread_total = extra.weights[extra.x[:, 0, 0] == 2].sum()
    assert misread_total == pytest.approx(40 * extra.confirmed_weight, rel=1e-5)
    assert extra.weights.sum() == pytest.approx(FEEDBACK_SHARE * 55_000, rel=1e-5)  # forgetting stays bounded
    assert extra.weights.dtype == np.float32


def test_a_digit_read_right_in_a_corrected_number_is_a_confirmation():
    feedback = FeedbackSamples.from_rows([
        {"images": np.zeros((28, 28), np.uint8), "labels": label, "predicted": said, "confidence": 0.9,
         "verdicts": Verdict.WRONG, "sample_ids": i + 1, "answer_ids": 1, "users": "u", "created_at": 0.0}
        for i, (label, said) in enumerate([(1, 1), (2, 7)])])  # "17" corrected to "12": only the 7 was wrong
    assert feedback.corrected().tolist() == [True, True] and feedback.misread().tolist() == [False, True]
    extra = feedback_training(feedback, np.ones(2, bool), 55_000)
    assert extra.corrected == 1 and len(extra.x) == 1 + CORRECTION_COPIES


def test_without_corrections_all_feedback_weighs_the_same():
    feedback = _feedback([1, 2, 3, 4], [1, 2, 3, 4])
    extra = feedback_training(feedback, np.ones(4, bool), 60_000)
    assert len(extra.x) == 4 and extra.corrected == 0
    assert extra.weights.tolist() == [pytest.approx(FEEDBACK_SHARE * 60_000 / 4)] * 4


def test_the_chosen_recipe_makes_corrections_count():
    assert CORRECTION_COPIES >= 20 and CORRECTION_FACTOR >= 10


def test_the_report_counts_fixed_corrections_trained_on_and_held_out(mnist):
    """Real digits the shipped model reads right, labelled right (it fixes them) or wrongly (it cannot)."""
    model = Recognizer.load(SHIPPED_MODELS_DIR)
    read = model.classify(mnist["x_test"][:200]).argmax(axis=1)
    right = np.flatnonzero(read == mnist["y_test"][:200])[:15]
    images, truth = mnist["x_test"][right], mnist["y_test"][right].astype(int)
    # ids 1-15; 5, 10, 15 held out. Every sample is a "correction" of a misreading (predicted is another
    # digit); ids 1, 2, 5 and 10 carry a label no model would read (truth + 5), the rest the truth.
    unreadable = {1, 2, 5, 10}
    labels = [(t + 5) % 10 if i + 1 in unreadable else t for i, t in enumerate(truth)]
    predicted = [(t + 1) % 10 for t in truth]
    feedback = _feedback(labels, predicted, images)
    report = corrections_report(model, model, feedback, feedback.held_out())
    assert report == Corrections(trained=12, trained_fixed=10, trained_before=10, held_out=3, held_out_fixed=1,
                                 held_out_before=1)


def test_the_report_survives_the_pipe_and_an_old_run_has_none():
    done = Done(installed=True, reason="r", version="v2", previous="v1", current=Scores(0.99, 0.5),
                candidate=Scores(0.99, 0.6), corrections=Corrections(11, 9, 0, 3, 2, 0))
    assert decode(encode(done)) == done
    old = ('{"event": "done", "installed": false, "reason": "r", "version": "v", "previous": "p", "scores": '
           '{"current": {"mnist": 0.99, "feedback": null}, "candidate": {"mnist": 0.98, "feedback": null}}}')
    assert decode(old) == Done(False, "r", "v", "p", Scores(0.99, None), Scores(0.98, None))


@pytest.mark.parametrize(("lang", "line"), [
    ("en", "✏️ Digits users corrected: fixed 9 of 11 it trained on; 2 of 3 held out."),
    ("zh", "✏️ 用户纠正过的数字：训练用的 11 个中改对了 9 个；留作检验的 3 个中改对了 2 个。"),
])
def test_the_final_message_says_what_became_of_the_corrections(lang, line):
    done = Done(installed=True, reason="r", version="v2", previous="v1", current=Scores(0.9929, 0.5),
                candidate=Scores(0.9931, 0.75), corrections=Corrections(11, 9, 0, 3, 2, 0))
    text = decided_text(lang, done, held_out=20)
    assert text.endswith("\n" + line)
    assert "99.31%" in text and "75.00%" in text  # the deciding figures are still there, above it


def test_no_corrections_no_line():
    for corrections in (None, Corrections(0, 0, 0, 0, 0, 0)):
        done = Done(installed=False, reason="r", version="v2", previous="v1", current=Scores(0.99, 0.5),
                    candidate=Scores(0.98, 0.5), corrections=corrections)
        assert "✏️" not in decided_text("en", done, held_out=5)
