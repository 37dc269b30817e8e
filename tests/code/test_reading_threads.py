"""The bot reads several photos at once, so each reading gets one thread of OpenBLAS and of OpenCV."""

from __future__ import annotations

import json
import subprocess
import sys

from digitbot.testkit import REPO

PROBE = """
import json, numpy, cv2
from bot.startup import blas_threads, one_thread_per_reading
before = blas_threads()
one_thread_per_reading()
print(json.dumps({"before": before, "after": blas_threads(), "opencv": cv2.getNumThreads()}))
"""


def test_one_thread_per_reading_reaches_every_openblas_and_opencv():
    # In a child process: the setting is process-wide, and this one's other tests keep their threads.
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True,
                           env={"OPENBLAS_NUM_THREADS": "2", "PATH": ""})
    threads = json.loads(probe.stdout)
    assert threads["before"] and set(threads["before"]) == {2}, "each OpenBLAS is found and asked"
    assert set(threads["after"]) == {1} and threads["opencv"] == 1
