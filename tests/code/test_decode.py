"""Decoding: every common format, EXIF rotation, transparency, and specific errors for bad input."""

from __future__ import annotations

import io
import resource
import struct
import threading
import time

import cv2
import numpy as np
import pytest
from PIL import Image

import recognizer.decode as decode_module
from digitbot.testkit import crafted_files
from recognizer.decode import (
    WORK_SIDE,
    DecodeBudget,
    ImageDecodeError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedImageError,
    decode_cost,
    decode_image,
)


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



@pytest.mark.parametrize("size", [(1280, 960), (960, 1280), (1280, 720)])
def test_a_photo_not_square_is_reduced_by_the_decoder_alone(size, monkeypatch):
    """A 4:3 or 16:9 photo four times the working size needs no resize after the JPEG decoder's reduction."""
    def no_resize(*args, **kwargs):
        raise AssertionError("resized after decoding")

    photo = _encode(_picture(size=size), "JPEG")
    monkeypatch.setattr("recognizer.decode.cv2.resize", no_resize)
    grey, scale = decode_image(photo)
    assert grey.shape == (size[1] // 4, size[0] // 4) and scale == pytest.approx(4.0)


@pytest.mark.parametrize("side", [1280, 640, 320, 160, 100])
def test_opencv_decodes_a_jpeg_as_pillow_does(side, monkeypatch):
    """The OpenCV path gives Pillow's pixels and scale at every reduction (1, 1/2, 1/4, 1/8, and a last resize)."""
    rng = np.random.default_rng(side)
    rgb = cv2.GaussianBlur(rng.integers(0, 255, (963, 1280, 3), np.uint8), (0, 0), 3)
    photo = _encode(Image.fromarray(rgb), "JPEG", quality=87)
    used = []
    real = decode_module._reduced_jpeg
    monkeypatch.setattr(decode_module, "_reduced_jpeg", lambda *a: used.append(real(*a)) or used[-1])
    fast, fast_scale = decode_image(photo, work_side=side)
    monkeypatch.setattr(decode_module, "_reduced_jpeg", lambda *a: None)
    pillow, pillow_scale = decode_image(photo, work_side=side)
    assert used and used[0] is not None and fast_scale == pillow_scale and np.array_equal(fast, pillow)


def _with_frame(data: bytes, marker: bytes, size: tuple[int, int] | None = None) -> bytes:
    """``data`` with its frame header's marker replaced by ``marker`` and, if given, its size by ``size``."""
    crafted = bytearray(data)
    at = next(i for i in range(2, len(crafted) - 1) if crafted[i] == 0xFF and 0xC0 <= crafted[i + 1] <= 0xC2)
    crafted[at : at + 2] = marker
    if size is not None:
        crafted[at + 5 : at + 9] = struct.pack(">HH", size[1], size[0])
    return bytes(crafted)


def test_a_progressive_jpeg_counts_the_coefficients_it_holds(monkeypatch):
    """A progressive file is decoded from coefficients of the whole frame: a 7 KB file declaring 8944x6708
    in 4:4:4 took 346 MB whatever the reduction, so its cost says so and it is refused before decoding."""
    rng = np.random.default_rng(0)
    small = _encode(Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8)), "JPEG", progressive=True,
                    subsampling=0)
    assert decode_image(small)[0].shape == (64, 64)
    monkeypatch.setattr(decode_module.cv2, "imdecode", lambda *a: pytest.fail("decoded"))
    with pytest.raises(ImageTooLargeError, match="369 MB"):
        decode_image(_with_frame(small, b"\xff\xc2", (8944, 6708)))


def test_an_arithmetic_coded_jpeg_is_refused_before_decoding():
    """No camera writes arithmetic coding, and libjpeg spent 5 s on 4.6 KB of it declaring 60 megapixels."""
    baseline = _encode(_picture(), "JPEG")
    assert decode_image(baseline)[0].shape == (80, 120)
    for marker in (b"\xff\xc9", b"\xff\xca"):  # sequential and progressive
        with pytest.raises(NotAnImageError, match="arithmetic"):
            decode_image(_with_frame(baseline, marker))


def test_a_jpeg_of_many_scans_over_a_large_frame_is_refused_before_decoding(monkeypatch):
    """Every scan of a progressive file is a pass over the whole frame: 127 KB of 200 scans declaring 60
    megapixels took 1.8 s. An ordinary progressive file (6-10 scans) is read; 26 over 60 megapixels are not."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64), np.uint8)).save(buffer, "JPEG",
                                                                                          progressive=True)
    ordinary = buffer.getvalue()
    assert ordinary.count(b"\xff\xda") == 6 and decode_image(ordinary)[0].shape == (64, 64)
    last_scan = ordinary[ordinary.rfind(b"\xff\xda") : -2]
    many = _with_frame(ordinary[:-2] + last_scan * 20 + b"\xff\xd9", b"\xff\xc2", (8944, 6708))
    monkeypatch.setattr(decode_module.cv2, "imdecode", lambda *a: pytest.fail("decoded"))
    with pytest.raises(ImageTooLargeError, match="26 scans"):
        decode_image(many)


def test_a_truncated_jpeg_is_decoded_once(monkeypatch):
    """OpenCV would decode a truncated file whole and give up, and Pillow would decode it again: it goes to
    Pillow alone, which says what is wrong."""
    data = _encode(Image.fromarray(np.random.default_rng(1).integers(0, 255, (400, 400, 3), np.uint8)), "JPEG")
    monkeypatch.setattr(decode_module.cv2, "imdecode", lambda *a: pytest.fail("handed to OpenCV"))
    with pytest.raises(TruncatedImageError):
        decode_image(data[: len(data) * 9 // 10])


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
