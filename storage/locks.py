"""Per-employee serialisation across bot processes, as part of the event's own transaction.

In one process, the engine sends every event of a sender to the same worker thread, so they run in
arrival order. On PostgreSQL several processes share the database and a WeCom retry or a second
click may land on another process: ``hold_for_transaction`` takes a transaction-level advisory lock
keyed by the employee inside the event's unit of work, so it is released by the commit or rollback
itself (no extra connection, no unlock round trip, and it works behind poolers in transaction mode).
SQLite is the single-process mode and its unit of work already holds the write lock.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from storage.db import Database
from storage.driver import Prepared

NAMESPACE = 0x5045  # "PE": keeps our advisory locks apart from other applications' keys
# Once per event: run on the driver's cursor (storage.driver), no result read.
_LOCK = Prepared(text("SELECT pg_advisory_xact_lock(:ns, :key)"))


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


def hold_for_transaction(db: Database, employee_id: str) -> None:
    """Block until no other transaction holds ``employee_id``'s lock; held until this one ends."""
    if db.is_sqlite:
        return
    with db.session() as s:
        _LOCK.execute(s.connection(), {"ns": NAMESPACE, "key": lock_key(employee_id)})
