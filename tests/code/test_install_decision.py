"""Whether a retrained candidate replaces the model in use, and how much the feedback weighs.

The figures are chosen by hand: the rule is "not worse on MNIST beyond 0.2 point (the test set's own
noise), and not worse on the held-out feedback".
"""

from __future__ import annotations

import pytest

from training.contract import Scores
from training.retrain import decide, feedback_weight


@pytest.mark.parametrize(("current", "candidate", "installed"), [
    (Scores(0.9920, 0.80), Scores(0.9920, 0.80), True),  # equal: not worse
    (Scores(0.9920, 0.80), Scores(0.9905, 0.90), True),  # 0.15 point lower on MNIST: noise
    (Scores(0.9920, 0.80), Scores(0.9890, 0.95), False),  # 0.3 point lower on MNIST: worse, whatever the feedback
    (Scores(0.9920, 0.80), Scores(0.9950, 0.75), False),  # better on MNIST but worse on what users corrected
    (Scores(0.9920, None), Scores(0.9915, None), True),  # no feedback held out yet: MNIST decides
    (Scores(0.9920, None), Scores(0.9870, None), False),
])
def test_installed_only_when_not_worse(current, candidate, installed):
    assert decide(current, candidate)[0] is installed


def test_the_reason_gives_the_figures_that_decided():
    _, reason = decide(Scores(0.9929, 0.5), Scores(0.9931, 0.75))
    assert reason == "MNIST test 99.31% vs 99.29% in use; held-out feedback 75.0% vs 50.0%"
    _, reason = decide(Scores(0.99, None), Scores(0.99, None))
    assert reason.endswith("no held-out feedback yet")


def test_feedback_counts_as_a_quarter_of_mnist():
    assert feedback_weight(60_000, 500) == pytest.approx(30.0)  # 500 x 30 = 15,000 = 25% of 60,000
    assert feedback_weight(55_000, 11_000) == pytest.approx(1.25)
    assert feedback_weight(60_000, 0) == 1.0  # nothing to weigh
