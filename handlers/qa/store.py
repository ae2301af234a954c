"""Read queries behind the Q&A answers. Each is one or two indexed lookups (see the indexes in
``storage/models/nlp.py``) so an answer stays well under 20 ms with a million tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select

from handlers.visit.store import ledger_sum
from storage import plain
from storage.db import Database
from storage.driver import Prepared
from storage.employees import named_in as employees_named_in  # noqa: F401  (used by qa.people)
from storage.models import CheckIn, Department, Employee, Feedback, PointsEntry, Task

OPEN_TASK = ("todo", "doing")


@lru_cache(maxsize=4)
def _dated_open(has_start: bool, has_end: bool) -> tuple[Any, Any]:
    """The page and count statements of :func:`open_tasks` for one shape of range, built once (bound
    parameters only): a task question runs them on every message."""
    cond = [Task.owner_id == bindparam("owner"), Task.status.in_(OPEN_TASK), Task.due_date.is_not(None)]
    if has_start:
        cond.append(Task.due_date >= bindparam("start"))
    if has_end:
        cond.append(Task.due_date < bindparam("end"))
    page = select(Task).where(*cond).order_by(Task.due_date, Task.id).limit(bindparam("limit"))
    return Prepared(page), select(func.count()).select_from(Task).where(*cond)


def open_tasks(db: Database, owner_id: str, start: date | None, end: date | None, *,
               undated: bool = False, limit: int = 20) -> tuple[list[Task], int]:
    """Unfinished tasks due in [start, end) (no start = including overdue), first ``limit`` by due date,
    and how many there are in all. ``undated`` adds tasks without a due date."""
    page, count = _dated_open(start is not None, end is not None)
    params: dict[str, Any] = {"owner": owner_id, "limit": limit + 1}
    if start is not None:
        params["start"] = start
    if end is not None:
        params["end"] = end
    with db.session() as s:
        rows = plain.fetch(Task, s.connection(), page, params)
        total = len(rows)
        if total > limit:
            total = s.execute(count, params).scalar_one()
        if undated:
            ucond = [Task.owner_id == owner_id, Task.status.in_(OPEN_TASK), Task.due_date.is_(None)]
            extra = list(s.execute(select(Task).where(*ucond).order_by(Task.id).limit(limit + 1)).scalars())
            if len(extra) > limit:
                total += s.execute(select(func.count()).select_from(Task).where(*ucond)).scalar_one()
            else:
                total += len(extra)
            rows += extra
    return rows[:limit], total


def _utc_bounds(start: date | None, end: date | None, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    return (datetime.combine(start, time(), tz) if start else None, datetime.combine(end, time(), tz) if end else None)


def latest_feedback(db: Database, employee_id: str, start: date | None, end: date | None,
                    tz: tzinfo) -> tuple[Feedback, Employee | None] | None:
    """The newest manager feedback to the employee (within [start, end) when given) and its author."""
    lo, hi = _utc_bounds(start, end, tz)
    q = select(Feedback).where(Feedback.employee_id == employee_id)
    if lo is not None:
        q = q.where(Feedback.created_at >= lo)
    if hi is not None:
        q = q.where(Feedback.created_at < hi)
    with db.session() as s:
        fb = s.execute(q.order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(1)).scalar()
        if fb is None:
            return None
        return fb, s.get(Employee, fb.author_id)


@dataclass
class Points:
    balance: int
    rank: int  # 1-based, ties share a rank
    group: str  # where the rank is counted (the department)
    group_size: int
    top: list[tuple[str, int]]  # (name, balance), best first
    earned: int | None  # in the asked period


def points(db: Database, emp: Employee, start: date | None, end: date | None, tz: tzinfo) -> Points:
    """Balance from the append-only ledger and the rank within the employee's department, in one
    session: one query lists the department's active members with their balances."""
    names: dict[str, str] = {}
    bal: dict[str, int] = {}
    group = ""
    with db.session() as s:
        if emp.department_id is not None:
            rows = s.execute(select(Employee.id, Employee.name, ledger_sum(Employee.id)).where(
                Employee.department_id == emp.department_id, Employee.active)).all()
            for eid, name, n in rows:
                names[eid], bal[eid] = name, int(n or 0)
            group = s.get(Department, emp.department_id).name
        if emp.id not in bal:  # inactive, or in no department
            names[emp.id] = emp.name
            bal[emp.id] = int(s.execute(select(ledger_sum(emp.id))).scalar() or 0)
        earned = None
        if start is not None or end is not None:
            lo, hi = _utc_bounds(start, end, tz)
            q = select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(PointsEntry.employee_id == emp.id)
            if lo is not None:
                q = q.where(PointsEntry.created_at >= lo)
            if hi is not None:
                q = q.where(PointsEntry.created_at < hi)
            earned = int(s.execute(q).scalar_one())
    mine = bal[emp.id]
    ranked = sorted(bal.items(), key=lambda kv: (-kv[1], kv[0]))
    return Points(mine, 1 + sum(1 for v in bal.values() if v > mine), group, len(names),
                  [(names[eid], v) for eid, v in ranked[:3] if v > 0], earned)


def checkins(db: Database, employee_id: str, weeks: list[str]) -> dict[str, CheckIn]:
    with db.session() as s:
        rows = s.execute(select(CheckIn).where(CheckIn.employee_id == employee_id, CheckIn.week.in_(weeks)))
        return {c.week: c for c in rows.scalars()}


def report_named(db: Database, manager_id: str, name: str) -> Employee | None:
    with db.session() as s:
        return s.execute(select(Employee).where(Employee.manager_id == manager_id, Employee.name == name,
                                                Employee.active).order_by(Employee.id).limit(1)).scalar()


# -- who may be asked about: reports, subtrees, supported people (issue 13, items 5 and 6) ----------------
def _active_where(s: Any, *cond: Any) -> list[Employee]:
    return list(s.execute(select(Employee).where(Employee.active, *cond).order_by(Employee.id)).scalars())


def subtree(db: Database, manager_id: str, max_depth: int = 8) -> list[Employee]:
    """Everyone below ``manager_id`` (direct reports first, then theirs), active only."""
    out: list[Employee] = []
    level = [manager_id]
    with db.session() as s:
        for _ in range(max_depth):
            rows = _active_where(s, Employee.manager_id.in_(level)) if level else []
            rows = [e for e in rows if e.id != manager_id and all(e.id != o.id for o in out)]
            if not rows:
                break
            out += rows
            level = [e.id for e in rows]
    return out


def supported_by(db: Database, hrbp_id: str) -> list[Employee]:
    """The people an HRBP supports (``hrbp_id``)."""
    with db.session() as s:
        return _active_where(s, Employee.hrbp_id == hrbp_id, Employee.id != hrbp_id)


def with_surname(db: Database, first: str) -> list[Employee]:
    with db.session() as s:
        return _active_where(s, Employee.name.startswith(first))


def department_names(db: Database, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    with db.session() as s:
        rows = s.execute(select(Department.id, Department.name).where(Department.id.in_(sorted(ids)))).all()
        return {i: n for i, n in rows}


def week_checkins(db: Database, employee_ids: list[str], week: str) -> dict[str, CheckIn]:
    with db.session() as s:
        rows = s.execute(select(CheckIn).where(CheckIn.employee_id.in_(employee_ids), CheckIn.week == week))
        return {c.employee_id: c for c in rows.scalars()}


def task_counts(db: Database, employee_ids: list[str], today: date,
                end: date | None) -> dict[str, tuple[int, int, date | None]]:
    """Per employee: (open tasks due before ``end`` or undated when end is None, of them overdue, oldest due)."""
    cond = [Task.owner_id.in_(employee_ids), Task.status.in_(OPEN_TASK)]
    if end is not None:
        cond.append(Task.due_date < end)
    with db.session() as s:
        rows = s.execute(select(Task.owner_id, Task.due_date).where(*cond)).all()
    out: dict[str, tuple[int, int, date | None]] = {}
    for owner, due in rows:
        n, late, oldest = out.get(owner, (0, 0, None))
        is_late = due is not None and due < today
        out[owner] = (n + 1, late + is_late, min(oldest, due) if is_late and oldest else (due if is_late else oldest))
    return out


def overdue_titles(db: Database, employee_id: str, today: date, limit: int = 3) -> list[Task]:
    with db.session() as s:
        return list(s.execute(select(Task).where(Task.owner_id == employee_id, Task.status.in_(OPEN_TASK),
                                                 Task.due_date < today).order_by(Task.due_date).limit(limit)).scalars())


def employee(db: Database, employee_id: str) -> Employee | None:
    with db.session() as s:
        return s.get(Employee, employee_id)


def has_reports(db: Database, employee_id: str) -> bool:
    with db.session() as s:
        return s.execute(select(Employee.id).where(Employee.manager_id == employee_id, Employee.active)
                         .limit(1)).first() is not None
