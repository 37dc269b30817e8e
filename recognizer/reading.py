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


@dataclass
class _Partial:
    log_mass: float  # log of the summed belief of all paths so far giving this number
    best: float  # log-belief of the best of those paths
    pieces: tuple[int, ...]


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
    partial: list[dict[str, _Partial]] = [dict() for _ in range(n + 1)]
    partial[0][""] = _Partial(0.0, 0.0, ())
    for stop in range(1, n + 1):
        here: dict[str, _Partial] = {}
        totals = []
        for index in ending[stop]:
            start = cands.pieces[index].start
            if forward[start] == -math.inf:
                continue
            totals.append(forward[start] + _add(log_digit[index], log_not_writing[index]))
            floor = max(p.log_mass for p in partial[start].values()) - PRUNE
            for number, before in partial[start].items():
                if before.log_mass < floor:
                    continue
                _extend(here, number, before, log_not_writing[index], None)
                if len(number) < MAX_DIGITS:
                    for digit, log_p in options[index]:
                        _extend(here, number + digit, before, log_digit[index] + log_p, index)
        if totals:
            forward[stop] = _add_all(totals)
        if len(here) > BEAM:
            here = dict(sorted(here.items(), key=lambda item: -item[1].log_mass)[:BEAM])
        partial[stop] = here
    total = forward[n]
    if total == -math.inf:
        return []
    readings = [Reading(number, math.exp(p.log_mass - total), p.pieces, p.best) for number, p in partial[n].items()]
    return sorted(readings, key=lambda r: -r.share)


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) without overflow."""
    if a < b:
        a, b = b, a
    return a if b == -math.inf else a + math.log1p(math.exp(b - a))


def _add_all(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _extend(here: dict[str, _Partial], number: str, before: _Partial, log_belief: float,
            piece: int | None) -> None:
    mass = before.log_mass + log_belief
    best = before.best + log_belief
    found = here.get(number)
    if found is None:
        here[number] = _Partial(mass, best, before.pieces if piece is None else (*before.pieces, piece))
    else:
        found.log_mass = _add(found.log_mass, mass)
        if best > found.best:
            found.best, found.pieces = best, before.pieces if piece is None else (*before.pieces, piece)
