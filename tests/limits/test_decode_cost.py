"""What the worst accepted files and fuzzed real files cost to decode, measured in fresh processes.

Moved out of the unit layer (tests/code) because each case runs a child process: about a minute in all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recognizer.decode import MAX_DECODE_BYTES
from tests.conftest import REPO


@pytest.fixture(scope="session")
def bomb_dir(tmp_path_factory) -> Path:
    """The worst accepted file of each kind and issue 9's files, written in a child process."""
    folder = tmp_path_factory.mktemp("bombs")
    subprocess.run([sys.executable, "-m", "digitbot.testkit.image_bombs", str(folder)], cwd=REPO, check=True,
                   timeout=180)
    return folder


def _decode_in_child(path: Path) -> dict:
    """Decode one file in a fresh process: its outcome, the memory the decode added, and the time."""
    code = ("import json,resource,sys,time\nfrom recognizer.decode import decode_image, ImageDecodeError\n"
            "data=open(sys.argv[1],'rb').read()\nbase=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "t=time.perf_counter()\ntry:\n    decode_image(data); out='decoded'\n"
            "except ImageDecodeError as e:\n    out=type(e).__name__\n"
            "print(json.dumps({'outcome':out,'seconds':time.perf_counter()-t,"
            "'grown_mb':(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss-base)/1024}))")
    result = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.slow
def test_no_accepted_file_costs_more_than_the_budget(bomb_dir):
    """Issue 9's files once took 0.5-1.1 GB each; now each is refused up front or decoded within budget."""
    limit_mb = MAX_DECODE_BYTES / 2**20
    results = {path.name: _decode_in_child(path) for path in sorted(bomb_dir.iterdir())}
    for name, result in results.items():
        assert result["outcome"] in ("decoded", "ImageTooLargeError"), (name, result)
        assert result["grown_mb"] <= limit_mb, (name, result)
    assert all(r["outcome"] == "decoded" for n, r in results.items() if n.startswith("worst-")), results
    assert results["issue-7700-rgba.png"]["grown_mb"] < 20  # refused before its pixels were decoded


@pytest.mark.slow
def test_fuzzed_real_photos_give_only_decode_errors():
    """300 mutated real files of every accepted format (header fields among the mutations), in a child process."""
    result = subprocess.run([sys.executable, "-m", "digitbot.testkit.fuzz_images", "--cases", "300", "--seed", "9"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["crashes"] == []
    assert summary["slowest_s"] <= 1.0, summary
    assert summary["peak_memory_mb"] <= 300, summary
    assert summary["outcomes"].get("answered", 0) > 0 and len(summary["outcomes"]) >= 3  # the mutations reach deep
