"""Pictures that show why the recognizer answered as it did: boxes on the photo, the 28x28 inputs."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from recognizer.decode import decode_image
from recognizer.recognizer import Recognition

ENLARGE = 6  # each 28x28 input is shown at 168x168


def caption(digit: int, confidence: float) -> str:
    """How a digit and the model's confidence in it are written under its input: '7 98%'."""
    return f"{digit} {confidence:.0%}"


def inputs_picture(images: Sequence[np.ndarray], captions: Sequence[str]) -> np.ndarray:
    """28x28 model inputs, enlarged side by side, each with its caption (BGR image); "no digit" for none."""
    tiles = []
    for image, text in zip(images, captions, strict=True):
        tile = cv2.resize(np.asarray(image, np.uint8), None, fx=ENLARGE, fy=ENLARGE, interpolation=cv2.INTER_NEAREST)
        tile = cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)
        cv2.putText(tile, text, (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 200, 255), 1, cv2.LINE_AA)
        tiles.append(cv2.copyMakeBorder(tile, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(90, 90, 90)))
    if not tiles:
        blank = np.zeros((28 * ENLARGE, 28 * ENLARGE, 3), np.uint8)
        cv2.putText(blank, "no digit", (30, 90), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (200, 200, 200), 2, cv2.LINE_AA)
        tiles = [blank]
    return np.hstack(tiles)


def recognition_inputs(recognition: Recognition) -> np.ndarray:
    """``inputs_picture`` of what the model saw and said for a recognition."""
    return inputs_picture([d.mnist for d in recognition.digits],
                          [caption(d.digit, d.confidence) for d in recognition.digits])


def annotated_photo(image: bytes, recognition: Recognition) -> np.ndarray:
    """The photo (at working size) with a box and the answer drawn around each digit found (BGR image)."""
    grey, to_original = decode_image(image)
    canvas = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    for digit in recognition.digits:
        x, y, w, h = (int(round(v / to_original)) for v in digit.box)
        colour = (0, 170, 0) if digit.confidence >= 0.6 else (0, 140, 255)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, 2)
        cv2.putText(canvas, str(digit.digit), (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.7, colour, 2,
                    cv2.LINE_AA)
    return canvas


def debug_sheet(image: bytes, recognition: Recognition) -> np.ndarray:
    """Annotated photo above the enlarged inputs, for ``digitbot predict --debug``."""
    photo = annotated_photo(image, recognition)
    inputs = recognition_inputs(recognition)
    width = max(photo.shape[1], inputs.shape[1])

    def pad(img: np.ndarray) -> np.ndarray:
        return cv2.copyMakeBorder(img, 0, 0, 0, width - img.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255))

    return np.vstack([pad(photo), pad(inputs)])


def png_bytes(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode PNG")
    return buffer.tobytes()
