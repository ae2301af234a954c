"""All tables. Import this package to register every model on ``SQLModel.metadata``."""

from storage.models.alerts import Alert
from storage.models.checkins import CheckIn, Conversation, Feedback
from storage.models.goals import AdjustmentRequest, Goal, GoalAudit, MetricValue, Task, WorkLog
from storage.models.messaging import (
    CardRecord,
    InboundEvent,
    JobRowFailure,
    JobRun,
    OutboxMessage,
    RateWindow,
    SchedulerLease,
)
from storage.models.nlp import ReplyAnalysis, RiskFlag
from storage.models.org import Department, DirectoryVersion, Employee
from storage.models.visits import PointsEntry, Visit, VisitFeedback

__all__ = [
    "AdjustmentRequest",
    "Alert",
    "CardRecord",
    "CheckIn",
    "Conversation",
    "Department",
    "DirectoryVersion",
    "Employee",
    "Feedback",
    "Goal",
    "GoalAudit",
    "InboundEvent",
    "JobRowFailure",
    "JobRun",
    "MetricValue",
    "OutboxMessage",
    "RateWindow",
    "PointsEntry",
    "ReplyAnalysis",
    "RiskFlag",
    "SchedulerLease",
    "Task",
    "Visit",
    "VisitFeedback",
    "WorkLog",
]
