"""Make the photos in this folder: MNIST test digits on ruled and squared paper, and two digits written
over each other (see README.md).

    python tests/photos/make_photos.py [MNIST .npz]   # default: $MNIST_PATH

Each photo is written by ``digitbot.testkit.photos.digit_photo`` (the suite's own renderer, fixed
seed), then ruled with OpenCV: lines of a fixed colour, width and spacing, under the ink (the darker
of paper-with-lines and the written photo wins, as ink over a printed line does), and saved as JPEG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from digitbot.testkit.photos import digit_photo  # noqa: E402

HERE = Path(__file__).resolve().parent
BLUE_LINE = (205, 175, 140)  # BGR: a school exercise book's pale blue
RED_MARGIN = (120, 120, 215)


def first_of(labels: np.ndarray, digit: int, skip: int = 0) -> int:
    return int(np.flatnonzero(labels == digit)[skip])


def ruled(photo: bytes, spacing: int, squared: bool, margin_x: int | None, thickness: int = 2) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    lines = np.full_like(image, 255)
    h, w = image.shape[:2]
    for y in range(spacing // 2, h, spacing):
        cv2.line(lines, (0, y), (w - 1, y), BLUE_LINE, thickness)
    if squared:
        for x in range(spacing // 2, w, spacing):
            cv2.line(lines, (x, 0), (x, h - 1), BLUE_LINE, thickness)
    if margin_x is not None:
        cv2.line(lines, (margin_x, 0), (margin_x, h - 1), RED_MARGIN, thickness)
    # The printed lines darken the paper in proportion: a line under a stroke leaves the stroke as it was.
    return (image.astype(np.float32) * lines.astype(np.float32) / 255.0).astype(np.uint8)


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ["MNIST_PATH"]
    with np.load(path) as mnist:
        x, y = mnist["x_test"], mnist["y_test"]
    photos = {
        # A single 7 on a ruled page with a margin: the lines cross the digit.
        "ruled_7.jpg": ruled(digit_photo([x[first_of(y, 7)]], np.random.default_rng(101), digit_height=0.3),
                             spacing=64, squared=False, margin_x=90),
        # A number written across ruled lines.
        "ruled_2048.jpg": ruled(digit_photo([x[first_of(y, d)] for d in (2, 0, 4, 8)], np.random.default_rng(102),
                                            size=800, digit_height=0.16, gap=0.15), spacing=56, squared=False,
                                margin_x=None),
        # Squared (maths) paper.
        "squared_385.jpg": ruled(digit_photo([x[first_of(y, d, 1)] for d in (3, 8, 5)], np.random.default_rng(103),
                                             size=800, digit_height=0.2, gap=0.15), spacing=40, squared=True,
                                 margin_x=None),
    }
    for name, image in photos.items():
        cv2.imwrite(str(HERE / name), image, [cv2.IMWRITE_JPEG_QUALITY, 88])
        print(HERE / name)
    # A 5 and a 6 written over each other: no honest single digit, so the bot must not be sure.
    overlaid = np.maximum(x[first_of(y, 5)], x[first_of(y, 6)])
    (HERE / "unsure_5_over_6.jpg").write_bytes(digit_photo([overlaid], np.random.default_rng(3)))
    print(HERE / "unsure_5_over_6.jpg")


if __name__ == "__main__":
    main()
