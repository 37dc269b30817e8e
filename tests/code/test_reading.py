"""The search through candidate pieces, checked against brute-force enumeration of every path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recognizer import reading
from recognizer.reading import best_readings
from recognizer.segment import FEATURE_COUNT, Candidates, Piece


def lattice(spans: list[tuple[int, int]], atoms: int) -> Candidates:
    blank = np.zeros((28, 28), np.uint8)
    pieces = [Piece(start, stop, (start, 0, stop - start, 1), blank[:1, :1], blank, np.zeros(FEATURE_COUNT, np.float32))
              for start, stop in spans]
    return Candidates(atoms, pieces, digit_height=20.0, stroke_width=2.0, contrast=0.6)


def brute_force(cands: Candidates, digit_probs: np.ndarray, piece_probs: np.ndarray) -> dict[str, float]:
    """Every segmentation, every label of every piece: the exact belief of each number."""
    by_start: dict[int, list[int]] = {}
    for index, piece in enumerate(cands.pieces):
        by_start.setdefault(piece.start, []).append(index)
    totals: dict[str, float] = {}

    def walk(at: int, number: str, belief: float) -> None:
        if at == cands.atom_count:
            totals[number] = totals.get(number, 0.0) + belief
            return
        for index in by_start.get(at, []):
            stop = cands.pieces[index].stop
            walk(stop, number, belief * piece_probs[index, 1])
            for digit in range(10):
                walk(stop, number + str(digit), belief * piece_probs[index, 0] * digit_probs[index, digit])

    walk(0, "", 1.0)
    return totals


SPANS = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (3, 4), (2, 4)]


def random_scores(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(10, 0.3), len(SPANS)), rng.dirichlet(np.ones(3), len(SPANS))


@pytest.mark.parametrize("seed", range(5))
def test_with_every_digit_tried_and_a_wide_beam_shares_are_exact(seed, monkeypatch):
    monkeypatch.setattr(reading, "DIGIT_OPTIONS", 10)
    monkeypatch.setattr(reading, "BEAM", 100_000)
    monkeypatch.setattr(reading, "PRUNE", float("inf"))
    monkeypatch.setattr(reading, "NEGLIGIBLE", float("inf"))
    cands = lattice(SPANS, 4)
    digit_probs, piece_probs = random_scores(seed)
    exact = brute_force(cands, digit_probs, piece_probs)
    total = sum(exact.values())
    readings = best_readings(cands, digit_probs, piece_probs)
    assert len(readings) == len(exact)
    for found in readings:
        assert found.share == pytest.approx(exact[found.number] / total, rel=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_the_fast_search_finds_the_best_number_and_never_overstates_a_share(seed):
    cands = lattice(SPANS, 4)
    digit_probs, piece_probs = random_scores(seed)
    exact = brute_force(cands, digit_probs, piece_probs)
    total = sum(exact.values())
    readings = best_readings(cands, digit_probs, piece_probs)
    assert readings[0].number == max(exact, key=exact.get)
    for found in readings:
        assert found.share <= exact[found.number] / total * (1 + 1e-9)


def test_a_whole_digit_beats_its_halves():
    # Atoms 0 and 1 are the two halves of a 7; the piece net believes the whole, not the halves.
    cands = lattice([(0, 1), (1, 2), (0, 2)], 2)
    digit_probs = np.full((3, 10), 0.01)
    digit_probs[0, 1] = digit_probs[1, 1] = 0.91  # each half looks like a 1
    digit_probs[2, 7] = 0.91
    piece_probs = np.array([[0.1, 0.05, 0.85], [0.1, 0.05, 0.85], [0.97, 0.01, 0.02]])
    readings = best_readings(cands, digit_probs, piece_probs)
    assert readings[0].number == "7"
    assert readings[0].pieces == (2,)
    assert readings[0].share == pytest.approx(0.97 * 0.91 / (0.98 + 0.15**2), rel=1e-6)
    assert {r.number for r in readings} >= {"7", "11"}


def test_separators_are_read_as_no_digit():
    # 3, a dot, 5: the dot is not writing, so the reading is 35 and the dot is no piece of it.
    cands = lattice([(0, 1), (1, 2), (2, 3)], 3)
    digit_probs = np.full((3, 10), 0.01)
    digit_probs[0, 3] = digit_probs[1, 0] = digit_probs[2, 5] = 0.91
    piece_probs = np.array([[0.98, 0.01, 0.01], [0.02, 0.97, 0.01], [0.98, 0.01, 0.01]])
    readings = best_readings(cands, digit_probs, piece_probs)
    assert readings[0].number == "35"
    assert readings[0].pieces == (0, 2)


def test_nothing_but_marks_reads_as_no_number():
    cands = lattice([(0, 1)], 1)
    readings = best_readings(cands, np.full((1, 10), 0.1), np.array([[0.01, 0.98, 0.01]]))
    assert readings[0].number == ""
    assert readings[0].share == pytest.approx(0.98 / 0.99, rel=1e-3)


def test_unreachable_end_gives_no_reading():
    cands = lattice([(0, 1)], 2)  # atom 1 is in no piece
    assert best_readings(cands, np.full((1, 10), 0.1), np.array([[0.9, 0.05, 0.05]])) == []


def test_piece_weight_sharpens_the_piece_network():
    cands = lattice([(0, 1), (1, 2), (0, 2)], 2)
    digit_probs = np.full((3, 10), 0.0)
    digit_probs[:, 1] = 1.0
    piece_probs = np.array([[0.6, 0.0, 0.4], [0.6, 0.0, 0.4], [0.5, 0.0, 0.5]])
    flat = {r.number: r.share for r in best_readings(cands, digit_probs, piece_probs, weight=1.0)}
    sharp = {r.number: r.share for r in best_readings(cands, digit_probs, piece_probs, weight=3.0)}
    assert flat["11"] == pytest.approx(0.36 / 0.86, rel=1e-3)
    assert sharp["11"] == pytest.approx(0.6**6 / (0.6**6 + 0.5**3), rel=1e-3)


def test_the_beam_keeps_only_the_best_partial_numbers():
    # Twelve one-atom pieces, each equally 0-9: far more numbers than the beam holds, all equally likely.
    cands = lattice([(i, i + 1) for i in range(12)], 12)
    readings = best_readings(cands, np.full((12, 10), 0.1), np.tile([[1.0, 0.0, 0.0]], (12, 1)))
    assert all(len(r.number) == 12 for r in readings)
    assert sum(r.share for r in readings) == pytest.approx(len(readings) * 1e-12, rel=1e-6)
    assert len(readings) <= 12
    assert list(itertools.islice((r.share for r in readings), 2)) == sorted(
        (r.share for r in readings[:2]), reverse=True)
