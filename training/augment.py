"""Vectorised augmentation that imitates what a phone photo does to a digit.

Every transform works on a whole batch of (N, 28, 28) float32 images in [0, 1] at once, so a fresh
augmented copy of the 55k training digits costs a few seconds per epoch on two cores instead of
minutes in a per-image Python loop. Digits are never mirrored: a mirrored 2 or 7 is not a digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

IMAGE_SIZE = 28


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random distortions; the defaults were chosen against the MNIST validation split."""

    max_rotation_deg: float = 12.0
    scale_range: tuple[float, float] = (0.85, 1.12)
    max_aspect_change: float = 0.12
    max_shear: float = 0.25
    max_shift_px: float = 2.0
    elastic_alpha_px: float = 1.2
    elastic_grid: int = 4
    thicken_probability: float = 0.25
    thin_probability: float = 0.15
    blur_probability: float = 0.15
    noise_probability: float = 0.3
    max_noise_std: float = 0.06
    fade_probability: float = 0.2


def _affine_source_coords(n: int, rng: np.random.Generator, cfg: AugmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """Return, for each output pixel, where to sample in the source image (rows, cols), shape (n, 28, 28)."""
    angle = np.deg2rad(rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg, n))
    scale = rng.uniform(*cfg.scale_range, n)
    aspect = 1.0 + rng.uniform(-cfg.max_aspect_change, cfg.max_aspect_change, n)
    shear = rng.uniform(-cfg.max_shear, cfg.max_shear, n)
    shift = rng.uniform(-cfg.max_shift_px, cfg.max_shift_px, (n, 2))

    cos, sin = np.cos(angle), np.sin(angle)
    # Forward map A = R @ Shear @ diag(sx, sy); we need its inverse to pull pixels from the source.
    sx, sy = scale * aspect, scale / aspect
    a11, a12 = cos * sx, (cos * shear - sin) * sy
    a21, a22 = sin * sx, (sin * shear + cos) * sy
    det = a11 * a22 - a12 * a21
    i11, i12, i21, i22 = a22 / det, -a12 / det, -a21 / det, a11 / det

    centre = (IMAGE_SIZE - 1) / 2.0
    grid = np.arange(IMAGE_SIZE, dtype=np.float32) - centre
    out_y = grid[None, :, None] - shift[:, 0, None, None]
    out_x = grid[None, None, :] - shift[:, 1, None, None]
    src_x = i11[:, None, None] * out_x + i12[:, None, None] * out_y + centre
    src_y = i21[:, None, None] * out_x + i22[:, None, None] * out_y + centre
    return src_y.astype(np.float32), src_x.astype(np.float32)


def _upsample_matrix(coarse: int) -> np.ndarray:
    """Linear-interpolation matrix (28, coarse) that turns a coarse grid into a smooth 28-px field."""
    positions = np.linspace(0, coarse - 1, IMAGE_SIZE)
    low = np.clip(np.floor(positions).astype(int), 0, coarse - 2)
    frac = positions - low
    matrix = np.zeros((IMAGE_SIZE, coarse), np.float32)
    matrix[np.arange(IMAGE_SIZE), low] = 1 - frac
    matrix[np.arange(IMAGE_SIZE), low + 1] += frac
    return matrix


def _elastic_offsets(n: int, rng: np.random.Generator, cfg: AugmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random displacement fields (Simard et al. 2003 style), built from a coarse random grid."""
    up = _upsample_matrix(cfg.elastic_grid)
    coarse = rng.normal(0.0, cfg.elastic_alpha_px, (2, n, cfg.elastic_grid, cfg.elastic_grid)).astype(np.float32)
    fields = np.einsum("ik,bnkl,jl->bnij", up, coarse, up, optimize=True)
    return fields[0], fields[1]


def _bilinear_sample(images: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """Sample each image at fractional coordinates; outside the image counts as background (0).

    All images are laid out as tiles of one mosaic (each with a one-pixel empty border) so that a
    single multi-threaded ``cv2.remap`` call does the bilinear sampling for the whole batch.
    """
    n = images.shape[0]
    tile = IMAGE_SIZE + 2
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    mosaic = np.zeros((rows * cols, tile, tile), np.float32)
    mosaic[:n, 1:-1, 1:-1] = images

    index = np.arange(rows * cols)
    y = np.zeros((rows * cols, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    x = np.zeros_like(y)
    y[:n] = np.clip(src_y + 1, 0, tile - 1)
    x[:n] = np.clip(src_x + 1, 0, tile - 1)
    y += ((index // cols) * tile)[:, None, None]
    x += ((index % cols) * tile)[:, None, None]

    def as_mosaic(a: np.ndarray) -> np.ndarray:
        side = a.shape[-1]
        return a.reshape(rows, cols, side, side).transpose(0, 2, 1, 3).reshape(rows * side, cols * side)

    sampled = cv2.remap(as_mosaic(mosaic), as_mosaic(x), as_mosaic(y), interpolation=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    sampled = sampled.reshape(rows, IMAGE_SIZE, cols, IMAGE_SIZE).transpose(0, 2, 1, 3)
    return sampled.reshape(rows * cols, IMAGE_SIZE, IMAGE_SIZE)[:n]


def _neighbourhood(images: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """Grey-level dilation (np.maximum) or erosion (np.minimum) with a 3x3 cross, for a whole batch."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="constant")
    out = images.copy()
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        out = reduce(out, padded[:, dy : dy + IMAGE_SIZE, dx : dx + IMAGE_SIZE])
    return out


def _fade_patches(images: np.ndarray, rng: np.random.Generator, grid: int) -> np.ndarray:
    """Make some stretches of stroke faint, as a pen running dry or a photo's glare does."""
    up = _upsample_matrix(grid)
    field = np.einsum("ik,nkl,jl->nij", up, rng.normal(0, 1, (len(images), grid, grid)).astype(np.float32), up,
                      optimize=True)
    keep = 1.0 / (1.0 + np.exp(-4.0 * (field + 1.0)))  # about a sixth of the area fades
    return images * (0.15 + 0.85 * keep)


def _blur(images: np.ndarray) -> np.ndarray:
    """3x3 binomial blur, as a slightly out-of-focus photo would give."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    weights = np.array([1.0, 2.0, 1.0], np.float32) / 4.0
    rows = sum(w * padded[:, i : i + IMAGE_SIZE, :] for i, w in enumerate(weights))
    return sum(w * rows[:, :, i : i + IMAGE_SIZE] for i, w in enumerate(weights))


def augment_batch(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """Return randomly distorted copies of ``images`` (N, 28, 28), uint8 0-255 or float in [0, 1].

    The output is float32 in [0, 255] so it can feed the model (which rescales internally) directly.
    """
    x = images.astype(np.float32)
    if images.dtype == np.uint8:
        x /= 255.0
    n = x.shape[0]
    src_y, src_x = _affine_source_coords(n, rng, cfg)
    dy, dx = _elastic_offsets(n, rng, cfg)
    x = _bilinear_sample(x, src_y + dy, src_x + dx)

    choice = rng.random(n)
    thicken = choice < cfg.thicken_probability
    thin = (choice >= cfg.thicken_probability) & (choice < cfg.thicken_probability + cfg.thin_probability)
    if thicken.any():
        x[thicken] = _neighbourhood(x[thicken], np.maximum)
    if thin.any():
        # A full erosion can erase MNIST's 2-px strokes, so only go half way.
        x[thin] = 0.5 * (x[thin] + _neighbourhood(x[thin], np.minimum))
    fade = rng.random(n) < cfg.fade_probability
    if fade.any():
        x[fade] = _fade_patches(x[fade], rng, cfg.elastic_grid)
    blur = rng.random(n) < cfg.blur_probability
    if blur.any():
        x[blur] = _blur(x[blur])
    noisy = rng.random(n) < cfg.noise_probability
    if noisy.any():
        std = rng.uniform(0, cfg.max_noise_std, (int(noisy.sum()), 1, 1)).astype(np.float32)
        x[noisy] += rng.normal(0, 1, x[noisy].shape).astype(np.float32) * std
    return np.clip(x, 0.0, 1.0) * 255.0
