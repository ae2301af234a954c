"""Platform-wide call budgets in fixed windows, shared by every process through the database.

``acquire(db, key, window_start, want, limit)`` grants as many of ``want`` calls as fit into the
window's remaining budget (possibly none), under a row lock, so processes sharing one PostgreSQL
database never exceed the limit together. What is not granted waits for the next window
(``bot.ratelimit.AppLimiter``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update

from storage import dialect
from storage.db import Database
from storage.models import RateWindow

_T: Table = RateWindow.__table__
_WHERE = (_T.c.key == bindparam("b_key"), _T.c.window == bindparam("b_window"))
# Built once (bound parameters only): a busy sender fetches permits several times a second.
_USED = {False: select(_T.c.used).where(*_WHERE).with_for_update(), True: select(_T.c.used).where(*_WHERE)}
_ADD = update(_T).where(*_WHERE).values(used=_T.c.used + bindparam("granted"))
_PRUNE = delete(_T).where(_T.c.key == bindparam("b_key"), _T.c.window < bindparam("before"))
PRUNE_EVERY_SECONDS = 60.0  # old windows are deleted by each process at most this often per key
_pruned: dict[str, float] = {}  # key -> when this process last deleted its old windows (monotonic)
_pruned_lock = threading.Lock()


def acquire(db: Database, key: str, window: int, want: int, limit: int) -> int:
    """Take up to ``want`` of ``limit`` calls in ``window`` for ``key``; returns how many were taken.
    The window's row is locked (``FOR UPDATE`` on PostgreSQL) while its count is read and raised,
    so processes sharing the database never grant more than ``limit`` together. Usually two
    statements: the window's row is created by its first caller, and windows older than an hour
    are deleted once a minute."""
    if want <= 0:
        return 0
    params: dict[str, Any] = {"b_key": key, "b_window": window}
    with db.session() as s:
        conn = s.connection()
        # SQLite has no FOR UPDATE: the insert goes first there, taking the database's write lock.
        used = None if db.is_sqlite else conn.execute(_USED[False], params).scalar()
        if used is None:  # the window's first caller (in any process) creates its row
            conn.execute(dialect.insert(db, RateWindow).values(key=key, window=window, used=0)
                         .on_conflict_do_nothing(index_elements=["key", "window"]))
            used = conn.execute(_USED[db.is_sqlite], params).scalar_one()
            _prune(conn, key, window)
        granted = max(0, min(want, limit - int(used)))
        if granted:
            conn.execute(_ADD, {**params, "granted": granted})
        return granted


def used(db: Database, key: str, window: int) -> int:
    """Calls already granted in ``window`` for ``key`` by every process (no lock: an estimate for
    how much to claim; ``acquire`` stays the gate)."""
    with db.session() as s:
        return int(s.connection().execute(_USED[True], {"b_key": key, "b_window": window}).scalar() or 0)


def _prune(conn: Any, key: str, window: int) -> None:
    now = time.monotonic()
    with _pruned_lock:
        if now - _pruned.get(key, -PRUNE_EVERY_SECONDS) < PRUNE_EVERY_SECONDS:
            return
        _pruned[key] = now
    conn.execute(_PRUNE, {"b_key": key, "before": window - 3600})
