"""Per-employee locks that hold across bot processes.

SQLite is the embedded, single-process mode, so an in-process lock is enough there. On
PostgreSQL several bot processes share the database and a WeCom retry or a second click may land
on another process: a session-level advisory lock keyed by the employee serialises their events.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from storage.db import Database

NAMESPACE = 0x5045  # "PE": keeps our advisory locks apart from other applications' keys
# Each held advisory lock pins one pooled connection (storage.db: pool 5 + overflow 10) for as long as
# the handler runs, while the handler's own sessions check connections out synchronously on the event
# loop. Unbounded, a burst of 15+ senders pinned the whole pool and the loop blocked in checkout behind
# connections only it could release (a 30 s freeze, then errors). Keep most of the pool for sessions.
MAX_HELD = 8


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


class EmployeeLocks:
    def __init__(self, db: Database, poll_seconds: float = 0.02, max_held: int = MAX_HELD) -> None:
        self.db = db
        self.poll = poll_seconds
        self._local: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._slots = asyncio.Semaphore(max_held)  # connections pinned by held locks, at most

    @asynccontextmanager
    async def hold(self, employee_id: str) -> AsyncIterator[None]:
        async with self._local[employee_id]:  # same process: queue in order
            if self.db.is_sqlite:
                yield
                return
            key = lock_key(employee_id)
            async with self._slots:
                conn = await asyncio.to_thread(self.db.engine.connect)
                try:
                    # Polling is the only way to wait on another process's advisory lock without
                    # parking a thread in pg_advisory_lock for as long as it is held.
                    while not await asyncio.to_thread(_try_lock, conn, key):  # noqa: ASYNC110
                        await asyncio.sleep(self.poll)
                    try:
                        yield
                    finally:
                        await asyncio.to_thread(_unlock, conn, key)
                finally:
                    await asyncio.to_thread(conn.close)


def _try_lock(conn, key: int) -> bool:
    got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :k)"), {"ns": NAMESPACE, "k": key}).scalar()
    conn.commit()
    return bool(got)


def _unlock(conn, key: int) -> None:
    conn.execute(text("SELECT pg_advisory_unlock(:ns, :k)"), {"ns": NAMESPACE, "k": key})
    conn.commit()
