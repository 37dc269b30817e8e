"""Decoding: every common format, EXIF rotation, transparency, and specific errors for bad input."""

from __future__ import annotations

import io
import json
import resource
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitbot.testkit import crafted_files
from recognizer.decode import (
    MAX_DECODE_BYTES,
    WORK_SIDE,
    DecodeBudget,
    ImageDecodeError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedImageError,
    decode_cost,
    decode_image,
)
from tests.conftest import REPO


def _picture(mode: str = "RGB", size=(120, 80)) -> Image.Image:
    """Dark bar on the left half of light paper, so orientation can be checked."""
    rgb = np.full((size[1], size[0], 3), 230, np.uint8)
    rgb[:, : size[0] // 2] = 20
    return Image.fromarray(rgb).convert(mode)


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_common_formats(fmt):
    grey, scale = decode_image(_encode(_picture(), fmt))
    assert grey.dtype == np.uint8 and grey.shape == (80, 120) and scale == 1.0
    assert grey[:, :50].mean() < 60 and grey[:, 70:].mean() > 180


def test_palette_cmyk_and_16_bit():
    for image in (_picture("P"), _picture("CMYK"), _picture("L").convert("I;16")):
        fmt = "TIFF" if image.mode in ("CMYK", "I;16") else "PNG"
        grey, _ = decode_image(_encode(image, fmt))
        assert grey[:, :50].mean() < 60 and grey[:, 70:].mean() > 180, image.mode


def test_transparency_becomes_white_paper():
    rgba = np.zeros((50, 50, 4), np.uint8)  # fully transparent black...
    rgba[20:30, 20:30] = (0, 0, 0, 255)  # ...except an opaque black square
    grey, _ = decode_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert grey[0, 0] == 255 and grey[25, 25] == 0


def test_exif_orientation_is_applied():
    image = _picture()
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    grey, _ = decode_image(_encode(image, "JPEG", exif=exif))
    assert grey.shape == (120, 80)
    assert grey[:50, :].mean() < 60 and grey[70:, :].mean() > 180  # the dark half is now on top


def test_gif_first_frame_and_mpo_like_multiframe():
    frames = [_picture(), Image.new("RGB", (120, 80), (255, 255, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    grey, _ = decode_image(data)
    assert grey[:, :50].mean() < 60


def test_large_photo_is_reduced_while_decoding():
    big = Image.fromarray(np.full((3000, 4000, 3), 200, np.uint8))
    grey, scale = decode_image(_encode(big, "JPEG"))
    assert max(grey.shape) == WORK_SIDE and scale == pytest.approx(4000 / WORK_SIDE)


def test_not_an_image():
    with pytest.raises(NotAnImageError):
        decode_image(b"%PDF-1.4 this is a document, not a photo")
    with pytest.raises(NotAnImageError):
        decode_image(b"")


def test_truncated_jpeg():
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (400, 400, 3), np.uint8)), "JPEG")
    with pytest.raises(TruncatedImageError):
        decode_image(data[: len(data) // 3])


def test_decompression_bomb_is_refused_without_decoding():
    bomb = _encode(Image.new("L", (12000, 12000), 255), "PNG")  # 144 megapixels in a small file
    assert len(bomb) < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageTooLargeError):
        decode_image(bomb)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100  # the pixels were never decoded


# --- issue 9: only the accepted formats, nothing but decode errors, bounded memory ------------------

@pytest.mark.parametrize("fmt", ["ICO", "EPS", "JPEG2000", "PCX", "TGA"])
def test_formats_outside_the_list_are_refused_before_decoding(fmt):
    from PIL import features

    if fmt == "JPEG2000" and not features.check("jpg_2000"):
        pytest.skip("this Pillow cannot write JPEG 2000")
    image = _picture("RGB", (64, 64))
    with pytest.raises(NotAnImageError):
        decode_image(_encode(image, fmt))


def test_mpo_from_a_phone_is_accepted():
    data = _encode(_picture(), "MPO", save_all=True, append_images=[_picture()])
    grey, _ = decode_image(data)
    assert grey[:, :50].mean() < 60


@pytest.mark.parametrize("make", [
    lambda: crafted_files.grey_tiff(width_field=(crafted_files.FLOAT, 1, struct.pack("<f", 4.5))),
    lambda: crafted_files.grey_tiff(width_field=(crafted_files.RATIONAL, 1, struct.pack("<II", 9, 2))),
    lambda: crafted_files.grey_tiff(strip_offsets=(crafted_files.FLOAT, 1, struct.pack("<f", 200.0))),
    lambda: crafted_files.grey_tiff(strip_offsets=(crafted_files.RATIONAL, 1, struct.pack("<II", 400, 2))),
    lambda: crafted_files.grey_png(trns=b"\x01"),
    lambda: crafted_files.grey_png(trns=b""),
    lambda: crafted_files.grey_png(trns=b"\x01\x02\x03", colour_type=2),
], ids=["tiff-width-float", "tiff-width-rational", "tiff-strips-float", "tiff-strips-rational",
        "png-trns-1-byte", "png-trns-empty", "png-rgb-trns-3-bytes"])
def test_malformed_headers_are_decode_errors(make):
    """Pillow raises ValueError or TypeError on these; the user must get the kind decode reply."""
    with pytest.raises(ImageDecodeError):
        decode_image(make())


def test_the_crafted_files_are_otherwise_valid():
    """The same builders with sound fields decode, so the tests above test the one bad field."""
    assert decode_image(crafted_files.grey_tiff())[0].shape == (4, 4)
    assert decode_image(crafted_files.grey_png(trns=b"\x00\x01"))[0].shape == (4, 4)


def test_cost_counts_the_decoded_mode():
    size = (4000, 4000)
    assert decode_cost("RGBA", size, "PNG") > 1.8 * decode_cost("P", size, "PNG")
    assert decode_cost("RGB", size, "WEBP") > decode_cost("RGB", size, "PNG")
    with pytest.raises(ImageTooLargeError):  # 16 MP of RGBA: within the pixel cap, over the byte budget
        decode_image(_encode(Image.new("RGBA", (6000, 6000), (255, 255, 255, 0)), "PNG"))


def test_concurrent_decodes_share_one_budget():
    budget = DecodeBudget(100)
    inside, most = [0], [0]
    lock = threading.Lock()

    def work():
        with budget.reserve(60):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1 and budget.in_use == 0  # two of 60 never fit in 100 at once


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
