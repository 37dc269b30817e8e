"""How many photos a user may send: at most ``limit`` in any sliding window of ``window_s`` seconds."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from typing import Protocol

from bot.storage import Storage


class PhotoLimit(Protocol):
    async def admit(self, user_id: int) -> bool: ...


class RateLimiter:
    """At most ``limit`` photos per user in any 60-second window (PHOTOS_PER_MINUTE)."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[int, deque[float]] = defaultdict(deque)

    def allow(self, user_id: int, now: float | None = None) -> bool:
        """Count a photo from ``user_id`` and say whether it may be read; a refused photo does not count."""
        now = time.monotonic() if now is None else now
        seen = self._seen[user_id]
        while seen and now - seen[0] >= self.window_s:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True

    async def admit(self, user_id: int) -> bool:
        """``allow`` now, in the event loop: one process keeps the count in memory."""
        return self.allow(user_id)


class SharedRateLimiter:
    """The same limit counted in the database (PostgreSQL), so that replicas share it: a user who sends to
    two replicas gets ``limit`` photos a minute in all, not ``limit`` from each."""

    def __init__(self, storage: Storage, limit: int, window_s: float = 60.0) -> None:
        self.storage = storage
        self.limit = limit
        self.window_s = window_s

    async def admit(self, user_id: int) -> bool:
        return await asyncio.to_thread(self.storage.allow_photo, user_id, self.limit, self.window_s)
