"""``digitbot predict FILE...``: read photos from the command line, for people or (``--json``) programs.

One line per file on stdout, in order, a file that cannot be read included (``FILE: error: why``, in
words for a command line, not the bot's "please send it again"), so the output lines up with the
arguments. The exit code: 0 at least one file was read, 1 no file could be read, 2 the command line
was wrong, 4 the model cannot be used (the bot's exit code for the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recognizer.recognizer import Recognition

EXIT_OK = 0
EXIT_ALL_FAILED = 1
EXIT_MODEL = 4

# Why a file could not be read, by recognizer.decode error class, in a command line's words.
_DECODE_PROBLEMS = {
    "NotAnImageError": "not a picture in a format digitbot reads (JPEG, PNG, WebP, BMP, TIFF, GIF)",
    "TruncatedImageError": "the picture is cut off or damaged",
    "ImageTooLargeError": "the picture is too large (at most 60 megapixels, 160 MB decoded)",
}


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="digitbot predict", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="photos of handwritten digits")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per line per file (errors too, with \"status\": \"error\")")
    parser.add_argument("--debug", type=Path, metavar="DIR", help="write boxes and model inputs per file here")
    parser.add_argument("--models-dir", type=Path, metavar="DIR",
                        help="models directory (default: $MODEL_DIR, else the shipped models)")
    return parser


def problem(file: Path, error: Exception) -> str:
    """Why ``file`` could not be read, as one phrase."""
    if isinstance(error, IsADirectoryError) or file.is_dir():
        return f"is a directory (give the files in it, e.g. {file}/*.jpg)"
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return _DECODE_PROBLEMS.get(type(error).__name__, "the picture could not be decoded")


def describe(recognition: Recognition) -> str:
    """One human line: '7 (98%)', '1500 (91%)', 'unsure: 49 (52%); digit 1 might be 4 or 7; or 499'."""
    from recognizer.confidence import as_told  # noqa: PLC0415 - the recognizer loads only when a file is read
    from recognizer.recognizer import Status  # noqa: PLC0415

    if recognition.status == Status.NO_DIGIT:
        return "no digit found"
    text = f"{recognition.number} ({as_told(recognition.confidence)})"
    if recognition.status == Status.UNSURE:
        parts = [f"unsure: {text}"]
        for position in recognition.doubtful:
            others = " or ".join(str(d) for d, p in recognition.digits[position].top3[1:] if p >= 0.01)
            if others:
                parts.append(f"digit {position + 1} might be {others}")
        readings = [number for number, share in recognition.alternatives if number and share >= 0.02]
        if readings:
            parts.append("or " + ", ".join(readings[:3]))
        text = "; ".join(parts)
    return text


def run(args: argparse.Namespace) -> int:
    """Read every file; return the exit code (see the module docstring)."""
    from recognizer import ImageDecodeError, ModelError, Recognizer  # noqa: PLC0415 - only when chosen

    try:
        recognizer = Recognizer.load(args.models_dir)
    except ModelError as error:
        print(f"digitbot predict: error: {error}", file=sys.stderr)
        return EXIT_MODEL
    if args.debug:
        args.debug.mkdir(parents=True, exist_ok=True)
    failures = 0
    for file in args.files:
        try:
            data = file.read_bytes()
            recognition = recognizer.recognize(data)
        except (OSError, ImageDecodeError) as error:
            failures += 1
            why = problem(file, error)
            if args.json:
                print(json.dumps({"file": str(file), "status": "error", "error": why}), flush=True)
            else:
                print(f"{file}: error: {why}", flush=True)
            continue
        if args.json:
            print(json.dumps({"file": str(file), **recognition.to_dict()}), flush=True)
        else:
            print(f"{file}: {describe(recognition)}", flush=True)
        if args.debug:
            from recognizer.debug import debug_sheet, png_bytes  # noqa: PLC0415

            (args.debug / f"{file.parent.name}_{file.stem}.png").write_bytes(png_bytes(debug_sheet(data, recognition)))
    return EXIT_ALL_FAILED if failures == len(args.files) else EXIT_OK
