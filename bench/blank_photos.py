"""What the recognizer says of photos with nothing written on them: it should find no digit.

    python bench/blank_photos.py [--photos 600] [--seed 8] [--models-dir DIR]

Each photo is a synthetic scene as ``bench/synthetic_numbers.py`` makes them (paper, light, shadows,
tables, ruling, blur, JPEG; small scans with a printed security pattern) with its writing taken away,
so all that is left to read is the paper, its grain and what lies around it. Reports how many are
answered with a number, how many of those as sure ("ok"), and the largest stated confidence.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import save  # noqa: E402
from bench._synthetic import synthetic_setup  # noqa: E402
from training.numbers import Layout, LayoutConfig, compose, random_label  # noqa: E402
from training.scenes import render  # noqa: E402


def blank(layout: Layout) -> Layout:
    """The same page with nothing written on it."""
    return Layout(np.zeros_like(layout.ink), np.zeros_like(layout.owners), "", [], layout.digit_height)


def main() -> None:
    args, source, recognizer = synthetic_setup(__doc__, photos=600, seed=8)
    statuses: Counter = Counter()
    by_kind: Counter = Counter()
    sure: list[tuple[int, str, float]] = []
    highest = 0.0
    started = time.perf_counter()
    for index in range(args.photos):
        rng = np.random.default_rng([args.seed, index])
        scene = render(blank(compose(random_label(rng, LayoutConfig()), source, rng)), rng)
        result = recognizer.recognize(scene.data)
        statuses[result.status.value] += 1
        if result.number:
            by_kind[scene.kind] += 1
            highest = max(highest, result.confidence)
            if result.status.value == "ok":
                sure.append((index, result.number, round(result.confidence, 3)))
    results = {"model": recognizer.version, "photos": args.photos, "seed": args.seed,
               "seconds": round(time.perf_counter() - started, 1), "statuses": dict(statuses),
               "answered with a number, by kind": dict(by_kind), "highest confidence": round(highest, 3),
               "answered ok (index, number, confidence)": sure}
    print(f"{args.photos} blank photos: {dict(statuses)}; with a number, by kind {dict(by_kind)}; "
          f"highest confidence {highest:.1%}; ok: {sure}")
    print(f"saved {save('blank_photos', results)}")


if __name__ == "__main__":
    main()
