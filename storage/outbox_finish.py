"""How an attempt to send outbox rows ends: the column values (:func:`finish_values`) and recording them,
one row (:func:`mark_sent`, :func:`mark_failed`) or a worker's whole round (:func:`record_batch`), only
on rows the worker still holds (``status = 'sending'`` and ``claimed_by`` = the worker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ClauseElement, visitors
from sqlalchemy.sql.elements import BindParameter

from storage import cardstore
from storage.db import Database
from storage.models import OutboxMessage
from storage.types import UTCDateTime, utc_text


def finish_values(status: str, now: datetime, *, error: str | None = None, result: dict[str, Any] | None = None,
                  at: datetime | None = None, in_doubt: bool = False, failing: bool = False,
                  undo_attempt: bool = False) -> dict[str, Any]:
    """Column values that end one attempt (``status``: sent|retry|failed|parked)."""
    if status == "sent":
        return dict(status="sent", sent_at=now, result=result or {}, last_error=None, failing_since=None)
    if status == "retry":
        values: dict[str, Any] = dict(status="pending", next_attempt_at=at or now, last_error=error, claimed_by=None)
        if in_doubt:
            values["in_doubt"] = True
        if failing:  # a transient failure (not pacing): the retry window starts with the first one
            values["failing_since"] = func.coalesce(OutboxMessage.failing_since, literal(now, UTCDateTime()))
        if undo_attempt:
            values["attempts"] = OutboxMessage.attempts - 1
        return values
    values = dict(status=status, last_error=error, sent_at=now, claimed_by=None)
    if in_doubt:
        values["in_doubt"] = True
    return values


def _finish(db: Database, row_id: int, owner: str, values: dict[str, Any]) -> bool:
    """Apply ``values`` to a row this worker still holds; False when it no longer does."""
    with db.session() as s:
        return bool(s.connection().execute(_finish_stmt(values), _finish_params(row_id, owner, values)).rowcount)


@dataclass
class Outcome:
    """How one attempt ended: column values, plus a card-record note for a delivered card."""

    row_id: int
    values: dict[str, Any]
    card: dict[str, Any] | None = None  # {"op": "record"|"update", ...cardstore arguments}


def record_batch(db: Database, owner: str, outcomes: list[Outcome]) -> int:
    """Record a batch of outcomes (and the cards delivered) in one transaction; returns how many
    rows this worker still held (a row reclaimed by another worker meanwhile is left alone).
    A fixed number of statements per batch, not per row: on PostgreSQL one ``UPDATE ... FROM
    json_array_elements(...) RETURNING id`` per set of columns written (:func:`_held_pg`); on SQLite one
    SELECT of the rows still held and one executemany per set of columns; then the new card records
    in one multi-row INSERT. A 500-card push round was 1,500 statements."""
    if not outcomes:
        return 0
    with _batch_session(db, cards=any(o.card is not None for o in outcomes)) as s:
        held = _held_sqlite(s, owner, outcomes) if db.is_sqlite else _held_pg(s, owner, outcomes)
        mine = [o for o in outcomes if o.row_id in held]
        records: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for o in mine:
            if o.card is not None:
                note = dict(o.card)
                (records if note.pop("op") == "record" else updates).append(note)
        cardstore.record_many_in(s, records)
        for note in updates:
            cardstore.update_handle_in(s, note.pop("record_id"), note.pop("handle"), note.pop("now"), **note)
    return len(mine)


def _by_shape(outcomes: list[Outcome]) -> list[list[Outcome]]:
    shapes: dict[tuple, list[Outcome]] = {}
    for o in outcomes:
        shapes.setdefault(_shape(o.values), []).append(o)
    return list(shapes.values())


def _held_sqlite(s: Any, owner: str, outcomes: list[Outcome]) -> set[int]:
    """SQLite (no round trips to save): the rows still held, then one executemany per shape on those."""
    q = select(OutboxMessage.id).where(OutboxMessage.id.in_([o.row_id for o in outcomes]),
                                       OutboxMessage.status == "sending", OutboxMessage.claimed_by == owner)
    held = set(s.execute(q).scalars())
    for group in _by_shape([o for o in outcomes if o.row_id in held]):
        params = [_finish_params(o.row_id, owner, o.values) for o in group]
        s.connection().execute(_finish_stmt(group[0].values), params[0] if len(params) == 1 else params)
    return held


def _held_pg(s: Any, owner: str, outcomes: list[Outcome]) -> set[int]:
    """PostgreSQL: each shape's rows in one UPDATE joined to the batch as one JSON parameter, returning
    the ids it changed (the rows still held). Replaces a SELECT ... FOR UPDATE and an executemany, whose
    per-row parameters were most of a burst's recording (py-spy): values the group shares are plain
    parameters, the ones that differ (a delivered row's ``result``, a retry's error) come from the JSON.
    Each UPDATE locks only rows this worker holds, as the SELECT ... FOR UPDATE did."""
    held: set[int] = set()
    for group in _by_shape(outcomes):
        first = group[0].values
        plain = [k for k, v in first.items() if not isinstance(v, ClauseElement)]
        varying = [k for k in plain if any(o.values[k] != first[k] for o in group[1:])]
        batch = json.dumps([{"id": o.row_id, **{k: _json_value(o.values[k]) for k in varying}} for o in group],
                           ensure_ascii=False)
        params = {"_owner": owner, "batch": batch, **{f"v_{k}": first[k] for k in plain if k not in varying}}
        held.update(s.connection().execute(_bulk_finish_stmt(first, varying), params).scalars())
    return held


def _json_value(value: Any) -> Any:
    """A value as the JSON batch carries it (:func:`_from_batch` reads it back): times as naive UTC."""
    return utc_text(value) if isinstance(value, datetime) else value


def _from_batch(element: Any, column: str) -> Any:
    """Column ``column``'s value for one row of the JSON batch (``element``: the row's JSON object)."""
    ctype = OutboxMessage.__table__.c[column].type
    if isinstance(ctype, JSON):
        return element.op("->", return_type=postgresql.JSON)(literal(column))
    text_value = element.op("->>", return_type=String)(literal(column))
    if isinstance(ctype, UTCDateTime):
        return cast(text_value, DateTime)
    if isinstance(ctype, Boolean | Integer):
        return cast(text_value, ctype)
    return text_value


def _bulk_finish_stmt(values: dict[str, Any], varying: list[str]) -> Any:
    """:func:`_finish_stmt` for many rows: ``UPDATE outbox SET ... FROM json_array_elements(:batch) AS e
    WHERE outbox.id = e.id AND still held RETURNING outbox.id``; built per call, compiled once per shape
    (SQLAlchemy's statement cache: the values are parameters)."""
    rows = func.json_array_elements(cast(bindparam("batch", type_=String), postgresql.JSON)).table_valued(
        "value").alias("e")
    element = rows.c.value
    cols = {k: v if isinstance(v, ClauseElement) else _from_batch(element, k) if k in varying
            else bindparam(f"v_{k}", type_=OutboxMessage.__table__.c[k].type) for k, v in values.items()}
    row_id = cast(element.op("->>", return_type=String)(literal("id")), Integer)
    return (update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == "sending",
                   OutboxMessage.claimed_by == bindparam("_owner"))
            .values(**cols).returning(OutboxMessage.id))


@contextmanager
def _batch_session(db: Database, cards: bool) -> Iterator[Any]:
    """A round that delivered cards is a unit of work: on SQLite the write lock is taken up front, so
    merging a card's handle cannot interleave with a tap storing its code on the same record
    (PostgreSQL: FOR UPDATE in cardstore). Other rounds (replies) go ahead of the event workers' units of
    work (:meth:`Database.short_write`): queued behind them, half-rate reply p99 went from 0.1 to 2.3 s in
    bench_wecom."""
    if not cards:
        with db.short_write() as s:
            yield s
        return
    with db.unit_of_work() as unit:
        yield unit.session


def _shape(values: dict[str, Any]) -> tuple:
    """Which columns an outcome sets, and the SQL expressions among them (those are part of the
    statement, the rest are parameters)."""
    return tuple(sorted((k, _expr_key(v) if isinstance(v, ClauseElement) else "") for k, v in values.items()))


def _expr_key(expr: ClauseElement) -> str:
    """An expression's SQL with the values bound in it (coalesce(failing_since, <now>))."""
    binds = [repr(e.value) for e in visitors.iterate(expr) if isinstance(e, BindParameter)]
    return f"{expr} {binds}"


def _finish_stmt(values: dict[str, Any]) -> Any:
    """The UPDATE that ends an attempt on a row this worker still holds: the SQL expressions among
    ``values`` are part of it, the other values are parameters (:func:`_finish_params`), so outcomes
    of one :func:`_shape` share it (one executemany)."""
    cols = {k: v if isinstance(v, ClauseElement) else bindparam(f"v_{k}", type_=OutboxMessage.__table__.c[k].type)
            for k, v in values.items()}
    return (update(OutboxMessage)
            .where(OutboxMessage.id == bindparam("_id"), OutboxMessage.status == "sending",
                   OutboxMessage.claimed_by == bindparam("_owner"))
            .values(**cols))


def _finish_params(row_id: int, owner: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"_id": row_id, "_owner": owner,
            **{f"v_{k}": v for k, v in values.items() if not isinstance(v, ClauseElement)}}


def mark_sent(db: Database, row_id: int, owner: str, now: datetime, result: dict[str, Any] | None = None) -> bool:
    return _finish(db, row_id, owner, finish_values("sent", now, result=result))


def mark_failed(db: Database, row_id: int, owner: str, error: str, now: datetime) -> bool:
    return _finish(db, row_id, owner, finish_values("failed", now, error=error))
