"""Per-employee conversation state (one active multi-step flow at a time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.db import Database
from storage.models import Conversation


def get(db: Database, employee_id: str) -> Conversation | None:
    with db.session() as s:
        return s.get(Conversation, employee_id)


def start(db: Database, employee_id: str, flow: str, step: str, data: dict[str, Any], now: datetime) -> None:
    with db.session() as s:
        conv = s.get(Conversation, employee_id)
        if conv is None:
            s.add(Conversation(employee_id=employee_id, flow=flow, step=step, data=data, updated_at=now))
        else:
            conv.flow, conv.step, conv.data, conv.updated_at = flow, step, dict(data), now
            conv.version += 1
            s.add(conv)


def update(db: Database, employee_id: str, step: str, data: dict[str, Any], now: datetime) -> None:
    with db.session() as s:
        conv = s.get(Conversation, employee_id)
        if conv is None:
            return
        conv.step, conv.data, conv.updated_at = step, dict(data), now
        conv.version += 1
        s.add(conv)


def clear(db: Database, employee_id: str, flow: str | None = None) -> None:
    with db.session() as s:
        conv = s.get(Conversation, employee_id)
        if conv is not None and (flow is None or conv.flow == flow):
            s.delete(conv)
