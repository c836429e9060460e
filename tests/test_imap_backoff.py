"""Reconnect delays: exponential, jittered, capped, reset after a success."""

from __future__ import annotations

import random

from daemon.scheduler import Backoff


def test_delays_double_with_jitter_up_to_the_ceiling() -> None:
    random.seed(7)
    backoff = Backoff(first=1.0, ceiling=8.0)
    delays = [backoff.next() for _ in range(6)]
    bounds = [(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8), (4, 8)]
    assert all(lo <= d <= hi for d, (lo, hi) in zip(delays, bounds, strict=True)), delays


def test_jitter_spreads_reconnects() -> None:
    delays = {round(Backoff(first=10.0).next(), 3) for _ in range(20)}
    assert len(delays) > 10


def test_reset_starts_over() -> None:
    backoff = Backoff(first=1.0, ceiling=300.0)
    for _ in range(10):
        backoff.next()
    backoff.reset()
    assert backoff.next() <= 1.0
