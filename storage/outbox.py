"""Durable outbound queue. Every send is a row with a unique idempotency key.

Life of a row: pending → sending (claimed by one worker) → sent | failed, or back to pending
with a later ``next_attempt_at`` for a retry; a row that kept failing transiently for the whole
retry window (``failing_since`` + ``[outbox] park_after_hours``) becomes ``parked`` until an
operator requeues it (``python -m bot outbox retry``). A row left in ``sending`` by a crashed
worker is reclaimed after ``stale_after``; it, and any row whose last attempt may have reached the
platform (timeout, 5xx), is ``in_doubt`` (sticky) so the channel resends it in a way the platform
deduplicates (WeCom's duplicate check and unique task_id, DingTalk's fixed outTrackId).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, or_, select, text, update
from sqlalchemy.orm import aliased

from storage import cardstore, dialect
from storage.db import Database, current_unit
from storage.digest import content_digest, first_contents
from storage.driver import Prepared
from storage.models import CardRecord, OutboxMessage
from storage.outbox_finish import Outcome as Outcome  # re-exported: the sender and tests use storage.outbox
from storage.outbox_finish import finish_values as finish_values
from storage.outbox_finish import mark_failed as mark_failed
from storage.outbox_finish import mark_sent as mark_sent
from storage.outbox_finish import record_batch as record_batch
from storage.types import utc_text

# Claim order: the answer to someone who just wrote goes before queued notifications and pushes
# (a burst of manager cards or a Friday push never makes a user wait for their own reply).
REPLY = 0
NORMAL = 1


@dataclass
class NewMessage:
    key: str
    channel: str
    recipient: str
    kind: str
    payload: dict[str, Any]
    employee_id: str | None = None
    not_before: datetime | None = None
    priority: int = NORMAL


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
    failing_since: datetime | None = None  # first transient failure of the current run
    priority: int = 1  # REPLY (0) or NORMAL (1)

    @property
    def urgent(self) -> bool:
        """Sent from the reply lane on the replies' share of the app budget: replies, and card
        updates (they answer a tap, and a reply-lane round must not wait for bulk permits)."""
        return self.priority == REPLY or self.kind == "update_card"


def enqueue_many(db: Database, messages: Iterable[NewMessage], now: datetime) -> int:
    """Insert the messages whose key is new; returns how many were new."""
    batch = list(messages)
    if not batch:
        return 0
    with db.session() as s:
        card_keys = _card_keys(s, batch)
        rows = [
            dict(
                key=m.key, channel=m.channel, recipient=m.recipient, employee_id=m.employee_id, kind=m.kind,
                payload=m.payload, status="pending", attempts=0, in_doubt=False, next_attempt_at=m.not_before or now,
                result={}, created_at=now, priority=m.priority, card_key=card_key,
                digest=content_digest(m.kind, m.payload),
            )
            for m, card_key in zip(batch, card_keys, strict=True)
        ]
        if len(rows) == 1:  # a reply: one prepared insert on the driver's cursor (storage.driver)
            one = dialect.insert_ignore_one(db, OutboxMessage, "key", tuple(rows[0]), "id")
            return len(one.rows(s.connection(), rows[0]))
        if not db.is_sqlite and len(rows) <= JSON_ROWS_MAX:
            return len(_INSERT_PG.rows(s.connection(), _json_batch(rows, now)))
        # One cached Core statement with many parameter sets (SQLAlchemy batches them into multi-row
        # INSERTs itself): compiling a fresh 500-row VALUES statement per call dominated large pushes.
        stmt = dialect.insert_ignore(db, OutboxMessage, "key", "id")
        return len(s.connection().execute(stmt, rows).all())


# PostgreSQL: the replies a group of events queued (enqueue_at_commit) in one prepared statement, the
# same text whatever their number (SQLAlchemy's multi-row insert is a new statement for every count);
# the rows are one JSON parameter, as inbound acceptance's. Larger batches (pushes) keep the Core path.
JSON_ROWS_MAX = 64
_INSERT_PG = Prepared(text(
    "INSERT INTO outbox (key, channel, recipient, employee_id, kind, payload, status, attempts, in_doubt, "
    "next_attempt_at, priority, card_key, digest, result, created_at) "
    "SELECT e->>0, e->>1, e->>2, e->>3, e->>4, e->5, 'pending', 0, false, CAST(e->>6 AS timestamp), "
    "CAST(e->>7 AS smallint), e->>8, e->>9, CAST('{}' AS json), CAST(:at AS timestamp) "
    "FROM json_array_elements(CAST(:batch AS json)) WITH ORDINALITY AS t(e, n) ORDER BY n "
    "ON CONFLICT (key) DO NOTHING RETURNING id"))


def _json_batch(rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    batch = [[r["key"], r["channel"], r["recipient"], r["employee_id"], r["kind"], r["payload"],
              utc_text(r["next_attempt_at"]), r["priority"], r["card_key"], r["digest"]] for r in rows]
    return {"batch": json.dumps(batch, ensure_ascii=False), "at": utc_text(now)}


def enqueue_at_commit(db: Database, messages: list[NewMessage], now: datetime) -> int:
    """:func:`enqueue_many`, but inside a unit of work the rows wait for the unit's other such rows and
    all go in with one insert just before it commits (a group of events answers with one statement,
    not one per reply); until then not even the unit's own reads see them. Returns how many rows were
    queued (inside a unit of work: all of them; a key already there is still skipped when they go in).
    Outside a unit of work: :func:`enqueue_many` now."""
    unit = current_unit()
    if unit is None or unit.db is not db:
        return enqueue_many(db, messages, now)
    pending: list[NewMessage] | None = unit.stash.get("outbox")
    if pending is None:
        pending = unit.stash["outbox"] = []
        unit.before_commit(lambda: enqueue_many(db, pending, now))
    pending.extend(messages)
    return len(messages)


def _card_keys(s: Any, messages: list[NewMessage]) -> list[str | None]:
    """Each message's card key (:func:`claim_due` keeps the rows of one card in order): a card
    about a subject is its own key; an update, the outbox key of the card it updates (one query,
    only when there are updates); anything else, None."""
    records = {m.payload.get("record_id") for m in messages if m.kind == "update_card"} - {None}
    card_of: dict[int, str] = dict(s.execute(
        select(CardRecord.id, CardRecord.outbox_key).where(CardRecord.id.in_(records))).all()) if records else {}
    return [m.key if m.kind == "card" and m.payload.get("subject")
            else card_of.get(m.payload.get("record_id")) if m.kind == "update_card" else None
            for m in messages]


def enqueue(db: Database, message: NewMessage, now: datetime) -> bool:
    return enqueue_many(db, [message], now) == 1


# The rows of one card go out one after another, whichever process claims them: a row with a card
# key is claimable only when no earlier row of that card (the card itself, an earlier update) is
# pending or sending, claimed by anyone (part of ``due``, so checked again by the claiming UPDATE).
# A stale ``sending`` row still blocks the rows after it and is reclaimed first. Sent, failed and
# parked rows block nothing: a parked update does not hold newer ones back (requeued, the sender
# drops it when a newer one already landed). A card row is always the first of its own key (its
# updates need its record, written when it is claimed), so it skips the lookup: the bulk lane's
# thousands of push cards cost no subquery.
_earlier = aliased(OutboxMessage)
IN_ORDER = or_(
    OutboxMessage.card_key.is_(None),
    OutboxMessage.card_key == OutboxMessage.key,
    ~exists().where(_earlier.card_key == OutboxMessage.card_key, _earlier.id < OutboxMessage.id,
                    or_(_earlier.status == "pending", _earlier.status == "sending")),
)

LANES = {
    "replies": (or_(OutboxMessage.priority == REPLY, OutboxMessage.kind == "update_card"),),
    "bulk": (OutboxMessage.kind != "update_card",),
}


@lru_cache(maxsize=32)
def _claim_statements(lane: str | None, busy: bool, skip: bool, is_sqlite: bool) -> tuple[Any, Any, Any]:
    """:func:`claim_due`'s statements for one shape (lane, whether rows are busy or skipped,
    dialect), built once with bound parameters: every outbox round of every lane runs them, and
    building and caching them per call cost more CPU than running them. The claim is a Core
    ``UPDATE … RETURNING`` (plain rows: loading them as ORM instances was a third of its CPU)."""
    m = OutboxMessage
    reclaim = and_(m.status == "sending", m.claimed_at < bindparam("b_stale"))
    if busy:
        reclaim = and_(reclaim, dialect.in_list(m.id, "b_busy", is_sqlite, negate=True))
    due = and_(or_(and_(m.status == "pending", m.next_attempt_at <= bindparam("b_now")), reclaim), IN_ORDER)
    if skip:
        due = and_(due, dialect.in_list(m.id, "b_skip", is_sqlite, negate=True))
    claimable = (m.channel == bindparam("b_channel"), due, *LANES.get(lane or "", ()))
    pick = (select(m.id, m.digest).where(*claimable).order_by(m.priority, m.next_attempt_at, m.id)
            .limit(bindparam("b_limit")))
    # The claimable rows with the same content as those picked (one call takes them all along).
    along = (select(m.id).where(*claimable, dialect.in_list(m.digest, "b_digests", is_sqlite),
                                dialect.in_list(m.id, "b_picked", is_sqlite, negate=True))
             .order_by(m.id).limit(bindparam("b_along")))
    if not is_sqlite:
        pick = pick.with_for_update(skip_locked=True)
        along = along.with_for_update(skip_locked=True)
    claim = (
        update(m.__table__)
        .where(dialect.in_list(m.id, "b_ids", is_sqlite), due)
        .values(status="sending", claimed_by=bindparam("b_owner"), claimed_at=bindparam("b_now"),
                attempts=m.attempts + 1, in_doubt=case((m.status == "sending", True), else_=m.in_doubt))
        .returning(*m.__table__.c)
    )
    return pick, along, claim


def claim_due(
    db: Database, channel: str, owner: str, now: datetime, limit: int = 100, stale_after: float = 120.0,
    busy: Iterable[int] = (), lane: str | None = None, card_handle_key: Callable[[str], str | None] | None = None,
    skip: Iterable[int] = (), along: int = 0, calls: int | None = None,
) -> list[Claimed]:
    """Atomically claim due rows for ``channel`` (SKIP LOCKED on PostgreSQL), replies first; only
    the rows of ``lane`` when given: ``"replies"`` (replies, and every card update, so the updates
    of one card go out one round after another, never from two lanes at once) or ``"bulk"`` (the
    rest, replies included when it has room). Rows left ``sending`` for ``stale_after`` seconds are
    reclaimed, except ``busy`` ones (still in flight in this process); ``skip`` rows are left
    alone (updates waiting for their card). A card's rows are claimed one at a time in id order,
    across processes (:data:`IN_ORDER`). Cards about a subject are
    recorded in the same transaction, not yet delivered (:func:`cardstore.claimed_many_in`), with
    the platform id ``card_handle_key`` gives for the row's key. With ``along``, up to that many
    more due rows (of the lane) whose content equals that of a picked row come with them: one call
    takes identical content to many people, so under a burst the answers that became due across
    several rounds go out in one call instead of one per round. With ``calls``, only the picked rows
    of the first that many distinct contents (each row without a digest is one) are claimed."""
    busy, skip = list(busy), list(skip)
    pick, more, claim = _claim_statements(lane, bool(busy), bool(skip), db.is_sqlite)
    params: dict[str, Any] = {"b_channel": channel, "b_now": now, "b_stale": now - timedelta(seconds=stale_after),
                              "b_limit": limit, "b_busy": busy, "b_skip": skip}
    with db.short_write() as s:
        conn = s.connection()
        picked = conn.execute(pick, params).all()
        if calls is not None:
            picked = first_contents(picked, calls)
        if not picked:
            return []
        ids = [r[0] for r in picked]
        digests = sorted({r[1] for r in picked if r[1] is not None})
        if along > 0 and digests:
            ids += conn.execute(more, {**params, "b_digests": digests, "b_picked": ids, "b_along": along}).scalars()
        # A row still ``sending`` was left mid-send by a dead worker: from now on it is in doubt.
        rows = conn.execute(claim, {**params, "b_ids": ids, "b_owner": owner}).all()
        cardstore.claimed_many_in(s, [
            {"subject": r.payload["subject"], "channel": r.channel, "recipient": r.recipient,
             "employee_id": r.employee_id, "outbox_key": r.key, "card": r.payload["card"], "now": now,
             "handle_key": card_handle_key(r.key) if card_handle_key else None}
            for r in rows if r.kind == "card" and r.payload.get("subject")])
    # Sorted after the commit (on SQLite the claim holds the write gate ahead of the event workers).
    # Replies first, then in id order: a reply a bulk round took along must not wait for the round's
    # hundreds of notifications. By recipient, so one person's rows keep the order they were queued
    # in (the card closed, then the text about it); the rows of one card keep theirs anyway (IN_ORDER).
    rank: dict[str, int] = {}
    for r in rows:
        rank[r.recipient] = min(rank.get(r.recipient, r.priority), r.priority)
    return sorted(
        (
            Claimed(
                id=r.id, key=r.key, channel=r.channel, recipient=r.recipient, employee_id=r.employee_id,
                kind=r.kind, payload=dict(r.payload), attempts=r.attempts, in_doubt=bool(r.in_doubt),
                result=dict(r.result or {}), failing_since=r.failing_since, priority=r.priority,
            )
            for r in rows
        ),
        key=lambda c: (rank[c.recipient], c.id),
    )


def requeue_parked(db: Database, ids: list[int] | None = None) -> list[int]:
    """Parked rows (all, or those of ``ids``) back to pending, due now, with a fresh retry window."""
    with db.session() as s:
        q = update(OutboxMessage).where(OutboxMessage.status == "parked")
        if ids is not None:
            q = q.where(OutboxMessage.id.in_(ids))
        # due at once (its creation time is in the past for every process's clock)
        rows = s.execute(q.values(status="pending", next_attempt_at=OutboxMessage.created_at, failing_since=None,
                                  claimed_by=None,
                                  attempts=0, sent_at=None).returning(OutboxMessage.id)).scalars().all()
        return sorted(rows)


# Kept on a row before a call that sends it together with other rows (a shared card to many people):
# a resend after a crash or an answer lost in transit must go to the same people with the same
# platform id, or the platform's duplicate detection cannot recognise it. Other fields of ``result``
# are kept.
_NOTE_GROUP = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("b_id"))
    .values(result=bindparam("b_result"))
)


def note_groups(db: Database, notes: dict[int, dict[str, Any]], results: dict[int, dict[str, Any]]) -> None:
    """Store ``{"group": note}`` in each row's ``result`` (``results``: the rows' current ``result``), in
    one transaction, before the call that sends them together."""
    if not notes:
        return
    with db.short_write() as s:
        s.connection().execute(_NOTE_GROUP, [{"b_id": row_id, "b_result": {**results.get(row_id, {}), "group": note}}
                                             for row_id, note in notes.items()])


def recent_send_counts(db: Database, channel: str, recipients: list[str], minute: datetime,
                       hour: datetime | None = None) -> dict[str, tuple[int, int]]:
    """How many messages each recipient got on ``channel`` since ``minute`` and since ``hour`` (for
    per-user pacing; ``hour`` None: since ``minute`` for both), in one statement."""
    if not recipients:
        return {}
    since = minute if hour is None else min(minute, hour)
    with db.session() as s:
        rows = s.execute(_SEND_COUNTS, {"channel": channel, "recipients": sorted(set(recipients)),
                                        "since": since, "minute": minute}).all()
    return {r: (int(m), int(n)) for r, m, n in rows}


# Built once (bound parameters only): every outbox round paces its recipients with it.
_SEND_COUNTS = (
    select(OutboxMessage.recipient,
           func.sum(case((OutboxMessage.sent_at >= bindparam("minute"), 1), else_=0)), func.count())
    .where(
        OutboxMessage.channel == bindparam("channel"),
        OutboxMessage.recipient.in_(bindparam("recipients", expanding=True)),
        OutboxMessage.status == "sent",
        OutboxMessage.kind != "update_card",
        OutboxMessage.sent_at >= bindparam("since"),
    )
    .group_by(OutboxMessage.recipient)
)


def stats(db: Database, channel: str | None = None) -> dict[str, int]:
    with db.session() as s:
        q = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        if channel:
            q = q.where(OutboxMessage.channel == channel)
        return {status: int(n) for status, n in s.execute(q).all()}


def get(db: Database, key: str) -> OutboxMessage | None:
    with db.session() as s:
        return s.execute(select(OutboxMessage).where(OutboxMessage.key == key)).scalar()


def failures(db: Database, limit: int = 100, statuses: tuple[str, ...] = ("failed", "parked")) -> list[OutboxMessage]:
    """Rows that need a person: permanent failures and parked rows, newest first."""
    with db.session() as s:
        q = select(OutboxMessage).where(OutboxMessage.status.in_(statuses)).order_by(OutboxMessage.id.desc())
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
