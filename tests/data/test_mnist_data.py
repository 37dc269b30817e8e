"""Data tests: the MNIST file the product trains on is what it claims to be."""

from __future__ import annotations

import hashlib

import numpy as np

from training.data import load_mnist


def test_shapes_and_dtypes(mnist_path):
    data = load_mnist(mnist_path)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert data.x_train.dtype == np.uint8 and data.y_train.shape == (60000,)


def test_every_digit_is_well_represented(mnist_path):
    data = load_mnist(mnist_path)
    counts = np.bincount(data.y_train, minlength=10)
    assert set(np.unique(data.y_train)) == set(range(10))
    assert counts.min() > 0.08 * len(data.y_train)  # no digit below 8% (the rarest, 5, has 9%)


def test_no_test_image_is_in_the_training_set(mnist_path):
    data = load_mnist(mnist_path)
    train_hashes = {hashlib.sha1(image.tobytes()).digest() for image in data.x_train}
    leaked = sum(hashlib.sha1(image.tobytes()).digest() in train_hashes for image in data.x_test)
    assert leaked == 0


# SHA-256 of Keras's mnist.npz training arrays (x_train then y_train bytes), as the shipped model's
# manifest records it ("train_data_sha256"); measured on /work/shared/data/mnist.npz and Keras's download.
MNIST_TRAIN_SHA256 = "d18cfd466eb143ac1097fde604dba9eec4116885869d04cc648b510949f9e88c"


def test_training_data_hash_is_the_published_one_and_follows_the_content(mnist_path):
    data = load_mnist(mnist_path)
    assert data.train_sha256 == MNIST_TRAIN_SHA256
    data.x_train[0, 0, 0] ^= 1  # one pixel of one digit differs: another data set
    assert data.train_sha256 != MNIST_TRAIN_SHA256
