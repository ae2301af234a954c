"""Queue figures for /metrics: inbound backlog, outbox depth by status, recent send latency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from storage.db import Database
from storage.models import InboundEvent, OutboxMessage


@dataclass
class QueueFigures:
    inbound: dict[str, int]
    outbox: dict[str, int]
    latency: list[float]  # seconds, sorted


def queue_figures(db: Database, now_utc: datetime) -> QueueFigures:
    """Inbound backlog, outbox depth by status and recent send latency, in one short read."""
    with db.session() as s:
        inbound = dict(s.execute(select(InboundEvent.status, func.count()).group_by(InboundEvent.status)).all())
        outbox = dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        recent = s.execute(
            select(OutboxMessage.created_at, OutboxMessage.sent_at)
            .where(OutboxMessage.status == "sent", OutboxMessage.sent_at >= now_utc - timedelta(minutes=5))
            .order_by(OutboxMessage.sent_at.desc()).limit(2000)
        ).all()
    lat = sorted(max(0.0, (sent - created).total_seconds()) for created, sent in recent if sent and created)
    return QueueFigures({str(k): int(v) for k, v in inbound.items()}, {str(k): int(v) for k, v in outbox.items()}, lat)
