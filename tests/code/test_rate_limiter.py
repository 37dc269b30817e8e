"""PHOTOS_PER_MINUTE: at most ``limit`` photos per user in any sliding 60-second window."""

from __future__ import annotations

from bot.rate_limiter import RateLimiter


def test_the_limit_within_a_window():
    limiter = RateLimiter(3)
    assert [limiter.allow(1, now=t) for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, True, False]


def test_the_window_slides():
    limiter = RateLimiter(2)
    assert limiter.allow(1, now=0.0) and limiter.allow(1, now=30.0)
    assert not limiter.allow(1, now=59.9)  # both earlier photos are still inside the minute
    assert limiter.allow(1, now=60.0)  # the first one has left it
    assert not limiter.allow(1, now=61.0)  # 30.0 and 60.0 are inside


def test_refused_photos_do_not_count():
    limiter = RateLimiter(1)
    assert limiter.allow(1, now=0.0)
    for t in range(1, 60):
        assert not limiter.allow(1, now=float(t))
    assert limiter.allow(1, now=60.0)  # a user who keeps trying is not locked out for longer


def test_users_are_counted_apart():
    limiter = RateLimiter(1)
    assert limiter.allow(1, now=0.0) and limiter.allow(2, now=0.0)
    assert not limiter.allow(1, now=1.0) and not limiter.allow(2, now=1.0)


def test_another_window():
    limiter = RateLimiter(1, window_s=5.0)
    assert limiter.allow(7, now=0.0) and not limiter.allow(7, now=4.9) and limiter.allow(7, now=5.0)
