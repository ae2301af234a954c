"""Visit feedback and the append-only points ledger: queries shared by visits, Q&A and summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, func, select

from storage import dialect
from storage.db import Database
from storage.models import Employee, PointsEntry, Visit, VisitFeedback


def award(db: Database, employee_id: str, ref: str, reason: str, now: datetime, delta: int = 1) -> bool:
    """Append one ledger row; False if ``ref`` was already awarded (idempotent)."""
    with db.session() as s:
        res = s.execute(dialect.insert(db, PointsEntry).values(employee_id=employee_id, delta=delta, reason=reason, ref=ref,
                                                   created_at=now).on_conflict_do_nothing(index_elements=["ref"])
                        .returning(PointsEntry.id))
        return res.first() is not None


def ledger_sum(employee_id: Any) -> ScalarSelect[Any]:
    """The balance of ``employee_id`` (a value, or a column such as ``Employee.id``) as a scalar
    subquery. Correlated with a column it sums one index range of the ledger per row, a plan that
    does not depend on the planner's statistics (joining the ledger to an IN list of ids made
    PostgreSQL hash the whole ledger until the table was analysed)."""
    return (select(func.coalesce(func.sum(PointsEntry.delta), 0))
            .where(PointsEntry.employee_id == employee_id).scalar_subquery())


def points_balance(db: Database, employee_id: str) -> int:
    with db.session() as s:
        return int(s.execute(select(ledger_sum(employee_id))).scalar() or 0)


def balances(db: Database, employee_ids: list[str] | None = None) -> dict[str, int]:
    """Points balance of each active employee (all of them, or those in ``employee_ids``)."""
    return {eid: n for eid, _name, n in _balances_named(db, employee_ids)}


def _balances_named(db: Database, employee_ids: list[str] | None) -> list[tuple[str, str, int]]:
    """[(employee_id, name, balance)] of active employees. Everyone: one pass over the ledger,
    grouped. A list of ids (a team): one index range of the ledger per member (``ledger_sum``), so
    a team's board never reads the whole ledger whatever the planner's statistics say."""
    with db.session() as s:
        if employee_ids is None:
            q = select(Employee.id, Employee.name, func.coalesce(func.sum(PointsEntry.delta), 0)).outerjoin(
                PointsEntry, PointsEntry.employee_id == Employee.id).where(Employee.active).group_by(
                Employee.id, Employee.name)
        else:
            q = select(Employee.id, Employee.name, ledger_sum(Employee.id)).where(
                Employee.active, Employee.id.in_(employee_ids))
        return [(eid, name, int(n or 0)) for eid, name, n in s.execute(q).all()]


def points_rank(db: Database, employee_id: str) -> tuple[int, int]:
    """(rank, total): competition rank (ties share a rank) among active employees with points or
    the asker; total = how many are ranked."""
    bal = {e: n for e, n in balances(db).items() if n > 0 or e == employee_id}
    mine = bal.get(employee_id, 0)
    return 1 + sum(1 for n in bal.values() if n > mine), len(bal)


def leaderboard(db: Database, team_ids: list[str] | None, limit: int = 10) -> list[tuple[str, str, int]]:
    """[(employee_id, name, points)] best first; ``team_ids`` None = everyone."""
    return sorted(_balances_named(db, team_ids), key=lambda r: (-r[2], r[0]))[:limit]


def get_visit(db: Database, visit_id: str) -> Visit | None:
    with db.session() as s:
        return s.get(Visit, visit_id)


def feedback_for(db: Database, visit_id: str) -> VisitFeedback | None:
    with db.session() as s:
        return s.execute(select(VisitFeedback).where(VisitFeedback.visit_id == visit_id)).scalar()


def notes_between(db: Database, employee_ids: list[str], start: datetime, end: datetime) -> list[VisitFeedback]:
    """Complete feedback on visits that ended in [start, end)."""
    with db.session() as s:
        return list(s.execute(select(VisitFeedback).join(Visit, Visit.id == VisitFeedback.visit_id).where(
            VisitFeedback.employee_id.in_(employee_ids), VisitFeedback.complete,
            Visit.ended_at >= start, Visit.ended_at < end)).scalars())


def upsert_visit(db: Database, visit_id: str, employee_id: str, customer: str, ended_at: datetime) -> Visit:
    """The visit ``visit_id``, created if new (a repeated 'visit ended' changes nothing)."""
    with db.session() as s:
        v = s.get(Visit, visit_id)
        if v is None:
            v = Visit(id=visit_id, employee_id=employee_id, customer=customer, ended_at=ended_at)
            s.add(v)
        return v


def mark_card_sent(db: Database, visit_id: str, now: datetime) -> None:
    with db.session() as s:
        row = s.get(Visit, visit_id)
        if row is not None and row.card_sent_at is None:
            row.card_sent_at = now
            s.add(row)


def mark_nudged(db: Database, visit_id: str, now: datetime) -> None:
    with db.session() as s:
        row = s.get(Visit, visit_id)
        if row is not None:
            row.nudged_at = now
            s.add(row)


def set_tags(db: Database, v: Visit, tags: list[str], now: datetime) -> None:
    with db.session() as s:
        row = s.execute(select(VisitFeedback).where(VisitFeedback.visit_id == v.id)).scalar()
        row = row or VisitFeedback(visit_id=v.id, employee_id=v.employee_id, created_at=now)
        row.tags = tags
        s.add(row)


def complete_feedback(db: Database, visit_id: str, note: str, now: datetime) -> bool:
    """Store the note and mark the feedback complete; False when no tags were chosen yet."""
    with db.session() as s:
        row = s.execute(select(VisitFeedback).where(VisitFeedback.visit_id == visit_id)).scalar()
        if row is None:
            return False
        row.note, row.complete, row.completed_at = note, True, now
        s.add(row)
        return True


def recent_visits(db: Database, since: datetime, now: datetime) -> tuple[list[Visit], set[str]]:
    """Visits of active employees that ended in (since, now], and the ids of those with complete feedback."""
    with db.session() as s:
        recent = list(s.execute(select(Visit).join(Employee, Employee.id == Visit.employee_id).where(
            Visit.ended_at > since, Visit.ended_at <= now, Employee.active)).scalars())
        done = set(s.execute(select(VisitFeedback.visit_id).where(
            VisitFeedback.visit_id.in_([v.id for v in recent]), VisitFeedback.complete)).scalars())
    return recent, done


def reps_and_managers(db: Database) -> tuple[list[Employee], dict[str, Employee]]:
    """Active employees who have visits, and their managers by id."""
    with db.session() as s:
        reps = set(s.execute(select(Visit.employee_id).distinct()).scalars())
        staff = list(s.execute(select(Employee).where(Employee.active, Employee.id.in_(reps))).scalars())
        managers = {e.manager_id for e in staff if e.manager_id}
        bosses = {m.id: m for m in s.execute(select(Employee).where(Employee.id.in_(managers))).scalars()}
    return staff, bosses


CHAT_PREFIX = "CHAT-"  # ids of visits declared in chat (「拜访结束 X」); imports and ingest use their own ids


def same_customer(a: str, b: str) -> bool:
    x, y = "".join(a.split()).lower(), "".join(b.split()).lower()
    return bool(x) and bool(y) and (x in y or y in x)


def visits_between(db: Database, employee_id: str, start: datetime, end: datetime) -> list[Visit]:
    """The employee's visits that ended in [start, end) (one local day), any source."""
    with db.session() as s:
        return list(s.execute(select(Visit).where(Visit.employee_id == employee_id, Visit.ended_at >= start,
                                                  Visit.ended_at < end).order_by(Visit.ended_at)).scalars())
