"""Check-in queries shared by the check-in flow, the manager review, escalations and the archive."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import CheckIn, Employee, Feedback

OPEN = ("pending", "answering")


def get(db: Database, checkin_id: int) -> CheckIn | None:
    with db.session() as s:
        return s.get(CheckIn, checkin_id)


def for_week(db: Database, employee_id: str, week: str) -> CheckIn | None:
    with db.session() as s:
        return s.execute(select(CheckIn).where(CheckIn.employee_id == employee_id, CheckIn.week == week)).scalar()


def ensure(db: Database, employee_id: str, week: str) -> CheckIn:
    """The employee's check-in row for ``week`` (created pending if missing; safe under races)."""
    insert = sqlite.insert if db.is_sqlite else postgresql.insert
    with db.session() as s:
        s.execute(insert(CheckIn).values(employee_id=employee_id, week=week, status="pending")
                  .on_conflict_do_nothing(index_elements=["employee_id", "week"]))
    found = for_week(db, employee_id, week)
    assert found is not None
    return found


def latest_open(db: Database, employee_id: str) -> CheckIn | None:
    """The most recent check-in still waiting for an answer (late answers are welcome)."""
    with db.session() as s:
        return s.execute(select(CheckIn).where(CheckIn.employee_id == employee_id, CheckIn.status.in_(OPEN))
                         .order_by(CheckIn.week.desc()).limit(1)).scalar()


def latest(db: Database, employee_id: str) -> CheckIn | None:
    with db.session() as s:
        return s.execute(select(CheckIn).where(CheckIn.employee_id == employee_id)
                         .order_by(CheckIn.week.desc()).limit(1)).scalar()


def update(db: Database, checkin_id: int, **values: object) -> CheckIn | None:
    with db.session() as s:
        ci = s.get(CheckIn, checkin_id)
        if ci is None:
            return None
        for k, v in values.items():
            setattr(ci, k, v)
        s.add(ci)
        return ci


def history(db: Database, employee_id: str) -> list[tuple[CheckIn, list[Feedback]]]:
    """All of an employee's check-ins (oldest first) with the feedback on each."""
    with db.session() as s:
        cis = list(s.execute(select(CheckIn).where(CheckIn.employee_id == employee_id)
                             .order_by(CheckIn.week)).scalars())
        fbs = list(s.execute(select(Feedback).where(Feedback.employee_id == employee_id)
                             .order_by(Feedback.created_at)).scalars())
    return [(ci, [f for f in fbs if f.checkin_id == ci.id]) for ci in cis]


def add_feedback(db: Database, checkin: CheckIn, author_id: str, text: str, now: datetime) -> Feedback:
    with db.session() as s:
        fb = Feedback(employee_id=checkin.employee_id, author_id=author_id, checkin_id=checkin.id, text=text,
                      created_at=now)
        s.add(fb)
        ci = s.get(CheckIn, checkin.id)
        if ci is not None:
            ci.feedback_at = now
            ci.manager_seen_at = ci.manager_seen_at or now
            s.add(ci)
        s.flush()
        return fb


def employee(db: Database, employee_id: str | None) -> Employee | None:
    if not employee_id:
        return None
    with db.session() as s:
        return s.get(Employee, employee_id)
