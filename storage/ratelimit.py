"""Platform-wide call budgets in fixed windows, shared by every process through the database.

``acquire(db, key, window_start, want, limit)`` grants as many of ``want`` calls as fit into the
window's remaining budget (possibly none), under a row lock, so processes sharing one PostgreSQL
database never exceed the limit together. What is not granted waits for the next window
(``bot.ratelimit.AppLimiter``).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from storage import dialect
from storage.db import Database
from storage.models import RateWindow


def acquire(db: Database, key: str, window: int, want: int, limit: int) -> int:
    """Take up to ``want`` of ``limit`` calls in ``window`` for ``key``; returns how many were taken."""
    if want <= 0:
        return 0
    with db.session() as s:
        s.execute(dialect.insert(db, RateWindow).values(key=key, window=window, used=0)
                  .on_conflict_do_nothing(index_elements=["key", "window"]))
        q = select(RateWindow.used).where(RateWindow.key == key, RateWindow.window == window)
        if not db.is_sqlite:
            q = q.with_for_update()
        used = int(s.execute(q).scalar_one())
        granted = max(0, min(want, limit - used))
        if granted:
            s.execute(update(RateWindow).where(RateWindow.key == key, RateWindow.window == window)
                      .values(used=RateWindow.used + granted))
        s.execute(delete(RateWindow).where(RateWindow.key == key, RateWindow.window < window - 3600))
        return granted
