"""Synthetic numbers: labels, owners of the ink, rendering, and the labels given to cut-out pieces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from training.numbers import OTHER_MARK, GlyphSource, LayoutConfig, compose, random_label
from training.pieces import DIGIT, NOT_WRITING, WRONG_CUT, pieces_of
from training.scenes import render, render_photo, render_scan
from training.styles import STYLES, draw, zero_joined


@pytest.fixture(scope="module")
def source(mnist) -> GlyphSource:
    return GlyphSource(mnist["x_train"][:2000], mnist["y_train"][:2000])


def test_labels_look_like_written_numbers():
    rng = np.random.default_rng(0)
    cfg = LayoutConfig()
    labels = [random_label(rng, cfg) for _ in range(2000)]
    lengths = np.array([len(label) for label in labels])
    assert lengths.min() == 1 and lengths.max() == cfg.max_digits
    assert abs(np.mean(lengths == 1) - cfg.single_share) < 0.03
    assert np.mean([label[0] == "0" for label in labels if len(label) > 1]) < 0.03
    assert all(label.isdigit() for label in labels)


def test_every_digit_owns_ink_and_marks_are_not_digits(source):
    for index in range(30):
        rng = np.random.default_rng([1, index])
        label = random_label(rng, LayoutConfig(min_digits=4, single_share=0.0))
        layout = compose(label, source, rng, LayoutConfig(separator_probability=1.0, end_mark_probability=1.0,
                                                          underline_probability=1.0))
        assert layout.label == label
        owners = set(np.unique(layout.owners).tolist())
        assert owners >= set(range(1, len(label) + 1))
        assert OTHER_MARK in owners  # the end mark and the underline
        assert owners <= {OTHER_MARK, 0, *range(1, len(label) + 1)}
        assert np.mean(layout.ink[layout.owners != 0] > 0.25) > 0.99
        # Digits are written left to right.
        lefts = [x for x, _, _, _ in layout.boxes]
        centres = [x + w / 2 for x, _, w, _ in layout.boxes]
        assert centres == sorted(centres) or np.mean(np.diff(lefts) > 0) > 0.7


@pytest.mark.parametrize("renderer", [render_photo, render_scan])
def test_scenes_decode_and_keep_the_owners_aligned(source, renderer):
    rng = np.random.default_rng(3)
    layout = compose("4096", source, rng)
    scene = renderer(layout, rng)
    image = cv2.imdecode(np.frombuffer(scene.data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image.shape == scene.owners.shape
    digits = scene.owners > 0
    assert digits.any()
    # Ink is where the owners say: darker (or, inverted, lighter) than the paper around it.
    contrast = abs(float(np.median(image[digits])) - float(np.median(image[scene.owners == 0])))
    assert contrast > 15


def test_a_single_digit_is_mostly_photographed_close_up(source):
    """People photograph one digit close; a number is a smaller part of its photo."""
    def digit_share(label: str, seed: int) -> float:
        rng = np.random.default_rng(seed)
        owners = render_photo(compose(label, source, rng), rng).owners
        rows = np.flatnonzero((owners > 0).any(axis=1))
        return (rows[-1] - rows[0] + 1) / min(owners.shape)

    single = np.median([digit_share(str(seed % 10), seed) for seed in range(40)])
    number = np.median([digit_share("4096", seed) for seed in range(40)])
    assert single > 0.3 > number


def test_every_style_draws_a_digit_sized_shape():
    rng = np.random.default_rng(4)
    for digit, generators in STYLES.items():
        for generator in generators:
            # a joined zero is small, as in amounts; every other style fills the height it is given
            tallest_short = 0.4 if generator is zero_joined else 0.75
            for _ in range(5):
                ink = draw(generator(rng), 60, rng, pen=5)
                ys, xs = np.nonzero(ink > 0.5)
                assert 60 * tallest_short <= np.ptp(ys) <= 75, generator.__name__
                assert 5 <= np.ptp(xs) <= 60, generator.__name__


def clear_layout(label: str, source: GlyphSource):
    """The first seeded layout of ``label`` whose digits' boxes are well apart (no touching digits)."""
    plain = LayoutConfig(separator_probability=0, end_mark_probability=0, underline_probability=0)
    for seed in range(100):
        rng = np.random.default_rng(seed)
        layout = compose(label, source, rng, plain)
        rights = [x + w for x, _, w, _ in layout.boxes]
        if all(left - right > 0.1 * layout.digit_height for (left, *_), right in zip(layout.boxes[1:], rights)):
            return layout, rng
    raise AssertionError("no clear layout in 100 seeds")


def test_pieces_of_a_clear_number_include_each_whole_digit(source):
    layout, rng = clear_layout("307", source)
    pieces = pieces_of(render(layout, rng, kind="scan"), 0)
    whole = pieces.kind == DIGIT
    assert set(pieces.digit[whole].tolist()) == {0, 3, 7}  # a digit with or without a speck is still whole
    assert (pieces.digit[~whole] == -1).all()
    assert set(pieces.kind.tolist()) <= {DIGIT, NOT_WRITING, WRONG_CUT}
    assert (pieces.kind == WRONG_CUT).any()  # e.g. two digits at once
