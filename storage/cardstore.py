"""Cards delivered to people: which platform handles belong to which subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from storage import plain
from storage.db import Database
from storage.driver import Prepared
from storage.models import CardRecord, OutboxMessage


def claimed_many_in(s: Any, notes: list[dict[str, Any]]) -> None:
    """Record cards whose outbox rows were just claimed, before the platform call (the claim's
    transaction): the person may see the card, and tap it, before the call returns, and a tap or an
    update must find it. ``handle_key`` is the id the platform will know the card by, when the
    channel can tell it beforehand. A row claimed again (a resend in doubt) keeps its record."""
    if not notes:
        return
    keys = [n["outbox_key"] for n in notes]
    existing = set(s.execute(select(CardRecord.outbox_key).where(CardRecord.outbox_key.in_(keys))).scalars())
    fresh = [_new_row(**n, handle={}, delivered_at=None) for n in notes if n["outbox_key"] not in existing]
    if fresh:
        s.connection().execute(insert(CardRecord), fresh)


def record_many_in(s: Any, notes: list[dict[str, Any]]) -> None:
    """Note delivered cards (a delivery round, the outbox worker's transaction): the platform's
    handle is merged into the record written at claim time (a click's code stored meanwhile is
    kept) and the card marked delivered; a card with no record yet gets one. Three statements
    whatever the round's size: one SELECT of the records (FOR UPDATE on PostgreSQL), one
    executemany UPDATE, one multi-row INSERT."""
    if not notes:
        return
    keys = [n["outbox_key"] for n in notes]
    q = select(CardRecord.id, CardRecord.outbox_key, CardRecord.handle, CardRecord.handle_key).where(
        CardRecord.outbox_key.in_(keys))
    if _locks_rows(s):
        q = q.with_for_update()
    existing = {row.outbox_key: row for row in s.execute(q)}
    merged, fresh = [], []
    for n in notes:
        row = existing.get(n["outbox_key"])
        if row is None:
            fresh.append(_new_row(**{**n, "delivered_at": n["now"]}))
            continue
        merged.append({"_id": row.id, "v_handle": {**(row.handle or {}), **n["handle"]},
                       "v_key": n.get("handle_key") or row.handle_key, "v_at": n["now"]})
    if merged:
        cols = CardRecord.__table__.c
        stmt = (update(CardRecord).where(CardRecord.id == bindparam("_id"))
                .values(handle=bindparam("v_handle", type_=cols.handle.type),
                        handle_key=bindparam("v_key", type_=cols.handle_key.type),
                        delivered_at=func.coalesce(CardRecord.delivered_at,
                                                   bindparam("v_at", type_=cols.delivered_at.type))))
        s.connection().execute(stmt, merged)
    if fresh:
        s.connection().execute(insert(CardRecord), fresh)


def _locks_rows(s: Any) -> bool:
    """Whether the session's database locks rows (PostgreSQL: FOR UPDATE); SQLite's writers are
    serialised by the write lock a unit of work takes up front instead."""
    return s.get_bind().dialect.name != "sqlite"


def _new_row(*, subject: str, channel: str, recipient: str, employee_id: str | None, outbox_key: str,
             handle: dict[str, Any], card: dict[str, Any], now: datetime, handle_key: str | None = None,
             delivered_at: datetime | None = None) -> dict[str, Any]:
    """A new card record's column values (:func:`claimed_many_in`, :func:`record_many_in`)."""
    return dict(subject=subject, channel=channel, recipient=recipient, employee_id=employee_id,
                outbox_key=outbox_key, handle=handle, card=card, handle_key=handle_key, created_at=now,
                updated_at=now, delivered_at=delivered_at)


@dataclass
class UpdateTarget:
    """What an update about to be sent needs to know of its card (:func:`update_targets`)."""

    delivered: bool
    card_key: str  # the card's outbox key
    card_status: str | None  # its outbox row's status while not delivered (None: the row is gone)
    card_next_at: datetime | None
    last_update: int  # the outbox id of the newest update applied to it (0: none)


def update_targets(db: Database, record_ids: list[int]) -> dict[int, UpdateTarget]:
    """The cards that updates are about to change, by record id (one query)."""
    if not record_ids:
        return {}
    with db.session() as s:
        q = (select(CardRecord.id, CardRecord.delivered_at, CardRecord.outbox_key, CardRecord.handle,
                    OutboxMessage.status, OutboxMessage.next_attempt_at)
             .join(OutboxMessage, OutboxMessage.key == CardRecord.outbox_key, isouter=True)
             .where(CardRecord.id.in_(record_ids)))
        return {r.id: UpdateTarget(r.delivered_at is not None, r.outbox_key, r.status, r.next_attempt_at,
                                   int((r.handle or {}).get("last_update") or 0)) for r in s.execute(q)}


# Built once (bound parameters only), run on the driver's cursor: every submission that closes a card runs it.
_FOR_SUBJECT = Prepared(select(CardRecord).where(CardRecord.subject == bindparam("subject")).order_by(CardRecord.id))


def for_subject(db: Database, subject: str) -> list[CardRecord]:
    with db.session() as s:
        return plain.fetch(CardRecord, s.connection(), _FOR_SUBJECT, {"subject": subject})


def get(db: Database, record_id: int) -> CardRecord | None:
    with db.session() as s:
        return s.get(CardRecord, record_id)


def find_by_handle(db: Database, channel: str, handle_key: str, recipient: str | None = None) -> CardRecord | None:
    """Find a card by its platform lookup id (e.g. WeCom task_id, DingTalk outTrackId); ``recipient``:
    that person's record (a card sent to many people in one call shares one id)."""
    with db.session() as s:
        q = select(CardRecord).where(CardRecord.channel == channel, CardRecord.handle_key == handle_key)
        if recipient is not None:
            q = q.where(CardRecord.recipient == recipient)
        return s.execute(q.order_by(CardRecord.id.desc()).limit(1)).scalar()


def update_handle(db: Database, record_id: int, handle: dict[str, Any], now: datetime,
                  state: str | None = None, card: dict[str, Any] | None = None) -> None:
    """Merge ``handle`` into a card's record. A unit of work (the write lock first on SQLite, the row
    locked on PostgreSQL): a tap's code stored while the delivery merges the send's handle keeps both."""
    with db.unit_of_work() as unit:
        update_handle_in(unit.session, record_id, handle, now, state=state, card=card)


def update_handle_in(s: Any, record_id: int, handle: dict[str, Any], now: datetime,
                     state: str | None = None, card: dict[str, Any] | None = None) -> None:
    rec = s.get(CardRecord, record_id, with_for_update=_locks_rows(s))
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
