"""Helpers the tests and the bench scripts share, so that neither imports the other.

``fake_telegram`` (a local Bot API stand-in speaking real HTTP), ``bot_process`` (the real bot as a
subprocess against it), ``photos`` (rendered photos of digits), ``image_bombs``, ``crafted_files``
and ``fuzz_images`` (costly, malformed and mutated image files). Nothing here runs in the bot.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the checkout: the bot and training run from here
