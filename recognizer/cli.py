"""``digitbot predict FILE...``: read photos from the command line, for people or (``--json``) programs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from recognizer.decode import ImageDecodeError
from recognizer.model_store import ModelError
from recognizer.recognizer import Recognition, Recognizer, Status


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="digitbot predict", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="photos of handwritten digits")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per file")
    parser.add_argument("--debug", type=Path, metavar="DIR", help="write boxes and model inputs per file here")
    parser.add_argument("--models-dir", type=Path, help="models directory (default $MODEL_DIR or models/)")
    return parser


def describe(recognition: Recognition) -> str:
    """One human line: '7 (98%)', '1500 (91%)', 'unsure: 49 (52%); digit 1 might be 4 or 7; or 499'."""
    if recognition.status == Status.NO_DIGIT:
        return "no digit found"
    text = f"{recognition.number} ({recognition.confidence:.0%})"
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
    try:
        recognizer = Recognizer.load(args.models_dir)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.debug:
        args.debug.mkdir(parents=True, exist_ok=True)
    failures = 0
    for file in args.files:
        try:
            data = file.read_bytes()
            recognition = recognizer.recognize(data)
        except (OSError, ImageDecodeError) as error:
            failures += 1
            message = getattr(error, "user_message", None) or str(error.strerror or error)
            if args.json:
                print(json.dumps({"file": str(file), "status": "error", "error": message}), flush=True)
            else:
                print(f"{file}: error: {message}", flush=True)
            continue
        if args.json:
            print(json.dumps({"file": str(file), **recognition.to_dict()}), flush=True)
        else:
            print(f"{file}: {describe(recognition)}", flush=True)
        if args.debug:
            from recognizer.debug import debug_sheet, png_bytes  # noqa: PLC0415

            (args.debug / f"{file.parent.name}_{file.stem}.png").write_bytes(png_bytes(debug_sheet(data, recognition)))
    return 1 if failures == len(args.files) else 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
