"""Customer visits, visit feedback and the append-only points ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Visit(SQLModel, table=True):
    __tablename__ = "visits"

    id: str = Field(primary_key=True, max_length=64)
    employee_id: str = Field(max_length=64, index=True)
    customer: str = Field(max_length=200)
    ended_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    card_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    nudged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class VisitFeedback(SQLModel, table=True):
    __tablename__ = "visit_feedback"

    id: int | None = Field(default=None, primary_key=True)
    visit_id: str = Field(max_length=64, unique=True)
    employee_id: str = Field(max_length=64, index=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = None
    complete: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PointsEntry(SQLModel, table=True):
    """Append-only: rows are never updated or deleted. ``ref`` makes awards idempotent."""

    __tablename__ = "points_ledger"
    __table_args__ = (Index("ix_points_ledger_employee_delta", "employee_id", "delta"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    delta: int
    reason: str = Field(max_length=200)
    ref: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
