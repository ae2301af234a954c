"""Cards delivered to people: which platform handles belong to which subject."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from storage.db import Database
from storage.models import CardRecord


def record(db: Database, **kw: Any) -> CardRecord:
    """Record a delivered card (or merge the handle into the existing record for that outbox key)."""
    with db.session() as s:
        return record_in(s, **kw)


def record_in(
    s: Any, *, subject: str, channel: str, recipient: str, employee_id: str | None, outbox_key: str,
    handle: dict[str, Any], card: dict[str, Any], now: datetime, handle_key: str | None = None,
) -> CardRecord:
    """:func:`record` inside the caller's session (the outbox worker's batch transaction)."""
    existing = s.execute(select(CardRecord).where(CardRecord.outbox_key == outbox_key)).scalar()
    if existing is not None:
        existing.handle = {**existing.handle, **handle}
        existing.handle_key = handle_key or existing.handle_key
        existing.updated_at = now
        s.add(existing)
        return existing
    rec = CardRecord(**_new_row(subject=subject, channel=channel, recipient=recipient, employee_id=employee_id,
                                outbox_key=outbox_key, handle=handle, card=card, now=now, handle_key=handle_key))
    s.add(rec)
    s.flush()
    return rec


def _new_row(*, subject: str, channel: str, recipient: str, employee_id: str | None, outbox_key: str,
             handle: dict[str, Any], card: dict[str, Any], now: datetime, handle_key: str | None = None,
             ) -> dict[str, Any]:
    """A new card record's column values (:func:`record_in`, :func:`record_many_in`)."""
    return dict(subject=subject, channel=channel, recipient=recipient, employee_id=employee_id,
                outbox_key=outbox_key, handle=handle, card=card, handle_key=handle_key, created_at=now, updated_at=now)


def record_many_in(s: Any, notes: list[dict[str, Any]]) -> None:
    """:func:`record_in` for many delivered cards at once (a push round): one SELECT for the records
    that already exist (a resend in doubt merges its handle), one multi-row INSERT for the rest
    (each note's outbox key is a different outbox row's)."""
    if not notes:
        return
    keys = [n["outbox_key"] for n in notes]
    existing = set(s.execute(select(CardRecord.outbox_key).where(CardRecord.outbox_key.in_(keys))).scalars())
    fresh = []
    for n in notes:
        if n["outbox_key"] in existing:
            record_in(s, **n)
            continue
        fresh.append(_new_row(**n))
    if fresh:
        s.connection().execute(insert(CardRecord), fresh)


def for_subject(db: Database, subject: str) -> list[CardRecord]:
    with db.session() as s:
        return list(s.execute(select(CardRecord).where(CardRecord.subject == subject).order_by(CardRecord.id)).scalars())


def get(db: Database, record_id: int) -> CardRecord | None:
    with db.session() as s:
        return s.get(CardRecord, record_id)


def find_by_handle(db: Database, channel: str, handle_key: str) -> CardRecord | None:
    """Find a card by its platform lookup id (e.g. WeCom task_id, DingTalk outTrackId)."""
    with db.session() as s:
        q = select(CardRecord).where(CardRecord.channel == channel, CardRecord.handle_key == handle_key)
        return s.execute(q.order_by(CardRecord.id.desc()).limit(1)).scalar()


def update_handle(db: Database, record_id: int, handle: dict[str, Any], now: datetime,
                  state: str | None = None, card: dict[str, Any] | None = None) -> None:
    with db.session() as s:
        update_handle_in(s, record_id, handle, now, state=state, card=card)


def update_handle_in(s: Any, record_id: int, handle: dict[str, Any], now: datetime,
                     state: str | None = None, card: dict[str, Any] | None = None) -> None:
    rec = s.get(CardRecord, record_id)
    if rec is None:
        return
    rec.handle = {**rec.handle, **handle}
    if state is not None:
        rec.state = state[:255]
    if card is not None:
        rec.card = card
    rec.updated_at = now
    s.add(rec)


def highest_handle_number(db: Database, channel: str, prefix: str) -> int:
    """The highest ``N`` among the channel's handle keys ``{prefix}N`` (the terminal's card numbers), or 0."""
    with db.session() as s:
        keys = s.execute(select(CardRecord.handle_key).where(
            CardRecord.channel == channel, CardRecord.handle_key.like(f"{prefix}%"))).scalars()
        return max((int(k[len(prefix):]) for k in keys if k[len(prefix):].isdigit()), default=0)


def latest_open(db: Database, channel: str, recipient: str) -> CardRecord | None:
    """The newest card delivered to ``recipient`` on ``channel`` that is not processed yet."""
    with db.session() as s:
        q = select(CardRecord).where(CardRecord.channel == channel, CardRecord.recipient == recipient,
                                     CardRecord.state.is_(None), CardRecord.handle_key.is_not(None))
        return s.execute(q.order_by(CardRecord.id.desc()).limit(1)).scalar()
