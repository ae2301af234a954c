"""Removing finished records after the retention period (the ``retention_sweep`` job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from storage.db import Database
from storage.models import InboundEvent, OutboxMessage

FINISHED_OUTBOX = ("sent", "failed")  # pending, sending and parked rows are still someone's message to send
FINISHED_INBOUND = ("done", "failed")


def purge_outbox(db: Database, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` sent or failed outbox rows that ended before ``before`` (oldest first);
    returns how many. One short transaction: call it again until it returns less than ``limit``."""
    ended = func.coalesce(OutboxMessage.sent_at, OutboxMessage.next_attempt_at)
    q = (select(OutboxMessage.id).where(OutboxMessage.status.in_(FINISHED_OUTBOX), ended < before)
         .order_by(OutboxMessage.id).limit(limit))
    return _delete(db, OutboxMessage, q)


def purge_inbound(db: Database, before: datetime, limit: int) -> int:
    """:func:`purge_outbox` for processed inbound events (their dedup key goes with them)."""
    ended = func.coalesce(InboundEvent.processed_at, InboundEvent.received_at)
    q = (select(InboundEvent.id).where(InboundEvent.status.in_(FINISHED_INBOUND), ended < before)
         .order_by(InboundEvent.id).limit(limit))
    return _delete(db, InboundEvent, q)


def _delete(db: Database, model: type, ids_query) -> int:
    with db.session() as s:
        ids = list(s.execute(ids_query).scalars())
        if ids:
            s.execute(delete(model).where(model.id.in_(ids)))
        return len(ids)
