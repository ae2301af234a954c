"""Platform-wide call budgets per app (on top of the outbox's per-user pacing).

``AppLimiter(db, key, limit, window_seconds).take(n)`` returns once ``n`` calls fit into the current
window's budget, waiting for the next window otherwise. Windows are real time (the platform counts
real seconds). On PostgreSQL the counter is a row in ``rate_windows`` (``storage.ratelimit``), so
every process sharing the database shares the budget; on SQLite (one process) it is kept in memory.
A request for more than ``limit`` calls is granted in parts by the caller (chunk by ``limit``).
"""

from __future__ import annotations

import asyncio
import logging
import time

from storage import ratelimit
from storage.db import Database

log = logging.getLogger(__name__)
RESERVED_FOR_REPLIES_PERCENT = 20  # at least this share of a window is kept for replies...
MAX_RESERVED_PERCENT = 80  # ...and at most this share, following the replies' demand of the last window


class AppLimiter:
    def __init__(self, db: Database, key: str, limit: int, window_seconds: int) -> None:
        self.db, self.key, self.limit, self.window = db, key, max(1, limit), window_seconds
        self._local: tuple[int, int] = (0, 0)  # (window start, used) when not shared
        self.waits = 0  # how often a caller had to wait for the next window (health, tests)
        self.prefetch = max(1, min(20, limit // 10))
        self._pool, self._pool_window = 0, -1  # permits fetched for this process, and their window
        self._urgent = 0  # urgent callers waiting (replies to someone who just wrote)
        # Urgent calls asked for per window, granted or not: the share kept for replies follows their
        # demand (bulk_cap). Counting only the granted ones let a window that bulk sends had filled
        # set the next window's share too low, and replies caught up a quarter per window.
        self._urgent_wanted: dict[int, int] = {}  # window start -> urgent calls asked for in this process

    def bulk_cap(self, window: int) -> int:
        """How much of ``window`` non-urgent callers may use: the budget minus the replies' share,
        which is at least RESERVED_FOR_REPLIES_PERCENT and grows with the replies this process asked
        to send in the previous or this window (plus a quarter), up to MAX_RESERVED_PERCENT. Tiny
        budgets are not split."""
        if self.limit < 10:
            return self.limit
        for old in [w for w in self._urgent_wanted if w < window - self.window]:
            del self._urgent_wanted[old]
        recent = max(self._urgent_wanted.get(window - self.window, 0), self._urgent_wanted.get(window, 0))
        reserve = max(self.limit * RESERVED_FOR_REPLIES_PERCENT // 100, recent + recent // 4)
        return self.limit - min(reserve, self.limit * MAX_RESERVED_PERCENT // 100)

    def _start(self, now: float) -> int:
        return int(now // self.window) * self.window

    async def _grant(self, n: int, window: int, cap: int) -> bool:
        if self.db.is_sqlite:
            start, used = self._local
            used = used if start == window else 0
            if used + n > cap:
                return False
            self._local = (window, used + n)
            return True
        return await self.db.run(ratelimit.acquire, self.db, self.key, window, n, cap) == n

    async def take(self, n: int = 1, urgent: bool = False) -> None:
        """Wait until ``n`` (≤ limit) calls may be made now. Permits are fetched a few at a time
        (``prefetch``) so a busy sender does not ask the database for each call. While an
        ``urgent`` caller (a reply) waits, other callers of this process step aside, and only
        urgent callers may use the share of a window kept for replies (``bulk_cap``: at least
        ``RESERVED_FOR_REPLIES_PERCENT`` %, more while replies need it), so a push or a burst of
        notifications cannot hold replies back."""
        n = min(max(1, n), self.limit)
        if urgent:
            self._urgent += 1
        try:
            await self._permit(n, urgent)
        finally:
            if urgent:
                self._urgent -= 1

    async def _permit(self, n: int, urgent: bool) -> None:
        """Wait for ``n`` permits (from this process's pool or the shared budget)."""
        counted = None  # the window in which this urgent request was last counted as demand
        while True:
            if not urgent and self._urgent:
                await asyncio.sleep(0.005)
                continue
            window = self._start(time.time())
            if urgent and counted != window:
                self._urgent_wanted[window] = self._urgent_wanted.get(window, 0) + n
                counted = window
            if self._pool_window == window and self._pool >= n:
                self._pool -= n
                return
            want = max(n, self.prefetch)
            cap = self.limit if urgent else self.bulk_cap(window)
            for ask in dict.fromkeys((want, n)):
                if await self._grant(ask, window, cap):
                    kept = self._pool if self._pool_window == window else 0
                    self._pool_window, self._pool = window, kept + ask - n
                    return
            self.waits += 1
            await asyncio.sleep(max(0.0, window + self.window - time.time()) + 0.001)
