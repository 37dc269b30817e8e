"""Labelled pieces: what the recognizer's own segmentation cuts out of synthetic photos, and what each is.

Every synthetic photo (``training.numbers`` + ``training.scenes``) goes through the recognizer's
``find_candidates``, exactly as a user's photo would. Each candidate piece is then labelled from
the owner map: a whole digit (with at most a little of anything else), not writing at all
(separators, underlines, specks, shadows, the paper's edge), or a wrong cut (part of a digit,
several digits, a digit with much of its neighbour). Pieces that are nearly but not quite a whole
digit are left out rather than guessed. The piece network learns from these; the digit network
also learns from the whole-digit pieces, which carry real segmentation's leftovers.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from recognizer.decode import ImageDecodeError
from recognizer.preprocess import Found, find_candidates
from recognizer.segment import FEATURE_COUNT
from training.numbers import GlyphSource, LayoutConfig, compose, random_label
from training.scenes import Scene, render

DIGIT, NOT_WRITING, WRONG_CUT = 0, 1, 2
CLASS_NAMES = ("digit", "not writing", "wrong cut")
IGNORE = -1
WHOLE = 0.88  # share of a digit's ink a piece must hold to be that digit
PURE = 0.85  # share of a piece's ink that must belong to that digit
NEARLY = 0.72  # between this and WHOLE a piece is neither clearly a digit nor clearly wrong: left out
NEAR_PX = 2  # ink this close to a digit's pen line is that digit's (blur and JPEG widen strokes)


@dataclass
class LabelledPieces:
    """Pieces of many photos: pixels, descriptions, class, digit (or -1), photo index."""

    mnist: np.ndarray  # (N, 28, 28) uint8
    features: np.ndarray  # (N, FEATURE_COUNT) float32
    kind: np.ndarray  # (N,) int8: DIGIT, NOT_WRITING or WRONG_CUT
    digit: np.ndarray  # (N,) int8: the digit for DIGIT pieces, else -1
    photo: np.ndarray  # (N,) int32: which photo the piece came from

    def __len__(self) -> int:
        return len(self.kind)

    def save(self, path: str) -> None:
        np.savez_compressed(path, mnist=self.mnist, features=self.features, kind=self.kind, digit=self.digit,
                            photo=self.photo)

    @classmethod
    def load(cls, path: str) -> LabelledPieces:
        with np.load(path) as archive:
            return cls(**{key: archive[key] for key in ("mnist", "features", "kind", "digit", "photo")})

    @classmethod
    def concatenate(cls, parts: list[LabelledPieces]) -> LabelledPieces:
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty()
        return cls(*(np.concatenate([getattr(p, name) for p in parts])
                     for name in ("mnist", "features", "kind", "digit", "photo")))


def empty() -> LabelledPieces:
    return LabelledPieces(np.zeros((0, 28, 28), np.uint8), np.zeros((0, FEATURE_COUNT), np.float32),
                          np.zeros(0, np.int8), np.zeros(0, np.int8), np.zeros(0, np.int32))


def owner_map(scene: Scene, found: Found) -> np.ndarray:
    """Who owns each pixel of the image the recognizer searched (0: nobody, -1: a mark, i+1: digit i).

    Each owner's mask is reduced to the decoded size by area, so thin strokes survive the reduction,
    and then spread by NEAR_PX pixels, so ink that blur and JPEG pushed past the pen line still counts.
    """
    h, w = found.shape
    owners = scene.owners
    ids = [int(v) for v in np.unique(owners) if v != 0]
    cover = np.zeros((len(ids) + 1, h, w), np.float32)
    for index, owner in enumerate(ids, start=1):
        cover[index] = cv2.resize((owners == owner).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    kernel = np.ones((2 * NEAR_PX + 1, 2 * NEAR_PX + 1), np.uint8)
    for index in range(1, len(ids) + 1):
        cover[index] = cv2.dilate(cover[index], kernel)
    cover[0] = 1e-3
    best = np.array([0, *ids], np.int16)[cover.argmax(axis=0)]
    left, top = found.offset
    return best[top:, left:]


def label_pieces(scene: Scene, found: Found) -> tuple[np.ndarray, np.ndarray]:
    """Class and digit of each candidate piece of ``found`` (IGNORE for pieces left out)."""
    cands = found.candidates
    assert cands is not None
    owners = owner_map(scene, found)
    count = len(scene.label)
    per_piece = np.zeros((len(cands.pieces), count + 2), np.int64)  # columns: nobody/marks, digits 1..n, total
    for index, piece in enumerate(cands.pieces):
        x, y, w, h = piece.box
        region = owners[y : y + h, x : x + w]
        values = region[piece.ink.astype(bool)[: region.shape[0], : region.shape[1]]]
        digits = np.bincount(np.clip(values, 0, None), minlength=count + 1)[: count + 1]
        per_piece[index, 0] = int(np.count_nonzero(values <= 0))
        per_piece[index, 1 : count + 1] = digits[1:]
        per_piece[index, -1] = values.size
    single = [i for i, p in enumerate(cands.pieces) if p.stop - p.start == 1]
    totals = per_piece[single, 1 : count + 1].sum(axis=0)  # each digit's ink over all atoms
    kinds = np.full(len(cands.pieces), WRONG_CUT, np.int8)
    digits = np.full(len(cands.pieces), -1, np.int8)
    for index in range(len(cands.pieces)):
        own = per_piece[index, 1 : count + 1]
        size = max(1, per_piece[index, -1])
        held = own / np.maximum(totals, 1)  # share of each digit's ink in this piece
        best = int(np.argmax(held)) if count else 0
        if count and held[best] >= WHOLE and own[best] >= PURE * size and totals[best] > 0:
            kinds[index], digits[index] = DIGIT, int(scene.label[best])
        elif (not count or held.max() <= 0.1) and own.sum() <= 0.1 * size:
            kinds[index] = NOT_WRITING
        elif count and held[best] >= NEARLY and own[best] >= 0.75 * size:
            kinds[index] = IGNORE
    return kinds, digits


def pieces_of(scene: Scene, photo_index: int) -> LabelledPieces:
    """The recognizer's candidates in one synthetic photo, labelled."""
    try:
        found = find_candidates(scene.data)
    except ImageDecodeError:
        return empty()
    if found.candidates is None:
        return empty()
    kinds, digits = label_pieces(scene, found)
    keep = kinds != IGNORE
    cands = found.candidates
    return LabelledPieces(cands.mnist[keep], cands.features[keep], kinds[keep], digits[keep],
                          np.full(int(keep.sum()), photo_index, np.int32))


_source: GlyphSource | None = None


def _start_worker(images: np.ndarray, labels: np.ndarray) -> None:
    global _source
    _source = GlyphSource(images, labels)


def _batch(args: tuple[int, int, int, LayoutConfig]) -> LabelledPieces:
    seed, first, count, cfg = args
    assert _source is not None
    parts = []
    for index in range(first, first + count):
        rng = np.random.default_rng([seed, index])
        scene = render(compose(random_label(rng, cfg), _source, rng, cfg), rng)
        parts.append(pieces_of(scene, index))
    return LabelledPieces.concatenate(parts)


def make_pieces(images: np.ndarray, labels: np.ndarray, photos: int, seed: int, workers: int = 2,
                cfg: LayoutConfig = LayoutConfig()) -> LabelledPieces:
    """Labelled pieces from ``photos`` synthetic photos of numbers written with the given MNIST digits.

    Photo i is drawn from its own seed (``[seed, i]``), so the set is the same however it is split
    among worker processes.
    """
    chunk = 100
    jobs = [(seed, first, min(chunk, photos - first), cfg) for first in range(0, photos, chunk)]
    if workers <= 1:
        _start_worker(images, labels)
        return LabelledPieces.concatenate([_batch(job) for job in jobs])
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(images, labels)) as pool:
        return LabelledPieces.concatenate(list(pool.map(_batch, jobs)))
