"""Weekly check-ins, manager feedback and per-user conversation state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class CheckIn(SQLModel, table=True):
    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("employee_id", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    week: str = Field(max_length=10, index=True)  # ISO week, e.g. "2026-W48"
    status: str = Field(default="pending", max_length=16)
    achievement: str | None = None
    obstacle: str | None = None
    next_action: str | None = None
    pushed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revised_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    manager_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    feedback_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Delivery/escalation bookkeeping (what was done, so a scan after a restart knows what is still due).
    manager_notified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    hrbp_alerted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    feedback_reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    feedback_hrbp_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Feedback(SQLModel, table=True):
    """Manager feedback to an employee (on a check-in or ad hoc)."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_employee_created", "employee_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    author_id: str = Field(max_length=64)
    checkin_id: int | None = None
    text: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Conversation(SQLModel, table=True):
    """The one active multi-step flow of an employee (survives restarts)."""

    __tablename__ = "conversations"

    employee_id: str = Field(primary_key=True, max_length=64)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    version: int = 1
