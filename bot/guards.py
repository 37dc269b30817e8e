"""Guards that run before the real handlers (group -1) and stop updates they refuse."""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import texts
from bot.context import language, settings_of

log = logging.getLogger(__name__)


async def admin_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refuse admin commands to everyone who is not in ADMIN_IDS."""
    user = update.effective_user
    if user is None or user.id not in settings_of(context).admin_ids:
        log.warning("refused admin command %r from user %s", update.effective_message.text,
                    user.id if user else None)
        await update.effective_message.reply_text(texts.text(language(update), "admin_only"))
        raise ApplicationHandlerStop


class RateLimiter:
    """At most ``limit`` photos per user in any 60-second window."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[int, deque[float]] = defaultdict(deque)

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[user_id]
        while seen and now - seen[0] >= self.window_s:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


async def rate_limit_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask users who send photos too fast to slow down."""
    user = update.effective_user
    limiter: RateLimiter = context.application.bot_data["rate_limiter"]
    if user is not None and not limiter.allow(user.id):
        log.info("rate limit hit by user %s", user.id)
        await update.effective_message.reply_text(texts.text(language(update), "rate_limited"))
        raise ApplicationHandlerStop
