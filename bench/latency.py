"""Latency and footprint of reading one photo, next to the tutorial's way, in the same run.

    python bench/latency.py [--runs 200]

* ours: ``Recognizer.recognize`` on a 1280x1280 JPEG (Telegram's usual photo size), pinned to one core;
* the tutorial's way: the same photo shrunk to 28x28 and passed to Keras ``model.predict``;
* a fresh serving process: time from start to first answer, peak memory, whether TensorFlow was imported.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import REPO, mnist_path, save  # noqa: E402

# Peak memory from VmHWM: ru_maxrss would carry over the parent's high-water mark through fork+exec.
SERVING_PROBE = """
import sys, time
started = time.perf_counter()
from recognizer import Recognizer
recognizer = Recognizer.load()
photo = open(sys.argv[1], "rb").read()
result = recognizer.recognize(photo)
first_answer = time.perf_counter() - started
peak_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(first_answer, peak_kb / 1024, "tensorflow" in sys.modules, result.number)
"""


def percentiles(seconds: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.array(seconds) * 1000, [50, 95])
    return float(p50), float(p95)


def timed(function, runs: int) -> list[float]:
    for _ in range(5):
        function()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    import cv2

    cv2.setNumThreads(1)
    from recognizer import Recognizer
    from recognizer.model_store import KERAS_FILE, resolve_version_dir
    from tests.photo_factory import digit_photo

    with np.load(mnist_path()) as data:
        digit = data["x_test"][0]
    photo = digit_photo([digit], np.random.default_rng(0), size=1280)
    photo_path = REPO / "bench" / "results" / "photo-1280.jpg"
    photo_path.parent.mkdir(parents=True, exist_ok=True)
    photo_path.write_bytes(photo)

    recognizer = Recognizer.load()
    ours = percentiles(timed(lambda: recognizer.recognize(photo), args.runs))
    print(f"recognize (1280x1280 JPEG, one core): p50 {ours[0]:.2f} ms, p95 {ours[1]:.2f} ms")

    probe = subprocess.run([sys.executable, "-c", SERVING_PROBE, str(photo_path)], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    first_answer_s, peak_mb, tensorflow_imported = float(probe[0]), float(probe[1]), probe[2] == "True"
    print(f"serving process: first answer {first_answer_s:.2f} s after start, peak memory {peak_mb:.0f} MB, "
          f"TensorFlow imported: {tensorflow_imported}")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # only now: the tutorial's way needs it

    model = keras.saving.load_model(resolve_version_dir() / KERAS_FILE)

    def tutorial() -> None:
        grey = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_GRAYSCALE)
        small = cv2.resize(255 - grey, (28, 28), interpolation=cv2.INTER_AREA)
        model.predict(small[None].astype(np.float32), verbose=0)

    theirs = percentiles(timed(tutorial, max(20, args.runs // 4)))
    print(f"tutorial (resize to 28x28, model.predict): p50 {theirs[0]:.2f} ms, p95 {theirs[1]:.2f} ms "
          f"-> ours is {theirs[0] / ours[0]:.0f}x faster at p50")
    results = {"recognize_p50_ms": ours[0], "recognize_p95_ms": ours[1], "tutorial_p50_ms": theirs[0],
               "tutorial_p95_ms": theirs[1], "speedup_p50": theirs[0] / ours[0],
               "serving_first_answer_s": first_answer_s, "serving_peak_mb": peak_mb,
               "serving_imports_tensorflow": tensorflow_imported}
    print(f"saved {save('latency', results)}")


if __name__ == "__main__":
    main()
