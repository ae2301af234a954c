"""Durable outbound queue. Every send is a row with a unique idempotency key.

Life of a row: pending → sending (claimed by one worker) → sent | failed, or back to pending
with a later ``next_attempt_at`` for a retry. A row left in ``sending`` by a crashed worker is
reclaimed after ``stale_after`` and marked ``in_doubt`` so the channel can resend it in a way the
platform deduplicates (WeCom's duplicate check, DingTalk's fixed outTrackId).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from storage import dialect
from storage.db import Database
from storage.models import OutboxMessage


@dataclass
class NewMessage:
    key: str
    channel: str
    recipient: str
    kind: str
    payload: dict[str, Any]
    employee_id: str | None = None
    not_before: datetime | None = None


@dataclass
class Claimed:
    id: int
    key: str
    channel: str
    recipient: str
    employee_id: str | None
    kind: str
    payload: dict[str, Any]
    attempts: int
    in_doubt: bool = False
    result: dict[str, Any] = field(default_factory=dict)


def enqueue_many(db: Database, messages: Iterable[NewMessage], now: datetime) -> int:
    """Insert the messages whose key is new; returns how many were new."""
    rows = [
        dict(
            key=m.key, channel=m.channel, recipient=m.recipient, employee_id=m.employee_id, kind=m.kind,
            payload=m.payload, status="pending", attempts=0, next_attempt_at=m.not_before or now,
            result={}, created_at=now,
        )
        for m in messages
    ]
    if not rows:
        return 0
    total = 0
    with db.session() as s:
        for i in range(0, len(rows), 500):
            stmt = (dialect.insert(db, OutboxMessage).values(rows[i : i + 500])
                    .on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id))
            total += len(s.execute(stmt).all())
    return total


def enqueue(db: Database, message: NewMessage, now: datetime) -> bool:
    return enqueue_many(db, [message], now) == 1


def claim_due(
    db: Database, channel: str, owner: str, now: datetime, limit: int = 100, stale_after: float = 120.0
) -> list[Claimed]:
    """Atomically claim due rows for ``channel`` (SKIP LOCKED on PostgreSQL)."""
    stale = now - timedelta(seconds=stale_after)
    due = or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
    )
    inner = (
        select(OutboxMessage.id)
        .where(OutboxMessage.channel == channel, due)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if not db.is_sqlite:
        inner = inner.with_for_update(skip_locked=True)
    with db.session() as s:
        # Remember which rows were left mid-send by a dead worker before we overwrite the state.
        ids = [r for r in s.execute(inner).scalars()]
        if not ids:
            return []
        doubtful = set(
            s.execute(
                select(OutboxMessage.id).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
            ).scalars()
        )
        rows = s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), due)
            .values(status="sending", claimed_by=owner, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
        ).scalars().all()
        return sorted(
            (
                Claimed(
                    id=r.id, key=r.key, channel=r.channel, recipient=r.recipient, employee_id=r.employee_id,
                    kind=r.kind, payload=dict(r.payload), attempts=r.attempts, in_doubt=r.id in doubtful,
                    result=dict(r.result or {}),
                )
                for r in rows
            ),
            key=lambda c: c.id,
        )


def _finish(db: Database, row_id: int, owner: str, **values: Any) -> bool:
    with db.session() as s:
        res = s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == "sending", OutboxMessage.claimed_by == owner)
            .values(**values)
        )
        return bool(res.rowcount)


def mark_sent(db: Database, row_id: int, owner: str, now: datetime, result: dict[str, Any] | None = None) -> bool:
    return _finish(db, row_id, owner, status="sent", sent_at=now, result=result or {}, last_error=None)


def mark_retry(db: Database, row_id: int, owner: str, error: str, at: datetime, undo_attempt: bool = False) -> bool:
    values: dict[str, Any] = dict(status="pending", next_attempt_at=at, last_error=error, claimed_by=None)
    if undo_attempt:
        values["attempts"] = OutboxMessage.attempts - 1
    return _finish(db, row_id, owner, **values)


def mark_failed(db: Database, row_id: int, owner: str, error: str, now: datetime) -> bool:
    return _finish(db, row_id, owner, status="failed", last_error=error, sent_at=now)


def recent_send_counts(db: Database, channel: str, recipients: list[str], since: datetime) -> dict[str, int]:
    """How many messages each recipient got on ``channel`` since ``since`` (for per-user pacing)."""
    if not recipients:
        return {}
    with db.session() as s:
        rows = s.execute(
            select(OutboxMessage.recipient, func.count())
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.recipient.in_(set(recipients)),
                OutboxMessage.status == "sent",
                OutboxMessage.kind != "update_card",
                OutboxMessage.sent_at >= since,
            )
            .group_by(OutboxMessage.recipient)
        ).all()
    return {r: int(n) for r, n in rows}


def stats(db: Database, channel: str | None = None) -> dict[str, int]:
    with db.session() as s:
        q = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        if channel:
            q = q.where(OutboxMessage.channel == channel)
        return {status: int(n) for status, n in s.execute(q).all()}


def get(db: Database, key: str) -> OutboxMessage | None:
    with db.session() as s:
        return s.execute(select(OutboxMessage).where(OutboxMessage.key == key)).scalar()


def failures(db: Database, limit: int = 100) -> list[OutboxMessage]:
    with db.session() as s:
        q = select(OutboxMessage).where(OutboxMessage.status == "failed").order_by(OutboxMessage.id.desc())
        return list(s.execute(q.limit(limit)).scalars())


def note_accepted(db: Database, row_ids: list[int], result: dict[str, Any]) -> None:
    """Write-ahead note on rows still ``sending``: the platform accepted them (before the worker
    marks them sent). A worker that dies between the platform's answer and ``mark_sent`` leaves the
    rows ``sending``; when they are reclaimed as in-doubt, the note shows they were delivered, so
    they are not sent twice (DingTalk's processQueryKey)."""
    if not row_ids:
        return
    with db.session() as s:
        s.execute(update(OutboxMessage)
                  .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == "sending")
                  .values(result=result))
