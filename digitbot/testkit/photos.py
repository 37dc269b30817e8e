"""Real MNIST test digits rendered as phone photos: paper, shadows, blur, noise, JPEG, any polarity."""

from __future__ import annotations

import cv2
import numpy as np


def digit_photo(digits: list[np.ndarray], rng: np.random.Generator, *, size: int = 640, digit_height: float = 0.45,
                rotation_deg: float = 0.0, stroke: int = 0, dark_ink: bool = True, shadow: float = 0.35,
                blur: float = 0.8, noise: float = 4.0, jpeg_quality: int = 85, offset: tuple[float, float] = (0, 0),
                paper: tuple[int, int, int] = (222, 226, 232), gap: float = 0.0,
                ink_colour: tuple[int, int, int] = (30, 30, 40)) -> bytes:
    """Encode ``digits`` (MNIST 28x28 arrays, written left to right) as a JPEG photo of paper.

    ``stroke`` > 0 thickens and < 0 thins the pen; ``shadow`` is the strength of a lighting gradient;
    ``offset`` moves the writing by a fraction of the photo; ``gap`` spaces the digits by a fraction
    of their height.
    """
    height = int(size * digit_height)
    glyphs = []
    for digit in digits:
        big = cv2.resize(digit, (height, height), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
        if stroke:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(stroke) + 1, 2 * abs(stroke) + 1))
            big = cv2.dilate(big, kernel) if stroke > 0 else cv2.erode(big, kernel)
        glyphs.append(big[:, int(height * 0.12): int(height * 0.88)])
        glyphs.append(np.zeros((height, int(gap * height)), np.float32))
    ink = np.hstack(glyphs[:-1]) if glyphs else np.zeros((height, 1), np.float32)
    canvas = np.zeros((size, size), np.float32)
    top = int((size - ink.shape[0]) / 2 + offset[1] * size)
    left = int((size - ink.shape[1]) / 2 + offset[0] * size)
    canvas[top: top + ink.shape[0], left: left + ink.shape[1]] = ink[: size - top, : size - left]
    if rotation_deg:
        rotation = cv2.getRotationMatrix2D((size / 2, size / 2), rotation_deg, 1.0)
        canvas = cv2.warpAffine(canvas, rotation, (size, size))
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    light = 1.0 - shadow * np.clip(0.6 * x + 0.8 * y - 0.3, 0, 1)  # a shadow falling across one corner
    paper_rgb = np.array(paper, np.float32)[None, None, :] * light[..., None]
    ink_rgb = np.array(ink_colour, np.float32)
    alpha = np.clip(canvas, 0, 1)[..., None]
    photo = paper_rgb * (1 - alpha) + ink_rgb * alpha
    if not dark_ink:
        photo = 255.0 - photo
    if blur:
        photo = cv2.GaussianBlur(photo, (0, 0), blur)
    photo += rng.normal(0, noise, photo.shape)
    ok, encoded = cv2.imencode(".jpg", np.clip(photo, 0, 255).astype(np.uint8)[..., ::-1],
                               [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    assert ok
    return encoded.tobytes()


def blank_page(rng: np.random.Generator, size: int = 640) -> bytes:
    return _encode(_paper(rng, size))


def _paper(rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    light = 1.0 - 0.3 * np.clip(0.6 * x + 0.8 * y - 0.3, 0, 1)
    page = np.array([222, 226, 232], np.float32)[None, None, :] * light[..., None]
    return np.clip(page + rng.normal(0, 3, page.shape), 0, 255).astype(np.uint8)


def _encode(rgb: np.ndarray, ext: str = ".jpg") -> bytes:
    ok, encoded = cv2.imencode(ext, rgb[..., ::-1])
    assert ok
    return encoded.tobytes()


def noise_image(rng: np.random.Generator, size: int = 400) -> bytes:
    return _encode(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
