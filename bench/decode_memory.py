"""What each costly file costs to decode: peak memory and time, one fresh process per file.

    python bench/decode_memory.py

The files come from digitbot/testkit/image_bombs.py: the worst accepted file of each format and mode (as large
as the decoder accepts), and issue 9's files (7700x7700 in every mode, a 16383x3600 WebP), which
once took 0.5-1.1 GB each. The figure is the growth of the process's peak memory (ru_maxrss) over
what it held before decoding.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import REPO, save

CHILD = """
import json, resource, sys, time
from recognizer.decode import decode_image, ImageDecodeError
data = open(sys.argv[1], 'rb').read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    decode_image(data); outcome = 'decoded'
except ImageDecodeError as error:
    outcome = type(error).__name__
print(json.dumps({'outcome': outcome, 'seconds': time.perf_counter() - started,
                  'grown_mb': (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024}))
"""


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "digitbot.testkit.image_bombs", folder], cwd=REPO, check=True)
        for path in sorted(Path(folder).iterdir()):
            result = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=REPO, capture_output=True,
                                    text=True, check=True)
            row = {"file": path.name, "bytes": path.stat().st_size, **json.loads(result.stdout)}
            rows.append(row)
            print(f"{row['file']:36s} {row['bytes'] / 1024:9.0f} KB  {row['outcome']:18s} "
                  f"+{row['grown_mb']:6.0f} MB  {row['seconds']:.2f} s")
    worst = max(rows, key=lambda r: r["grown_mb"])
    print(f"most memory: {worst['file']} +{worst['grown_mb']:.0f} MB")
    print(f"saved {save('decode_memory', {'files': rows})}")


if __name__ == "__main__":
    main()
