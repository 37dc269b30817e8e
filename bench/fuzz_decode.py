"""Fuzz ``Recognizer.recognize`` with thousands of mutated real photos in every accepted format.

    python bench/fuzz_decode.py [--cases 5000] [--seeds 1 2 3]

Each seed runs ``digitbot/testkit/fuzz_images.py`` in its own process (so the peak memory is that process's
alone): random bytes, truncation, repeated ranges and structured changes to header fields (sizes,
offsets, chunk and segment lengths, field types). Prints and saves what happened, the slowest case
and the peak memory; any outcome other than an answer or an ImageDecodeError is a crash.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import REPO, save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000, help="cases per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    runs = []
    for seed in args.seeds:
        result = subprocess.run([sys.executable, "-m", "digitbot.testkit.fuzz_images", "--cases", str(args.cases),
                                 "--seed", str(seed)], cwd=REPO, capture_output=True, text=True, check=True)
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        runs.append(summary)
        print(f"seed {seed}: {summary['cases']} cases, outcomes {summary['outcomes']}, crashes "
              f"{len(summary['crashes'])}, slowest {summary['slowest_s']:.3f} s ({summary['slowest_case']}), "
              f"peak memory {summary['peak_memory_mb']:.0f} MB")
        for crash in summary["crashes"][:10]:
            print("  CRASH", crash)
    total = sum(r["cases"] for r in runs)
    print(f"total {total} cases, {sum(len(r['crashes']) for r in runs)} crashes, slowest "
          f"{max(r['slowest_s'] for r in runs):.3f} s, peak {max(r['peak_memory_mb'] for r in runs):.0f} MB")
    print(f"saved {save('fuzz_decode', {'runs': runs})}")


if __name__ == "__main__":
    main()
