"""Durable inbound dedup: an event is accepted once per key and replayed if left unprocessed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, select, text, update

from storage import dialect
from storage.db import Database
from storage.driver import Prepared
from storage.models import InboundEvent
from storage.types import UTCDateTime


def accept(db: Database, key: str, channel: str, payload: dict[str, Any], now: datetime) -> bool:
    """Record the event; False when the key was seen before (a platform retry or a duplicate)."""
    stmt = dialect.insert_ignore(db, InboundEvent, "key", "id")
    row = dict(key=key, channel=channel, payload=payload, status="pending", received_at=now)
    with db.session() as s:
        return s.connection().execute(stmt, row).first() is not None


def new_rows(items: list[tuple[str, str, dict[str, Any]]], now: datetime) -> list[dict[str, Any]]:
    """The rows ``accept_many`` writes: ``items`` as ``(key, channel, payload)``, a key repeated within
    them once (its first occurrence)."""
    rows, seen = [], set()
    for key, channel, payload in items:
        if key not in seen:
            seen.add(key)
            rows.append(dict(key=key, channel=channel, payload=payload, status="pending", received_at=now))
    return rows


def accept_many(db: Database, items: list[tuple[str, str, dict[str, Any]]], now: datetime) -> set[str]:
    """Record many events in one transaction (group commit); returns the keys that were new.
    ``items``: ``(key, channel, payload)``; a key repeated within ``items`` is recorded once.
    (The serving process on PostgreSQL writes the same statement from its loop: storage.loop_accept.)"""
    rows = new_rows(items, now)
    if not rows:
        return set()
    if not db.is_sqlite:
        return _accept_many_pg(db, rows, now)
    stmt = dialect.insert_ignore(db, InboundEvent, "key", "key")
    with db.short_write() as s:
        return set(s.connection().execute(stmt, rows).scalars())


# PostgreSQL: the batch as one JSON document, so the statement's text is the same for any batch size.
# A multi-row VALUES statement differs with every size, so the driver converted and planned it afresh
# each time and SQLAlchemy rebuilt its VALUES list; under a burst that made the acceptance thread about
# as busy as the serving loop it shares the interpreter lock with. (Arrays were tried: psycopg escapes
# every element of a text array in Python, which cost more still.) Rows go in arrival order.
ACCEPT_PG_SQL = (  # psycopg's parameter style; _ACCEPT_PG is the same statement for SQLAlchemy
    "INSERT INTO inbound_events (key, channel, payload, status, received_at) "
    "SELECT e->>0, e->>1, e->2, 'pending', %(at)s FROM json_array_elements(CAST(%(batch)s AS json)) "
    "WITH ORDINALITY AS t(e, n) ORDER BY n ON CONFLICT (key) DO NOTHING RETURNING key"
)
_ACCEPT_PG = Prepared(text(ACCEPT_PG_SQL.replace("%(at)s", ":at").replace("%(batch)s", ":batch")))


def pg_params(rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The PostgreSQL statement's parameters: ``new_rows`` as one JSON document, the time naive UTC
    (as the column keeps it)."""
    return {"at": UTCDateTime().process_bind_param(now, None),
            "batch": json.dumps([[r["key"], r["channel"], r["payload"]] for r in rows])}


def _accept_many_pg(db: Database, rows: list[dict[str, Any]], now: datetime) -> set[str]:
    params = pg_params(rows, now)
    with db.engine.begin() as conn:  # a Core transaction: acceptance never joins a unit of work
        return {r["key"] for r in _ACCEPT_PG.rows(conn, params)}


# Marking an event done runs once per event (or group): one prebuilt UPDATE, run on the driver's cursor
# of the unit of work's connection (storage.driver).
_TABLE: Table = InboundEvent.__table__
_FINISH = Prepared(
    update(_TABLE)
    .where(_TABLE.c.key == bindparam("b_key"), _TABLE.c.status == "pending")
    .values(status=bindparam("b_status"), error=bindparam("b_error"), processed_at=bindparam("b_at"))
)


def finish(db: Database, key: str, now: datetime, error: str | None = None) -> bool:
    """Mark a pending event done (or failed). False when it was not pending any more: another run of
    the same event (a replay, another process) finished it first, and the caller's transaction must
    not commit what it did a second time."""
    with db.session() as s:
        return _FINISH.execute(s.connection(), {"b_key": key, "b_status": "failed" if error else "done",
                                                "b_error": error, "b_at": now}) == 1


_FINISH_MANY = Prepared(
    update(_TABLE)
    .where(_TABLE.c.key.in_(bindparam("b_keys", expanding=True)), _TABLE.c.status == "pending")
    .values(status="done", processed_at=bindparam("b_at"))
)


def finish_many(db: Database, keys: list[str], now: datetime) -> int:
    """Mark several pending events done in one statement (a group of events worked off in one
    transaction); returns how many were still pending. Fewer than ``len(keys)``: another run
    finished one of them, and the caller's transaction must not commit."""
    with db.session() as s:
        return _FINISH_MANY.execute(s.connection(), {"b_keys": keys, "b_at": now})


def pending(db: Database, limit: int = 500, after_id: int = 0) -> list[InboundEvent]:
    """Events accepted but never processed (e.g. the process died after acknowledging), oldest first,
    a page at a time: those with an id above ``after_id``."""
    with db.session() as s:
        rows = s.execute(
            select(InboundEvent).where(InboundEvent.status == "pending", InboundEvent.id > after_id)
            .order_by(InboundEvent.id).limit(limit)
        )
        return list(rows.scalars())


def pending_by_keys(db: Database, keys: list[str]) -> list[InboundEvent]:
    """The events among ``keys`` that are still pending."""
    if not keys:
        return []
    with db.session() as s:
        return list(s.execute(
            select(InboundEvent).where(InboundEvent.key.in_(keys), InboundEvent.status == "pending")).scalars())


def claim_stale(db: Database, now: datetime, min_age: timedelta, limit: int = 500) -> list[InboundEvent]:
    """Pending events older than ``min_age``, each claimed by exactly one caller.

    With several processes, a young pending event is most likely being handled by its live node;
    an old one was left by a node that died. Claiming bumps ``received_at`` (compare-and-set), so
    another process sweeping at the same moment does not process it too."""
    out = []
    with db.session() as s:
        rows = list(s.execute(
            select(InboundEvent).where(InboundEvent.status == "pending", InboundEvent.received_at <= now - min_age)
            .order_by(InboundEvent.id).limit(limit)).scalars())
        for row in rows:
            won = s.execute(
                update(InboundEvent).where(InboundEvent.id == row.id, InboundEvent.status == "pending",
                                           InboundEvent.received_at == row.received_at)
                .values(received_at=now).returning(InboundEvent.id)).first()
            if won is not None:
                out.append(row)
    return out


def status_of(db: Database, key: str) -> str | None:
    with db.session() as s:
        return s.execute(select(InboundEvent.status).where(InboundEvent.key == key)).scalar()


def counts(db: Database) -> dict[str, int]:
    """Inbound events by status (``pending`` = accepted and not processed yet: the backlog)."""
    with db.session() as s:
        return {str(k): int(n) for k, n in s.execute(
            select(InboundEvent.status, func.count()).group_by(InboundEvent.status)).all()}
