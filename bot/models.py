"""The model in use, behind one attribute so it can be swapped without a restart."""

from __future__ import annotations

from pathlib import Path

from recognizer import Recognizer


class ModelHolder:
    """Holds the current Recognizer; readers take ``current`` once per request, so a swap never tears one."""

    def __init__(self, recognizer: Recognizer, models_dir: Path | None) -> None:
        self._current = recognizer
        self.models_dir = models_dir

    @property
    def current(self) -> Recognizer:
        return self._current

    def reload(self) -> Recognizer:
        """Load whatever models/CURRENT names now and make it current (raises ModelError, keeping the old)."""
        return self.use(Recognizer.load(self.models_dir))

    def use(self, recognizer: Recognizer) -> Recognizer:
        """Serve ``recognizer`` from the next request on (it was loaded and validated by Recognizer.load)."""
        self._current = recognizer  # one attribute assignment: atomic for the threads that read it
        return recognizer
