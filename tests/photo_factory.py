"""Moved to ``digitbot.testkit.photos`` (shared with bench/); this name stays for tests that still import it."""

from digitbot.testkit.photos import blank_page, digit_photo, noise_image

__all__ = ["blank_page", "digit_photo", "noise_image"]
