"""Accuracy and calibration on folders of labelled photos (labels in file names: NNNN_<label>.<ext>).

    python bench/photo_accuracy.py [PHOTOS_DIR] [--models-dir DIR] [--misses]

PHOTOS_DIR defaults to $PHOTOS_DEV or ../shared/data/photos-dev, with single/<writer>/ and
multi/<source>/ sub-folders. For the single digits (all writers together) and for every multi-digit
source and all of them together it reports: exact share, exact averaged per writer or source,
expected calibration error (10 bins of stated confidence), the share answered "ok" and how many of
those are right.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import photos_dir, save  # noqa: E402
from recognizer import ImageDecodeError, Recognizer  # noqa: E402
from recognizer.evaluation import Answer, summarise  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def labelled_photos(folder: Path) -> dict[str, list[tuple[Path, str]]]:
    """{source: [(file, label)]} for every image below ``folder``, its source being its parent folder."""
    by_source: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for file in sorted(folder.rglob("*")):
        if file.suffix.lower() in IMAGE_SUFFIXES and "_" in file.stem:
            by_source[file.parent.name].append((file, file.stem.split("_", 1)[1]))
    return by_source


def answer(recognizer: Recognizer, source: str, file: Path, label: str) -> Answer:
    try:
        result = recognizer.recognize(file.read_bytes())
    except ImageDecodeError as error:
        return Answer(source, label, f"<{type(error).__name__}>", 0.0, "error")
    return Answer(source, label, result.number, result.confidence, result.status)


def line(name: str, figures: dict) -> str:
    ok_right = "-" if figures["ok_right"] is None else f"{figures['ok_right']:.1%}"
    return (f"{name}: {figures['exact']:.1%} exact of {figures['count']} "
            f"({figures['exact_averaged_per_group']:.1%} averaged per writer/source), "
            f"calibration error {figures['calibration_error']:.3f}, mean confidence {figures['mean_confidence']:.1%}, "
            f"answered ok {figures['answered_ok']:.1%} of which right {ok_right}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=photos_dir())
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--misses", action="store_true", help="list every photo read wrong")
    args = parser.parse_args()
    recognizer = Recognizer.load(args.models_dir)
    results: dict = {"model": recognizer.version, "folder": str(args.folder)}
    for kind in ("single", "multi"):
        if not (args.folder / kind).is_dir():
            continue
        read = {source: [(f, answer(recognizer, source, f, label)) for f, label in photos]
                for source, photos in labelled_photos(args.folder / kind).items()}
        answers = {source: [a for _, a in pairs] for source, pairs in read.items()}
        everything = [a for per_source in answers.values() for a in per_source]
        results[kind] = {"all": summarise(everything)}
        print(line(f"{kind}, all", results[kind]["all"]))
        if kind == "single":
            print("  per writer:", results[kind]["all"]["per_group"])
            by_digit = defaultdict(list)
            for a in everything:
                by_digit[a.truth].append(a.right)
            results[kind]["per_digit"] = {d: f"{sum(v)}/{len(v)}" for d, v in sorted(by_digit.items())}
            print("  per digit: ", results[kind]["per_digit"])
        else:
            for source, per_source in answers.items():
                results[kind][source] = summarise(per_source)
                print(line(f"  {source}", results[kind][source]))
        results[kind]["misses"] = [
            f"{a.group}/{f.name}: read {a.number or 'nothing'!r} ({a.confidence:.0%}, {a.status})"
            for pairs in read.values() for f, a in pairs if not a.right]
        if args.misses:
            for miss in results[kind]["misses"]:
                print("  miss:", miss)
    print(f"saved {save('photo_accuracy', results)}")


if __name__ == "__main__":
    main()
