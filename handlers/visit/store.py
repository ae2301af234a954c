"""Visit feedback and the append-only points ledger: queries shared by visits, Q&A and summaries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import Employee, PointsEntry, Visit, VisitFeedback


def award(db: Database, employee_id: str, ref: str, reason: str, now: datetime, delta: int = 1) -> bool:
    """Append one ledger row; False if ``ref`` was already awarded (idempotent)."""
    insert = sqlite.insert if db.is_sqlite else postgresql.insert
    with db.session() as s:
        res = s.execute(insert(PointsEntry).values(employee_id=employee_id, delta=delta, reason=reason, ref=ref,
                                                   created_at=now).on_conflict_do_nothing(index_elements=["ref"])
                        .returning(PointsEntry.id))
        return res.first() is not None


def points_balance(db: Database, employee_id: str) -> int:
    with db.session() as s:
        return int(s.execute(select(func.coalesce(func.sum(PointsEntry.delta), 0))
                             .where(PointsEntry.employee_id == employee_id)).scalar() or 0)


def balances(db: Database, employee_ids: list[str] | None = None) -> dict[str, int]:
    """Points balance of each active employee (all of them, or those in ``employee_ids``)."""
    with db.session() as s:
        q = select(Employee.id, func.coalesce(func.sum(PointsEntry.delta), 0)).outerjoin(
            PointsEntry, PointsEntry.employee_id == Employee.id).where(Employee.active).group_by(Employee.id)
        if employee_ids is not None:
            q = q.where(Employee.id.in_(employee_ids))
        return {eid: int(n) for eid, n in s.execute(q).all()}


def points_rank(db: Database, employee_id: str) -> tuple[int, int]:
    """(rank, total): competition rank (ties share a rank) among active employees with points or
    the asker; total = how many are ranked."""
    bal = {e: n for e, n in balances(db).items() if n > 0 or e == employee_id}
    mine = bal.get(employee_id, 0)
    return 1 + sum(1 for n in bal.values() if n > mine), len(bal)


def leaderboard(db: Database, team_ids: list[str] | None, limit: int = 10) -> list[tuple[str, str, int]]:
    """[(employee_id, name, points)] best first; ``team_ids`` None = everyone."""
    bal = balances(db, team_ids)
    with db.session() as s:
        names = dict(s.execute(select(Employee.id, Employee.name).where(Employee.id.in_(list(bal)))).all())
    rows = sorted(((e, names.get(e, e), n) for e, n in bal.items()), key=lambda r: (-r[2], r[0]))
    return rows[:limit]


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
