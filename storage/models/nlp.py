"""Stored NLP results and HR risk flags (plus the read-path indexes the Q&A answers rely on)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class ReplyAnalysis(SQLModel, table=True):
    __tablename__ = "reply_analyses"
    __table_args__ = (Index("ix_reply_analyses_employee_created", "employee_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    source: str = Field(max_length=16)  # checkin|visit|manager|chat
    ref: str | None = Field(default=None, max_length=128, unique=True)
    text: str
    sentiment: str = Field(max_length=8)
    score: float
    risks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class RiskFlag(SQLModel, table=True):
    __tablename__ = "risk_flags"
    __table_args__ = (Index("ix_risk_flags_status_category", "status", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    category: str = Field(max_length=16)  # burnout|attrition|resource|conflict|sentiment
    rule: str = Field(max_length=16)  # strong|repeated|trend
    dedup_key: str = Field(max_length=128, unique=True)
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)  # open|acknowledged|resolved
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    handled_by: str | None = Field(default=None, max_length=64)
