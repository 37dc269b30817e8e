"""Latency of reading photos as users send them, over whole sets, next to the tutorial's way in the same run.

    python bench/latency.py [PHOTOS_DIR] [--seed-photos 100]

Every dev photo is re-encoded the way Telegram delivers photos (longest side 1280 px, JPEG quality
87) and read by ``Recognizer.recognize`` on one core (process pinned, OpenCV single-threaded):
single digits and cheque amounts apart, each reported as p50, p90, p99, max and mean. The
tutorial's way (decode, shrink to 28x28, Keras ``model.predict``) is timed on the same machine in the
same run, on the first ``--seed-photos`` single-digit photos. Last, a fresh serving process: time to
its first answer, its peak memory, and whether it imported TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

# One core means one BLAS thread too (set before NumPy loads OpenBLAS): its spare threads spin while
# they wait, which on a pinned process costs time, not speed (the bot sets the same, bot/startup.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import REPO, RESULTS, photos_dir, save  # noqa: E402
from bench.photo_accuracy import labelled_photos  # noqa: E402

TELEGRAM_SIDE = 1280
TELEGRAM_QUALITY = 87

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


def as_telegram_sends(path: Path) -> bytes:
    """The photo with its longest side at 1280 px, as a quality-87 JPEG (what a Telegram photo is)."""
    import cv2  # noqa: PLC0415
    from PIL import Image, ImageOps  # noqa: PLC0415

    with Image.open(path) as image:
        rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    scale = TELEGRAM_SIDE / max(rgb.shape[:2])
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    resized = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    ok, encoded = cv2.imencode(".jpg", resized[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, TELEGRAM_QUALITY])
    assert ok
    return encoded.tobytes()


def figures(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"photos": len(ms), "p50_ms": round(float(p50), 2), "p90_ms": round(float(p90), 2),
            "p99_ms": round(float(p99), 2), "max_ms": round(float(ms.max()), 2), "mean_ms": round(float(ms.mean()), 2)}


def timed(function, inputs: list[bytes]) -> list[float]:
    for data in inputs[:5]:
        function(data)  # warm caches and lazy imports
    out = []
    for data in inputs:
        started = time.perf_counter()
        function(data)
        out.append(time.perf_counter() - started)
    return out


def line(name: str, f: dict[str, float]) -> str:
    return (f"{name}: p50 {f['p50_ms']:.1f} ms, p90 {f['p90_ms']:.1f}, p99 {f['p99_ms']:.1f}, max {f['max_ms']:.1f}, "
            f"mean {f['mean_ms']:.1f} ({f['photos']} photos)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=photos_dir())
    parser.add_argument("--seed-photos", type=int, default=100)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    import cv2  # noqa: PLC0415

    cv2.setNumThreads(1)
    from recognizer import Recognizer  # noqa: PLC0415

    sets = {kind: [as_telegram_sends(f) for photos in labelled_photos(args.folder / kind).values() for f, _ in photos]
            for kind in ("single", "multi") if (args.folder / kind).is_dir()}
    recognizer = Recognizer.load()
    results: dict = {"model": recognizer.version}
    for kind, photos in sets.items():
        results[kind] = figures(timed(recognizer.recognize, photos))
        print(line(f"recognize, {kind} ({'single digits' if kind == 'single' else 'cheque amounts'})",
                   results[kind]))

    RESULTS.mkdir(parents=True, exist_ok=True)
    probe_photo = RESULTS / "photo-1280.jpg"
    probe_photo.write_bytes(sets["single"][0])
    probe = subprocess.run([sys.executable, "-c", SERVING_PROBE, str(probe_photo)], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    results["serving"] = {"first_answer_s": float(probe[0]), "peak_mb": float(probe[1]),
                          "imports_tensorflow": probe[2] == "True"}
    print(f"serving process: first answer {float(probe[0]):.2f} s after start, peak memory {float(probe[1]):.0f} MB, "
          f"TensorFlow imported: {probe[2]}")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # noqa: PLC0415 - only now: the tutorial's way needs it

    from recognizer.model_store import KERAS_FILE, resolve_version_dir  # noqa: PLC0415

    model = keras.saving.load_model(resolve_version_dir() / KERAS_FILE)

    def tutorial(data: bytes) -> None:
        grey = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        small = cv2.resize(255 - grey, (28, 28), interpolation=cv2.INTER_AREA)
        model.predict(small[None].astype(np.float32), verbose=0)

    results["tutorial_single"] = figures(timed(tutorial, sets["single"][: args.seed_photos]))
    print(line("tutorial's way (shrink to 28x28, model.predict), single", results["tutorial_single"]))
    results["p50_speedup_single"] = round(results["tutorial_single"]["p50_ms"] / results["single"]["p50_ms"], 1)
    print(f"-> on single digits, p50 {results['p50_speedup_single']}x faster than the tutorial's way; our p99 "
          f"{results['single']['p99_ms']:.1f} ms vs its p50 {results['tutorial_single']['p50_ms']:.1f} ms")
    print(f"saved {save('latency', results)}")


if __name__ == "__main__":
    main()
