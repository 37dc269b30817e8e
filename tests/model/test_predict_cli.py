"""``digitbot predict``: a line per file for people, a JSON object per line for programs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np

from digitbot.testkit.photos import digit_photo
from tests.conftest import REPO


def _predict(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digitbot", "predict", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def _files(tmp_path, mnist):
    rng = np.random.default_rng(0)
    seven, two = mnist["x_test"][0], mnist["x_test"][1]  # labelled 7 and 2
    (tmp_path / "seven.jpg").write_bytes(digit_photo([seven], rng))
    (tmp_path / "number.jpg").write_bytes(digit_photo([seven, two], rng, digit_height=0.3))
    (tmp_path / "broken.jpg").write_bytes(b"not a photo at all")
    return [str(tmp_path / n) for n in ("seven.jpg", "broken.jpg", "number.jpg")]


def test_human_lines_and_errors_per_file(tmp_path, mnist):
    result = _predict(*_files(tmp_path, mnist))
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 3
    assert re.search(r"seven\.jpg: 7 \(\d+%\)$", lines[0]), lines[0]
    assert "broken.jpg: error:" in lines[1]
    assert re.search(r"number\.jpg: 72 \(\d+%\)$", lines[2]), lines[2]


def test_json_lines(tmp_path, mnist):
    result = _predict("--json", *_files(tmp_path, mnist))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0
    # Both photos are clear MNIST test digits: measured 99.7% and 99.4% sure with the shipped model.
    assert [r["status"] for r in records] == ["ok", "error", "ok"]
    first = records[0]
    assert first["number"] == "7" and 0.9 <= first["confidence"] <= 1
    assert 0.9 <= records[2]["confidence"] <= 1
    assert set(first["digits"][0]) >= {"digit", "confidence", "top3", "box"}
    assert records[2]["number"] == "72" and len(records[2]["digits"]) == 2
    assert "error" in records[1] and records[1]["file"].endswith("broken.jpg")


def test_debug_pictures(tmp_path, mnist):
    files = _files(tmp_path, mnist)
    result = _predict("--debug", str(tmp_path / "debug"), *files)
    assert result.returncode == 0
    written = sorted(p.name for p in (tmp_path / "debug").iterdir())
    assert len(written) == 2 and all(name.endswith(".png") for name in written)


def test_all_files_unreadable_is_an_error(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"nope")
    result = _predict(str(tmp_path / "a.jpg"), str(tmp_path / "missing.jpg"))
    assert result.returncode == 1 and result.stdout.count("error") == 2
