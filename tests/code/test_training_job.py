"""What the bot says when a training run ends without a word: its exception, or how it died; never TF's noise."""

from __future__ import annotations

from bot.training_job import failure_reason

TF_NOISE = [
    "I0000 00:00:1732912345.123456   1234 cpu_feature_guard.cc:210] This TensorFlow binary is optimized",
    "W1129 21:58:01.000000 140 tensorflow/core/framework/op_kernel.cc] oneDNN custom operations are on.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow",
]


def test_the_exception_is_the_reason():
    tail = [*TF_NOISE, "Traceback (most recent call last):", '  File "train.py", line 3, in <module>',
            "ValueError: weights do not fit", *TF_NOISE[:1]]
    assert failure_reason(tail, 1) == "ValueError: weights do not fit"


def test_the_last_exception_wins():
    tail = ["KeyError: 'x'", "During handling of the above exception, another exception occurred:",
            "numpy._core._exceptions._ArrayMemoryError: Unable to allocate 2.0 GiB"]
    assert failure_reason(tail, 1).startswith("numpy._core._exceptions._ArrayMemoryError: Unable")


def test_a_killed_process_is_named_by_its_signal():
    reason = failure_reason(TF_NOISE, -9)
    assert "SIGKILL" in reason and "signal 9" in reason and "oneDNN" not in reason


def test_an_exit_without_a_word():
    assert failure_reason(TF_NOISE, 3) == "the training process exited with code 3 without saying why"
