"""Early-warning alerts (department attainment, below baseline, no work log, over capacity).

One row per episode of a condition: while the condition holds the row stays active
(``cleared_at`` is NULL, at most one active row per ``(rule, subject)``); when a scan no longer finds
it, the row is cleared, and a later recurrence is a new row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

ALERT_RULES = ("attainment", "baseline", "worklog", "capacity")
ALERT_STATUSES = ("open", "acknowledged", "snoozed", "cleared")


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("uq_alerts_active_subject", "rule", "subject", unique=True,
              sqlite_where=text("cleared_at IS NULL"), postgresql_where=text("cleared_at IS NULL")),
        Index("ix_alerts_manager_status", "manager_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=16)  # attainment|baseline|worklog|capacity
    subject: str = Field(max_length=128)  # dept:<id> | goal:<id> | emp:<id> | emp:<id>:<ISO week>
    employee_id: str | None = Field(default=None, max_length=64)  # the person concerned, if any
    department_id: int | None = None
    manager_id: str | None = Field(default=None, max_length=64)  # whose battle map shows it
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    level: int = 1  # worst level notified in this episode (higher = worse)
    figure: float = 0.0  # the headline figure of the latest scan
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)  # open|acknowledged|snoozed|cleared
    snoozed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    fired: int = 0  # notifications sent in this episode
    handled_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_fired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cleared_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
