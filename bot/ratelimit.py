"""Platform-wide call budgets per app (on top of the outbox's per-user pacing).

``AppLimiter(db, key, limit, window_seconds).take(n)`` returns once ``n`` calls fit into the current
window's budget, waiting for the next window otherwise. Windows are real time (the platform counts
real seconds). On PostgreSQL the counter is a row in ``rate_windows`` (``storage.ratelimit``), so
every process sharing the database shares the budget; on SQLite (one process) it is kept in memory.
A request for more than ``limit`` calls is granted in parts by the caller (chunk by ``limit``).

``room_basis`` / ``room`` say how many more calls fit into the current window (after the calls a
delivery has lined up with ``line_up`` and not yet made): the outbox claims no more distinct
contents than that, so what becomes due while a window is spent waits unclaimed and merges into the
next window's calls instead of being claimed early into calls of its own.
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
        self._bulk = 0  # other callers waiting
        self._calm = asyncio.Event()  # set while no urgent caller waits
        self._calm.set()
        self._fetching = asyncio.Lock()  # one request to the shared budget at a time
        # Urgent calls asked for per window, granted or not: the share kept for replies follows their
        # demand (bulk_cap). Counting only the granted ones let a window that bulk sends had filled
        # set the next window's share too low, and replies caught up a quarter per window.
        self._urgent_wanted: dict[int, int] = {}  # window start -> urgent calls asked for in this process
        self.lined = 0  # calls deliveries have lined up (``line_up``) and not yet taken a permit for

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

    def room_basis(self, urgent: bool) -> tuple[int, int, int]:
        """Event loop: (the current window, the cap of this kind of caller in it, the permits this
        process holds for it minus the calls lined up): what :meth:`room` needs, read where these
        are kept."""
        window = self._start(time.time())
        cap = self.limit if urgent else self.bulk_cap(window)
        pool = self._pool if self._pool_window == window else 0
        return window, cap, pool - self.lined

    def room(self, basis: tuple[int, int, int]) -> tuple[int, float]:
        """Database thread (one read of the shared window on PostgreSQL): how many more calls this
        process could make now in the window of ``basis`` (:meth:`room_basis`), and when none, the
        seconds until the next window."""
        window, cap, held = basis
        used = self._used_here(window) if self.db.is_sqlite else ratelimit.used(self.db, self.key, window)
        room = held + max(0, cap - used)
        return max(0, room), 0.0 if room > 0 else self._until_next(window)

    def line_up(self, calls: int) -> LinedUp:
        """Count ``calls`` a delivery is about to make against :meth:`room` until each has its permit
        (``LinedUp.take``) or the delivery ends (``with``)."""
        return LinedUp(self, calls)

    def _start(self, now: float) -> int:
        return int(now // self.window) * self.window

    def _until_next(self, window: int) -> float:
        """Seconds until the window after ``window`` starts (and a millisecond)."""
        return max(0.0, window + self.window - time.time()) + 0.001

    def _used_here(self, window: int) -> int:
        """Calls granted in ``window`` by the in-process budget (SQLite)."""
        start, used = self._local
        return used if start == window else 0

    async def _grant(self, want: int, window: int, cap: int) -> int:
        """Take up to ``want`` calls of ``window`` (fewer when fewer fit under ``cap``); how many."""
        if self.db.is_sqlite:
            used = self._used_here(window)
            got = max(0, min(want, cap - used))
            self._local = (window, used + got)
            return got
        return await self.db.run(ratelimit.acquire, self.db, self.key, window, want, cap)

    async def take(self, n: int = 1, urgent: bool = False) -> None:
        """Wait until ``n`` (≤ limit) calls may be made now. Permits are fetched for every caller
        waiting at the time (at least ``prefetch``), by one request at a time, so a busy sender does
        not ask the database for each call and concurrent callers never strand a window's budget in
        each other's fetches. While an ``urgent`` caller (a reply) waits, other callers of this
        process step aside, and only urgent callers may use the share of a window kept for replies
        (``bulk_cap``: at least ``RESERVED_FOR_REPLIES_PERCENT`` %, more while replies need it), so
        a push or a burst of notifications cannot hold replies back."""
        n = min(max(1, n), self.limit)
        if urgent:
            self._urgent += 1
            self._calm.clear()
        else:
            self._bulk += 1
        try:
            await self._permit(n, urgent)
        finally:
            if urgent:
                self._urgent -= 1
                if not self._urgent:
                    self._calm.set()
            else:
                self._bulk -= 1

    def _from_pool(self, window: int, n: int) -> bool:
        if self._pool_window == window and self._pool >= n:
            self._pool -= n
            return True
        return False

    async def _permit(self, n: int, urgent: bool) -> None:
        """Wait for ``n`` permits (from this process's pool or the shared budget)."""
        counted = None  # the window in which this urgent request was last counted as demand
        while True:
            if not urgent and self._urgent:
                await self._calm.wait()
                continue
            window = self._start(time.time())
            if urgent and counted != window:
                self._urgent_wanted[window] = self._urgent_wanted.get(window, 0) + n
                counted = window
            if self._from_pool(window, n):
                return
            # One fetch at a time: callers queued here find the pool filled for them. (Each caller
            # fetching on its own let a few callers' prefetches take a whole window while the rest
            # were refused and slept to the next one: half the budget went unused under load.)
            async with self._fetching:
                window = self._start(time.time())
                if self._from_pool(window, n):
                    return
                if not urgent and self._urgent:
                    continue
                if urgent:  # only what the waiting replies need: leftovers could go to bulk sends
                    cap, want = self.limit, max(n, self._urgent)
                else:
                    cap, want = self.bulk_cap(window), max(n, self.prefetch, self._bulk)
                got = await self._grant(min(want, self.limit), window, cap)
                if got:
                    kept = self._pool if self._pool_window == window else 0
                    self._pool_window, self._pool = window, kept + got
                    if self._from_pool(window, n):
                        return
                    continue
            self.waits += 1
            await asyncio.sleep(self._until_next(window))


class LinedUp:
    """Calls one delivery has lined up (``AppLimiter.line_up``): each ``take`` is one of them getting
    its permit; leaving the ``with`` block forgets those never made (an error, a row not sent)."""

    def __init__(self, limiter: AppLimiter, calls: int) -> None:
        self.limiter, self.left = limiter, max(0, calls)
        limiter.lined += self.left

    async def take(self, urgent: bool = False) -> None:
        await self.limiter.take(urgent=urgent)
        if self.left:
            self.left -= 1
            self.limiter.lined -= 1

    def __enter__(self) -> LinedUp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.limiter.lined -= self.left
        self.left = 0
