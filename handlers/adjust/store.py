"""Target-adjustment requests: reads and the atomic decision (the policy arithmetic and goal
matching are in handlers/adjust/rules.py).

Every state change is a conditional UPDATE (``status = 'pending'`` and the row's ``version``), so
two clicks, two workers or two processes can never both decide the same request, on SQLite and
PostgreSQL alike. Approval changes ``Goal.target`` in the same transaction, guarded by
``Goal.version`` and the target the request was made against, and writes a ``GoalAudit`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from handlers.adjust.rules import fmt, percent_change
from storage.db import Database
from storage.models import AdjustmentRequest, Employee, Goal, GoalAudit, MetricValue, Task


# -- reads ---------------------------------------------------------------------------------------
def get(db: Database, request_id: int) -> AdjustmentRequest | None:
    with db.session() as s:
        return s.get(AdjustmentRequest, request_id)


def get_goal(db: Database, goal_id: str) -> Goal | None:
    with db.session() as s:
        return s.get(Goal, goal_id)


def employee(db: Database, employee_id: str | None) -> Employee | None:
    if not employee_id:
        return None
    with db.session() as s:
        return s.get(Employee, employee_id)


def pending_for_goal(db: Database, goal_id: str) -> AdjustmentRequest | None:
    with db.session() as s:
        q = select(AdjustmentRequest).where(AdjustmentRequest.goal_id == goal_id,
                                            AdjustmentRequest.status == "pending")
        return s.execute(q).scalar()


def recent_metrics(db: Database, goal_id: str, n: int = 4) -> list[MetricValue]:
    with db.session() as s:
        q = select(MetricValue).where(MetricValue.goal_id == goal_id).order_by(MetricValue.date.desc()).limit(n)
        return list(reversed(list(s.execute(q).scalars())))


def open_tasks(db: Database, goal_id: str, n: int = 3) -> list[Task]:
    with db.session() as s:
        q = select(Task).where(Task.goal_id == goal_id, Task.status.in_(("todo", "doing")))
        return list(s.execute(q.order_by(Task.due_date, Task.id).limit(n)).scalars())


def audit_for(db: Database, goal_id: str) -> list[GoalAudit]:
    with db.session() as s:
        q = select(GoalAudit).where(GoalAudit.goal_id == goal_id).order_by(GoalAudit.id)
        return list(s.execute(q).scalars())


def all_requests(db: Database) -> list[AdjustmentRequest]:
    with db.session() as s:
        return list(s.execute(select(AdjustmentRequest).order_by(AdjustmentRequest.id)).scalars())


def due_for_escalation(db: Database, created_before: datetime) -> list[AdjustmentRequest]:
    with db.session() as s:
        q = select(AdjustmentRequest).where(
            AdjustmentRequest.status == "pending", AdjustmentRequest.escalated.is_(False),
            func.coalesce(AdjustmentRequest.manager_approved_at, AdjustmentRequest.created_at) <= created_before)
        return list(s.execute(q.order_by(AdjustmentRequest.id)).scalars())


# -- writes --------------------------------------------------------------------------------------
def create(db: Database, *, goal: Goal, requester_id: str, new_target: float, reason: str,
           approver_id: str, now: datetime) -> AdjustmentRequest | None:
    """Insert a pending request; None if the goal already has one (unique partial index)."""
    if goal.target is None:
        raise ValueError(f"goal {goal.id} has no target to adjust")
    req = AdjustmentRequest(
        goal_id=goal.id, requester_id=requester_id, old_target=goal.target, new_target=new_target,
        percent=round(percent_change(goal.target, new_target), 2), reason=reason, approver_id=approver_id,
        goal_version=goal.version, created_at=now,
    )
    try:
        # A savepoint: inside an event's unit of work a refused insert must not abort the whole
        # PostgreSQL transaction (the reply that follows would fail with it).
        with db.session() as s, s.begin_nested():
            s.add(req)
        return req
    except IntegrityError:
        return None


@dataclass
class Decision:
    outcome: str  # approved|rejected|not_pending|not_approver|goal_changed|missing
    request: AdjustmentRequest | None = None


def decide(db: Database, request_id: int, approver_id: str, approve: bool, now: datetime,
           reason: str | None = None) -> Decision:
    """Approve or reject atomically. Only the designated approver's first decision wins."""
    with db.session() as s:
        req = s.get(AdjustmentRequest, request_id)
        if req is None:
            return Decision("missing")
        if req.status != "pending":
            return Decision("not_pending", req)
        if req.approver_id != approver_id:
            return Decision("not_approver", req)
        won = s.execute(
            update(AdjustmentRequest)
            .where(AdjustmentRequest.id == request_id, AdjustmentRequest.status == "pending",
                   AdjustmentRequest.approver_id == approver_id, AdjustmentRequest.version == req.version)
            .values(status="approved" if approve else "rejected", decided_by=approver_id, decided_at=now,
                    decision_reason=reason, version=req.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if not won:
            s.rollback()
            return Decision("not_pending", s.get(AdjustmentRequest, request_id, populate_existing=True))
        if approve:
            changed = s.execute(
                update(Goal)
                .where(Goal.id == req.goal_id, Goal.version == req.goal_version, Goal.target == req.old_target)
                .values(target=req.new_target, version=Goal.version + 1)
                .execution_options(synchronize_session=False)
            ).rowcount == 1
            if not changed:
                s.rollback()
                return _goal_changed(db, request_id, approver_id, now)
            s.add(GoalAudit(goal_id=req.goal_id, field="target", old_value=fmt(req.old_target),
                            new_value=fmt(req.new_target), actor_id=approver_id, reason=req.reason,
                            request_id=req.id, at=now))
        s.flush()
        return Decision("approved" if approve else "rejected", s.get(AdjustmentRequest, request_id,
                                                                       populate_existing=True))


def _goal_changed(db: Database, request_id: int, approver_id: str, now: datetime) -> Decision:
    """The goal was edited since the request (import, another change): the request lapses."""
    with db.session() as s:
        s.execute(update(AdjustmentRequest)
                  .where(AdjustmentRequest.id == request_id, AdjustmentRequest.status == "pending")
                  .values(status="cancelled", decided_by=approver_id, decided_at=now,
                          decision_reason="目标已被修改，申请失效", version=AdjustmentRequest.version + 1))
        return Decision("goal_changed", s.get(AdjustmentRequest, request_id))


def escalate(db: Database, req: AdjustmentRequest, new_approver_id: str, now: datetime) -> bool:
    """Hand a still-pending request to ``new_approver_id``; False if it was decided meanwhile."""
    with db.session() as s:
        return s.execute(
            update(AdjustmentRequest)
            .where(AdjustmentRequest.id == req.id, AdjustmentRequest.status == "pending",
                   AdjustmentRequest.version == req.version)
            .values(approver_id=new_approver_id, escalated=True, escalated_at=now, version=req.version + 1)
        ).rowcount == 1


def mark_escalated(db: Database, req: AdjustmentRequest) -> bool:
    """Nobody above the approver: remember the reminder so it is sent once (same approver, so
    ``escalated_at`` stays empty and decision time still counts from the request)."""
    with db.session() as s:
        return s.execute(
            update(AdjustmentRequest)
            .where(AdjustmentRequest.id == req.id, AdjustmentRequest.status == "pending",
                   AdjustmentRequest.version == req.version)
            .values(escalated=True, version=req.version + 1)
        ).rowcount == 1


def requests_of(db: Database, requester_id: str, limit: int = 5) -> list[tuple[AdjustmentRequest, Goal | None]]:
    """The requester's latest adjustment requests (newest first) with their goals."""
    with db.session() as s:
        rows = list(s.execute(select(AdjustmentRequest).where(AdjustmentRequest.requester_id == requester_id)
                              .order_by(AdjustmentRequest.created_at.desc(), AdjustmentRequest.id.desc())
                              .limit(limit)).scalars())
        return [(r, s.get(Goal, r.goal_id)) for r in rows]


def audit_entries(db: Database, goal_id: str | None = None) -> list[tuple[GoalAudit, Goal | None, Employee | None]]:
    """goal_audit rows (one goal, or all), oldest first, with the goal and the actor."""
    with db.session() as s:
        q = select(GoalAudit).order_by(GoalAudit.at, GoalAudit.id)
        if goal_id is not None:
            q = q.where(GoalAudit.goal_id == goal_id)
        rows = list(s.execute(q).scalars())
        return [(r, s.get(Goal, r.goal_id), s.get(Employee, r.actor_id) if r.actor_id else None) for r in rows]


def requests_for_goal(db: Database, goal_id: str) -> list[AdjustmentRequest]:
    with db.session() as s:
        return list(s.execute(select(AdjustmentRequest).where(AdjustmentRequest.goal_id == goal_id)
                              .order_by(AdjustmentRequest.created_at, AdjustmentRequest.id)).scalars())





def pass_to_director(db: Database, req: AdjustmentRequest, manager_id: str, director_id: str,
                     now: datetime) -> AdjustmentRequest | None:
    """The manager's first approval of a change above the director threshold: the request stays pending
    and goes to the director. None if it was decided or handed on meanwhile."""
    with db.session() as s:
        won = s.execute(
            update(AdjustmentRequest)
            .where(AdjustmentRequest.id == req.id, AdjustmentRequest.status == "pending",
                   AdjustmentRequest.approver_id == manager_id, AdjustmentRequest.version == req.version)
            .values(approver_id=director_id, manager_approved_by=manager_id, manager_approved_at=now,
                    version=req.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        return s.get(AdjustmentRequest, req.id, populate_existing=True) if won else None
