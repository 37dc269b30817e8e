"""What a dense layer costs for a photo's few pieces, by row count, padded to a multiple of four or not.

    python bench/matrix_rows.py

OpenBLAS's single-precision kernels compute four rows at a time; other counts take a slower path.
``recognizer.classifier`` pads its input to a multiple of four rows: this measures whether that pays
on this machine, for the shipped networks' first layers (one core, as serving runs).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import save  # noqa: E402


def best_microseconds(function, repeats: int = 300, rounds: int = 5) -> float:
    for _ in range(10):
        function()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeats):
            function()
        best = min(best, (time.perf_counter() - started) / repeats * 1e6)
    return best


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from recognizer import Recognizer  # noqa: PLC0415
    from recognizer.classifier import rows_of_four  # noqa: PLC0415

    recognizer = Recognizer.load()
    kernels = {"digit network": recognizer.classifier.kernels[0], "piece network": recognizer.pieces.network.kernels[0]}
    rng = np.random.default_rng(0)
    results: dict = {}
    for name, kernel in kernels.items():
        rows = {}
        for count in range(1, 13):
            x = rng.random((count, kernel.shape[0]), dtype=np.float32)
            xp = rows_of_four(x)  # what the classifier hands OpenBLAS
            rows[count] = {"plain_us": round(best_microseconds(lambda: x @ kernel), 1),
                           "padded_us": round(best_microseconds(lambda: xp @ kernel), 1)}
        results[name] = rows
        print(f"{name} first layer {kernel.shape}: rows, plain us, padded to a multiple of 4 us")
        for count, r in rows.items():
            print(f"  {count:2d}  {r['plain_us']:7.1f}  {r['padded_us']:7.1f}")
    print(f"saved {save('matrix_rows', results)}")


if __name__ == "__main__":
    main()
