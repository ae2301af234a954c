"""Per-employee conversation state (one active multi-step flow at a time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy import update as sa_update

from storage import dialect
from storage.db import Database
from storage.driver import Prepared
from storage.models import Conversation

# Read once per event (routing looks for an active flow): a prebuilt SELECT run on the driver's cursor
# (storage.driver) whose row becomes a detached Conversation without the ORM's identity-map and
# loading machinery; most events find no row.
_TABLE: Table = Conversation.__table__
_GET = Prepared(select(_TABLE).where(_TABLE.c.employee_id == bindparam("employee_id")))


def get(db: Database, employee_id: str) -> Conversation | None:
    with db.session() as s:
        row = _GET.first(s.connection(), {"employee_id": employee_id})
    return None if row is None else Conversation.model_construct(**row)


def start(db: Database, employee_id: str, flow: str, step: str, data: dict[str, Any], now: datetime) -> None:
    """Begin ``flow`` (replacing any other): one upsert."""
    stmt = dialect.insert(db, Conversation).values(
        employee_id=employee_id, flow=flow, step=step, data=dict(data), updated_at=now, version=1)
    stmt = stmt.on_conflict_do_update(index_elements=["employee_id"], set_={
        "flow": stmt.excluded.flow, "step": stmt.excluded.step, "data": stmt.excluded.data,
        "updated_at": stmt.excluded.updated_at, "version": Conversation.version + 1})
    with db.session() as s:
        s.execute(stmt)


def update(db: Database, employee_id: str, step: str, data: dict[str, Any], now: datetime) -> None:
    """Move the active flow to ``step`` (nothing when there is none): one update."""
    with db.session() as s:
        s.execute(sa_update(Conversation).where(Conversation.employee_id == employee_id).values(
            step=step, data=dict(data), updated_at=now, version=Conversation.version + 1))


def clear(db: Database, employee_id: str, flow: str | None = None) -> None:
    """End the employee's flow (only if it is ``flow``, when given): one delete."""
    stmt = delete(Conversation).where(Conversation.employee_id == employee_id)
    if flow is not None:
        stmt = stmt.where(Conversation.flow == flow)
    with db.session() as s:
        s.execute(stmt)
