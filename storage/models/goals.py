"""Goals (company → department → individual), tasks, metrics, work logs and target adjustments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

GOAL_LEVELS = ("company", "department", "individual")
GOAL_KINDS = ("objective", "key_result", "kpi")
TASK_STATUSES = ("todo", "doing", "done", "cancelled")


class Goal(SQLModel, table=True):
    __tablename__ = "goals"

    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    level: str = Field(default="individual", max_length=16)
    kind: str = Field(default="kpi", max_length=16)
    owner_id: str | None = Field(default=None, max_length=64, index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    parent_id: str | None = Field(default=None, max_length=64, index=True)
    weight: float = 1.0
    target: float | None = None
    current: float | None = None
    unit: str = Field(default="", max_length=32)
    period_start: date | None = None
    period_end: date | None = None
    higher_is_better: bool = True
    version: int = 1


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_owner_status_due", "owner_id", "status", "due_date"),)

    id: str = Field(primary_key=True, max_length=64)
    owner_id: str = Field(max_length=64, index=True)
    title: str = Field(max_length=300)
    due_date: date | None = Field(default=None, index=True)
    status: str = Field(default="todo", max_length=16)
    goal_id: str | None = Field(default=None, max_length=64, index=True)  # an approval card's open tasks
    estimated_hours: float | None = None


class MetricValue(SQLModel, table=True):
    __tablename__ = "metric_values"
    __table_args__ = (UniqueConstraint("goal_id", "date"),)

    id: int | None = Field(default=None, primary_key=True)
    goal_id: str = Field(max_length=64, index=True)
    date: date
    value: float


class WorkLog(SQLModel, table=True):
    __tablename__ = "work_logs"
    __table_args__ = (UniqueConstraint("employee_id", "date", "content_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    date: date
    content: str
    content_hash: str = Field(max_length=64)
    external_id: str | None = Field(default=None, max_length=64, unique=True)  # the source system's id


class AdjustmentRequest(SQLModel, table=True):
    __tablename__ = "adjustment_requests"
    # At most one pending request per goal, enforced by the database (partial unique index).
    __table_args__ = (
        Index("uq_adjustment_requests_pending_goal", "goal_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    goal_id: str = Field(max_length=64, index=True)
    requester_id: str = Field(max_length=64, index=True)
    old_target: float
    new_target: float
    percent: float
    reason: str
    status: str = Field(default="pending", max_length=16)  # pending|approved|rejected|cancelled
    approver_id: str | None = Field(default=None, max_length=64, index=True)  # a leaver's pending approvals
    escalated: bool = False
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    goal_version: int = 1  # Goal.version when requested: approval fails if the goal changed since
    # two-stage approval (policy.approval_mode = "manager_then_director"): the manager's first approval
    manager_approved_by: str | None = Field(default=None, max_length=64)
    manager_approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    decided_by: str | None = Field(default=None, max_length=64)
    decision_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    version: int = 1


class GoalAudit(SQLModel, table=True):
    __tablename__ = "goal_audit"

    id: int | None = Field(default=None, primary_key=True)
    goal_id: str = Field(max_length=64, index=True)
    field: str = Field(max_length=32)
    old_value: str | None = None
    new_value: str | None = None
    actor_id: str | None = Field(default=None, max_length=64)
    reason: str | None = None
    request_id: int | None = None
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
