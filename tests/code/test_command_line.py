"""The ``digitbot`` command line: every subcommand described, every option with help and a default shown
the way it is typed, ``--version``, and errors in a command line's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from digitbot.cli import main
from digitbot.predict import problem
from recognizer.decode import ImageTooLargeError, NotAnImageError, TruncatedImageError


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines; compare words


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("digitbot 0.")


@pytest.mark.parametrize(("command", "words"), [("train", "publish it as a new version"),
                                                 ("predict", "one line per file"),
                                                 ("run", "Start the Telegram bot")])
def test_each_subcommand_says_what_it_does(capsys, command, words):
    assert words in _help(capsys, command)


def test_training_options_have_help_and_defaults(capsys):
    text = _help(capsys, "train")
    assert "--epochs EPOCHS passes over the training data (default 40)" in text
    assert "--batch-size BATCH_SIZE digits per training step (default 128)" in text
    assert "(default 512,512)" in text and "(512, 512)" not in text


def test_the_top_level_help_gives_the_exit_codes(capsys):
    assert "exit codes: 0 done; 1 predict: no file could be read; 2 a wrong command line" in _help(capsys)


def test_problems_are_worded_for_a_command_line(tmp_path):
    assert problem(tmp_path, IsADirectoryError(21, "Is a directory")).startswith("is a directory (give the files")
    assert problem(tmp_path / "x.jpg", FileNotFoundError(2, "No such file or directory")) == "no such file"
    for error in (NotAnImageError("x"), TruncatedImageError("x"), ImageTooLargeError("x")):
        said = problem(Path("x.jpg"), error)
        assert "send" not in said.lower() and "please" not in said.lower(), said
    assert "JPEG" in problem(Path("x.jpg"), NotAnImageError("x"))


def test_train_data_that_is_no_npz_is_refused_in_words(tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 a photo")
    assert main(["train", "--data", str(photo)]) == 2
    said = capsys.readouterr().err
    assert "is not an .npz archive" in said and "pickled" not in said
    assert main(["train", "--data", str(tmp_path / "missing.npz")]) == 2
    assert "no such file" in capsys.readouterr().err
