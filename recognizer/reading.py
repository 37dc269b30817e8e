"""The best readings of a photo: paths through its candidate pieces that the networks believe most.

A reading covers every atom exactly once, left to right, with pieces; each piece is read either as a
digit or as not writing (a separator, a speck, a shadow). A piece's belief is the piece network's
probability that it is a whole digit times the digit network's probability of that digit, or the
piece network's probability that it is not writing. Pieces that are wrong cuts (half a digit, two
digits) have neither, so paths through them lose.

The search keeps, at every atom boundary, the few best partial numbers, adding up paths that give
the same digits (a 5 read from its body and bar as one piece, or from both and a dot, is still 5).
The total belief over *all* paths comes from the forward sum, so a number's share of it says how
far it beats every other reading, segmentation included: that share, calibrated, is the confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recognizer.segment import Candidates

BEAM = 12  # partial numbers kept at each atom boundary
DIGIT_OPTIONS = 3  # digits tried per piece (the others carry almost no belief)
MAX_DIGITS = 12
FLOOR = 1e-12
PRUNE = 25.0  # partial numbers this far (in log-belief) below the best at their boundary are not extended
NEGLIGIBLE = 10.0  # a digit less likely than exp(-10) (0.005%) is not tried unless it is the piece's best


@dataclass
class Reading:
    """One way to read the photo: its digits, their share of all belief, the pieces read as digits."""

    number: str
    share: float  # of the total belief over every path through the pieces
    pieces: tuple[int, ...]  # indices into Candidates.pieces, one per digit, left to right
    path_belief: float  # log-belief of the best single path giving this number


def best_readings(cands: Candidates, digit_probs: np.ndarray, piece_probs: np.ndarray,
                  weight: float = 1.0) -> list[Reading]:
    """Readings, best first, each with its share of the belief over every path.

    ``digit_probs`` (P, 10) and ``piece_probs`` (P, 3: whole digit, not writing, wrong cut) belong to
    ``cands.pieces``; ``weight`` sharpens (> 1) or flattens (< 1) the piece network's belief.
    Beliefs are kept as logs in plain Python floats: with a few hundred pieces, NumPy's per-call
    overhead on scalars would cost more than the arithmetic.
    """
    n = cands.atom_count
    log_digit = (np.log(np.maximum(piece_probs[:, 0], FLOOR)) * weight).tolist()
    log_not_writing = (np.log(np.maximum(piece_probs[:, 1], FLOOR)) * weight).tolist()
    log_digits = np.log(np.maximum(digit_probs, FLOOR))
    order = np.argsort(-digit_probs, axis=1)[:, :DIGIT_OPTIONS]
    options = [[(str(int(d)), float(log_digits[i, d])) for k, d in enumerate(row)
                if k == 0 or log_digits[i, d] > -NEGLIGIBLE] for i, row in enumerate(order)]
    ending: list[list[int]] = [[] for _ in range(n + 1)]
    for index, piece in enumerate(cands.pieces):
        ending[piece.stop].append(index)

    forward = [-math.inf] * (n + 1)
    forward[0] = 0.0
    # Each partial number maps to [log of the summed belief of all paths so far giving it, log-belief of
    # the best of those paths, that path's pieces]: plain lists and inlined arithmetic, since this loop
    # runs thousands of times for a cheque.
    partial: list[dict[str, list]] = [dict() for _ in range(n + 1)]
    partial[0][""] = [0.0, 0.0, ()]
    floor = [-math.inf] * (n + 1)  # partial numbers below this at a boundary are not extended
    floor[0] = -PRUNE
    for stop in range(1, n + 1):
        here: dict[str, list] = {}
        totals = []
        for index in ending[stop]:
            start = cands.pieces[index].start
            if forward[start] == -math.inf:
                continue
            totals.append(forward[start] + _add(log_digit[index], log_not_writing[index]))
            not_writing, whole_digit = log_not_writing[index], log_digit[index]
            digit_options = options[index]
            for number, (mass_before, best_before, pieces_before) in partial[start].items():
                if mass_before < floor[start]:
                    continue
                _extend(here, number, mass_before + not_writing, best_before + not_writing, pieces_before)
                if len(number) < MAX_DIGITS:
                    pieces = (*pieces_before, index)
                    for digit, log_p in digit_options:
                        belief = whole_digit + log_p
                        _extend(here, number + digit, mass_before + belief, best_before + belief, pieces)
        if totals:
            forward[stop] = _add_all(totals)
        if len(here) > BEAM:
            here = dict(sorted(here.items(), key=lambda item: -item[1][0])[:BEAM])
        partial[stop] = here
        if here:
            floor[stop] = max(found[0] for found in here.values()) - PRUNE
    total = forward[n]
    if total == -math.inf:
        return []
    readings = [Reading(number, math.exp(mass - total), pieces, best)
                for number, (mass, best, pieces) in partial[n].items()]
    return sorted(readings, key=lambda r: -r.share)


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) without overflow."""
    if a < b:
        a, b = b, a
    return a if b == -math.inf else a + math.log1p(math.exp(b - a))


def _add_all(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _extend(here: dict[str, list], number: str, mass: float, best: float, pieces: tuple[int, ...]) -> None:
    found = here.get(number)
    if found is None:
        here[number] = [mass, best, pieces]
        return
    found[0] = _add(found[0], mass)
    if best > found[1]:
        found[1], found[2] = best, pieces
