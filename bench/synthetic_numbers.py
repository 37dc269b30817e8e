"""Reading synthetic handwritten numbers made from MNIST *test* digits, which no model here trained on.

    python bench/synthetic_numbers.py [--photos 2000] [--seed 7] [--models-dir DIR]

Numbers of 1-8 digits are composed the way people write (``training.numbers``) and rendered as phone
photos or small cheque-like scans (``training.scenes``), each from its own fixed seed, so the set is
the same on every run and cannot be tuned to. Reports, per count of digits (1, 2-3, 4-6, 7-8) and
per kind of picture: exact share, expected calibration error, share answered "ok" and how many of
those are right.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import save  # noqa: E402
from bench._synthetic import synthetic_setup  # noqa: E402
from recognizer import ImageDecodeError  # noqa: E402
from recognizer.evaluation import Answer, summarise  # noqa: E402
from training.numbers import LayoutConfig, compose, random_label  # noqa: E402
from training.scenes import render  # noqa: E402

GROUPS = {"1 digit": (1, 1), "2-3 digits": (2, 3), "4-6 digits": (4, 6), "7-8 digits": (7, 8)}


def group_of(label: str) -> str:
    return next(name for name, (low, high) in GROUPS.items() if low <= len(label) <= high)


def main() -> None:
    args, source, recognizer = synthetic_setup(__doc__, photos=2000, seed=7)
    answers: list[Answer] = []
    kinds: list[str] = []
    started = time.perf_counter()
    for index in range(args.photos):
        rng = np.random.default_rng([args.seed, index])
        scene = render(compose(random_label(rng, LayoutConfig()), source, rng), rng)
        try:
            result = recognizer.recognize(scene.data)
            answers.append(Answer(group_of(scene.label), scene.label, result.number, result.confidence, result.status))
        except ImageDecodeError:
            answers.append(Answer(group_of(scene.label), scene.label, "<error>", 0.0, "error"))
        kinds.append(scene.kind)
    results = {"model": recognizer.version, "photos": args.photos, "seed": args.seed,
               "seconds": round(time.perf_counter() - started, 1), "all": summarise(answers)}
    for name in GROUPS:
        results[name] = summarise(a for a in answers if a.group == name)
    for kind in ("photo", "scan"):
        results[kind] = summarise(a for a, k in zip(answers, kinds) if k == kind)
    for name, figures in results.items():
        if isinstance(figures, dict) and figures.get("count"):
            ok_right = "-" if figures["ok_right"] is None else f"{figures['ok_right']:.1%}"
            print(f"{name:>11}: {figures['exact']:.1%} exact of {figures['count']}, calibration error "
                  f"{figures['calibration_error']:.3f}, answered ok {figures['answered_ok']:.1%} of which right "
                  f"{ok_right}")
    print(f"saved {save('synthetic_numbers', results)}")


if __name__ == "__main__":
    main()
