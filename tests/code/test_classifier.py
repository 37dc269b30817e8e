"""The NumPy forward pass serving uses, checked on networks whose answers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recognizer.classifier import DenseClassifier, PieceClassifier, piece_inputs, softmax


def hand_network() -> DenseClassifier:
    """784 -> 2 -> 10. Hidden unit 0 counts the ink; unit 1 would be minus the ink (ReLU makes it 0).
    Output 0 is unit 0, output 1 is 100 x unit 1 plus 3; the rest are 0."""
    kernel_0 = np.zeros((784, 2), np.float32)
    kernel_0[:, 0], kernel_0[:, 1] = 1.0, -1.0
    kernel_1 = np.zeros((2, 10), np.float32)
    kernel_1[0, 0], kernel_1[1, 1] = 1.0, 100.0
    bias_1 = np.zeros(10, np.float32)
    bias_1[1] = 3.0
    return DenseClassifier([kernel_0, kernel_1], [np.array([0.0, 5.0]), bias_1], input_scale=1 / 255)


def ten_inked_pixels() -> np.ndarray:
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 0, :10] = 255
    return image


def test_logits_of_a_hand_made_network():
    logits = hand_network().logits(ten_inked_pixels())
    # unit 0 = 10 inked pixels x 1.0; unit 1 = ReLU(-10 + 5) = 0, so output 1 is only its bias 3.
    np.testing.assert_allclose(logits, [[10, 3, 0, 0, 0, 0, 0, 0, 0, 0]], atol=1e-5)


def test_probabilities_and_temperature():
    rest = 8  # eight outputs of logit 0
    expected = math.exp(10) / (math.exp(10) + math.exp(3) + rest)
    probabilities = hand_network().classify(ten_inked_pixels())
    assert probabilities.dtype == np.float32 and probabilities.sum() == pytest.approx(1.0, abs=1e-6)
    assert probabilities[0, 0] == pytest.approx(expected, rel=1e-5)
    softened = hand_network().classify(ten_inked_pixels(), temperature=2.0)  # logits 5, 1.5, 0...
    assert softened[0, 0] == pytest.approx(math.exp(5) / (math.exp(5) + math.exp(1.5) + rest), rel=1e-5)
    assert softened[0, 0] < probabilities[0, 0]


def test_softmax_of_huge_logits_is_finite():
    probabilities = softmax(np.array([[1000.0, 0.0, -1000.0]], np.float32))
    np.testing.assert_allclose(probabilities, [[1.0, 0.0, 0.0]], atol=1e-7)


def test_weights_round_trip_through_their_file(tmp_path):
    network = hand_network()
    network.save_npz(tmp_path / "weights.npz")
    loaded = DenseClassifier.from_npz(tmp_path / "weights.npz")
    np.testing.assert_array_equal(loaded.logits(ten_inked_pixels()), network.logits(ten_inked_pixels()))
    assert loaded.parameter_count == network.parameter_count == 784 * 2 + 2 + 2 * 10 + 10


def test_a_bias_per_kernel():
    with pytest.raises(ValueError):
        DenseClassifier([np.zeros((784, 10))], [], 1.0)


def test_piece_inputs_are_pixels_in_0_1_then_standardised_features():
    images = np.full((1, 28, 28), 255, np.uint8)
    rows = piece_inputs(images, np.array([[2.0, 4.0]]), mean=np.array([1.0, 1.0]), std=np.array([1.0, 2.0]))
    assert rows.shape == (1, 786)
    np.testing.assert_allclose(rows[0, :784], 1.0)
    np.testing.assert_allclose(rows[0, 784:], [1.0, 1.5])


def test_the_piece_network_on_no_pieces():
    network = DenseClassifier([np.zeros((786, 3), np.float32)], [np.zeros(3, np.float32)], 1.0)
    pieces = PieceClassifier(network, np.zeros(2), np.ones(2))
    assert pieces.classify(np.zeros((0, 28, 28), np.uint8), np.zeros((0, 2))).shape == (0, 3)
    np.testing.assert_allclose(pieces.classify(np.zeros((2, 28, 28), np.uint8), np.zeros((2, 2))), 1 / 3)


@pytest.mark.parametrize("count", [2, 3, 5, 7, 8])
def test_any_number_of_images_gets_one_answer_each(count):
    """Rows are padded to a multiple of four for speed; the padding must never show in the answers."""
    images = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        images[index, index, : 3 * index + 1] = 255  # a different amount of ink in each
    network = hand_network()
    together = network.logits(images)
    assert together.shape == (count, 10)
    one_by_one = np.concatenate([network.logits(images[i : i + 1]) for i in range(count)])
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)
    assert [round(v) for v in together[:, 0]] == [3 * i + 1 for i in range(count)]
