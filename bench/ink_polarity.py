"""Which way round the ink is: how often the recognizer takes dark ink for light, or light for dark.

    python bench/ink_polarity.py [--photos 1500] [--seed 77] [--photos-dir DIR]

Synthetic photos (half single digits, half numbers of 2-8 digits, written with MNIST test digits and
rendered by ``training.scenes``: phone photos with tables, shadows and now and then inverted, and
noisy scans) know the truth: the pen's pixels, whose median in the full-size picture is darker or
lighter than a ring of paper around them. Reports how many photos each judgement gets wrong: the
recognizer's rule (``recognizer.ink.ink_is_dark``), and the paper's level from the border alone
(the rule before 34e7144) and from the median alone. The dev photos are all dark ink on paper: it
counts those judged light.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import photos_dir, save  # noqa: E402
from bench._synthetic import mnist_test_digits  # noqa: E402
from bench.photo_accuracy import labelled_photos  # noqa: E402
from recognizer.decode import ImageDecodeError, decode_image  # noqa: E402
from recognizer.ink import ink_is_dark, ink_judged_dark  # noqa: E402
from training.numbers import LayoutConfig, compose, random_label  # noqa: E402
from training.scenes import render  # noqa: E402

RULES = ("recognizer", "border", "median")


def judgements(grey: np.ndarray) -> dict[str, bool]:
    return {"recognizer": ink_is_dark(grey), **ink_judged_dark(grey)}


def true_ink_is_dark(picture: bytes, owners: np.ndarray) -> bool | None:
    """Whether the pen's pixels are darker than the paper just around them (None: too little pen to tell)."""
    grey = cv2.imdecode(np.frombuffer(picture, np.uint8), cv2.IMREAD_GRAYSCALE)
    pen = (owners > 0).astype(np.uint8)
    ring = (cv2.dilate(pen, np.ones((9, 9), np.uint8)) > 0) & ~(cv2.dilate(pen, np.ones((3, 3), np.uint8)) > 0)
    if grey is None or grey.shape != owners.shape or not pen.any() or not ring.any():
        return None
    return bool(np.median(grey[pen > 0]) < np.median(grey[ring]))


def synthetic(photos: int, seed: int) -> dict:
    source = mnist_test_digits()
    wrong: Counter = Counter()
    counted: Counter = Counter()
    for index in range(photos):
        rng = np.random.default_rng([seed, index])
        label = random_label(rng, LayoutConfig()) if index % 2 else str(rng.integers(10))
        scene = render(compose(label, source, rng), rng)
        truth = true_ink_is_dark(scene.data, scene.owners)
        if truth is None:
            continue
        grey, _ = decode_image(scene.data)
        kind = "dark ink" if truth else "light ink"
        counted["all"] += 1
        counted[kind] += 1
        for rule, dark in judgements(grey).items():
            if dark != truth:
                wrong[rule, "all"] += 1
                wrong[rule, kind] += 1
    return {group: {"photos": counted[group], **{f"wrong, {rule}": wrong[rule, group] for rule in RULES}}
            for group in ("all", "dark ink", "light ink")}


def dev(folder: Path) -> dict:
    judged_light: Counter = Counter()
    names: dict[str, list[str]] = {rule: [] for rule in RULES}
    count = 0
    for path in sorted(file for photos in labelled_photos(folder).values() for file, _ in photos):
        try:
            grey, _ = decode_image(path.read_bytes())
        except ImageDecodeError:
            continue
        count += 1
        for rule, dark in judgements(grey).items():
            if not dark:
                judged_light[rule] += 1
                names[rule].append(str(path.relative_to(folder)))
    return {"photos": count, **{f"judged light, {rule}": judged_light[rule] for rule in RULES},
            "judged light by the border": names["border"], "judged light by the recognizer": names["recognizer"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--photos-dir", type=Path, default=photos_dir())
    args = parser.parse_args()
    results = {"seed": args.seed, "synthetic": synthetic(args.photos, args.seed)}
    if args.photos_dir.is_dir():
        results["dev photos"] = dev(args.photos_dir)
    for group, figures in results["synthetic"].items():
        print(f"synthetic, {group}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    if "dev photos" in results:
        print("dev photos: " + ", ".join(f"{k} {v}" for k, v in results["dev photos"].items()))
    print(f"saved {save('ink_polarity', results)}")


if __name__ == "__main__":
    main()
