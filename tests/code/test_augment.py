"""Augmentation: distorts like a phone photo would, keeps the digit recognisable, never mirrors."""

from __future__ import annotations

import numpy as np

from training.augment import AugmentConfig, augment_batch

IDENTITY = AugmentConfig(max_rotation_deg=0, scale_range=(1, 1), max_aspect_change=0, max_shear=0, max_shift_px=0,
                         elastic_alpha_px=0, thicken_probability=0, thin_probability=0, blur_probability=0,
                         noise_probability=0, fade_probability=0)


def _digits(mnist, n=256):
    return mnist["x_train"][:n]


def test_output_shape_range_and_dtype(mnist):
    out = augment_batch(_digits(mnist), np.random.default_rng(0))
    assert out.shape == (256, 28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255


def test_identity_settings_return_the_input(mnist):
    images = _digits(mnist)
    out = augment_batch(images, np.random.default_rng(0), IDENTITY)
    np.testing.assert_allclose(out, images.astype(np.float32), atol=0.01)


def test_distorts_but_stays_close_to_the_original(mnist):
    images = _digits(mnist).astype(np.float32)
    out = augment_batch(images / 255.0, np.random.default_rng(1))
    flat_in = images.reshape(len(images), -1)
    flat_out = out.reshape(len(out), -1)
    assert np.abs(flat_out - flat_in).mean() > 5  # it really changes the pictures
    correlation = [np.corrcoef(a, b)[0, 1] for a, b in zip(flat_in, flat_out)]
    assert np.median(correlation) > 0.5  # ... but each is still its digit, not something else


def test_never_mirrors(mnist):
    images = _digits(mnist).astype(np.float32)
    out = augment_batch(images / 255.0, np.random.default_rng(2))
    same = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(images, out)]
    mirrored = [np.corrcoef(a[:, ::-1].ravel(), b.ravel())[0, 1] for a, b in zip(images, out)]
    # Some digits (0, 1, 8) are nearly symmetric, so demand a clear majority and a clear margin.
    assert np.mean(np.array(same) > np.array(mirrored)) > 0.75
    assert np.mean(same) > np.mean(mirrored) + 0.2


def test_seeded_runs_repeat(mnist):
    a = augment_batch(_digits(mnist), np.random.default_rng(7))
    b = augment_batch(_digits(mnist), np.random.default_rng(7))
    c = augment_batch(_digits(mnist), np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
