"""The model in use, behind one attribute so it can be swapped without a restart."""

from __future__ import annotations

from bot import metrics
from recognizer import Recognizer
from recognizer.model_store import ModelStore


class ModelHolder:
    """Holds the current Recognizer and the models directory it came from.

    Readers take ``current`` once per request, so a swap never tears one.
    """

    def __init__(self, recognizer: Recognizer, store: ModelStore) -> None:
        self._current = recognizer
        self.store = store
        metrics.model_in_use(recognizer.version)

    @property
    def current(self) -> Recognizer:
        return self._current

    def reload(self) -> Recognizer:
        """Load whatever the store's CURRENT names now and make it current (raises ModelError, keeping the old)."""
        return self.use(Recognizer.load(self.store.path))

    def use(self, recognizer: Recognizer) -> Recognizer:
        """Serve ``recognizer`` from the next request on (it was loaded and validated by Recognizer.load)."""
        self._current = recognizer  # one attribute assignment: atomic for the threads that read it
        metrics.model_in_use(recognizer.version)
        return recognizer
