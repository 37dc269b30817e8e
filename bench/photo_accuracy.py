"""Accuracy on folders of labelled photos (labels in file names: NNNN_<label>.<ext>).

    python bench/photo_accuracy.py [PHOTOS_DIR] [--models-dir DIR]

PHOTOS_DIR defaults to $PHOTOS_DEV or ../shared/data/photos-dev, with single/<source>/ and
multi/<source>/ sub-folders. Reports overall accuracy, the average over sources (one source is one
writer), per digit, the misses, and exact numbers read for multi-digit folders.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import photos_dir, save  # noqa: E402
from recognizer import ImageDecodeError, Recognizer  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def labelled_photos(folder: Path) -> dict[str, list[tuple[Path, str]]]:
    """{source: [(file, label)]} for every image below ``folder``, its source being its parent folder."""
    by_source: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for file in sorted(folder.rglob("*")):
        if file.suffix.lower() in IMAGE_SUFFIXES and "_" in file.stem:
            by_source[file.parent.name].append((file, file.stem.split("_", 1)[1]))
    return by_source


def read(recognizer: Recognizer, file: Path) -> str:
    try:
        return recognizer.recognize(file.read_bytes()).number
    except ImageDecodeError as error:
        return f"<{type(error).__name__}>"


def evaluate_single(recognizer: Recognizer, folder: Path) -> dict:
    per_source: dict[str, list[bool]] = {}
    per_digit: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for source, photos in labelled_photos(folder).items():
        per_source[source] = []
        for file, label in photos:
            got = read(recognizer, file)
            per_source[source].append(got == label)
            per_digit[label].append(got == label)
            if got != label:
                misses.append(f"{source}/{file.name}: read {got or 'nothing'!r}")
    flat = [ok for oks in per_source.values() for ok in oks]
    return {
        "photos": len(flat),
        "accuracy": float(np.mean(flat)) if flat else 0.0,
        "accuracy_averaged_per_source": float(np.mean([np.mean(v) for v in per_source.values()])) if flat else 0.0,
        "per_source": {s: f"{sum(v)}/{len(v)}" for s, v in per_source.items()},
        "per_digit": {d: round(float(np.mean(v)), 4) for d, v in sorted(per_digit.items())},
        "misses": misses,
    }


def evaluate_multi(recognizer: Recognizer, folder: Path) -> dict:
    results = {}
    for source, photos in labelled_photos(folder).items():
        exact = [read(recognizer, file) == label for file, label in photos]
        results[source] = {"numbers": len(exact), "exact": float(np.mean(exact)) if exact else 0.0}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=photos_dir())
    parser.add_argument("--models-dir", type=Path)
    args = parser.parse_args()
    recognizer = Recognizer.load(args.models_dir)
    results: dict = {"model": recognizer.version, "folder": str(args.folder)}
    if (args.folder / "single").is_dir():
        single = results["single"] = evaluate_single(recognizer, args.folder / "single")
        print(f"single digits: {single['accuracy']:.1%} of {single['photos']} photos, "
              f"{single['accuracy_averaged_per_source']:.1%} averaged per writer")
        print("  per writer:", single["per_source"])
        print("  per digit: ", single["per_digit"])
        for miss in single["misses"]:
            print("  miss:", miss)
    if (args.folder / "multi").is_dir():
        multi = results["multi"] = evaluate_multi(recognizer, args.folder / "multi")
        for source, figures in multi.items():
            print(f"numbers ({source}): {figures['exact']:.1%} of {figures['numbers']} read exactly")
    print(f"saved {save('photo_accuracy', results)}")


if __name__ == "__main__":
    main()
