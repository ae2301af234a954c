"""Check-in queries shared by the check-in flow, the manager review, escalations and the archive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy import update as sa_update

from storage import dialect, plain
from storage.db import Database
from storage.driver import Prepared
from storage.models import CheckIn, Department, Employee, Feedback

OPEN = ("pending", "answering")


def get(db: Database, checkin_id: int) -> CheckIn | None:
    with db.session() as s:
        return s.get(CheckIn, checkin_id)


def get_many(db: Database, checkin_ids: list[int]) -> dict[int, CheckIn]:
    """The check-ins with these ids, by id, in one query (a scan's chunk re-reads its rows at once)."""
    if not checkin_ids:
        return {}
    with db.session() as s:
        return {ci.id: ci for ci in s.execute(select(CheckIn).where(CheckIn.id.in_(checkin_ids))).scalars()}


_TABLE = CheckIn.__table__
_MARKS: dict[tuple[str, ...], Prepared] = {}  # mark_many's statements, by the columns set


def _assigned(cols: tuple[str, ...]) -> dict[str, Any]:
    """``SET`` clauses for ``cols``, each bound as ``v_<column>`` (see :func:`_bound`)."""
    return {c: bindparam(f"v_{c}", type_=_TABLE.c[c].type) for c in cols}


def _bound(values: dict[str, object]) -> dict[str, object]:
    return {f"v_{c}": v for c, v in values.items()}


def mark_many(db: Database, checkin_ids: list[int], **values: object) -> int:
    """Set ``values`` on all these check-ins in one UPDATE; how many rows changed."""
    if not checkin_ids:
        return 0
    cols = tuple(sorted(values))
    stmt = _MARKS.get(cols)
    if stmt is None:  # built once per set of columns, run on the driver's cursor (a submission's notice marks one)
        stmt = _MARKS[cols] = Prepared(sa_update(_TABLE).where(_TABLE.c.id.in_(bindparam("b_ids", expanding=True)))
                                       .values(_assigned(cols)))
    with db.session() as s:
        return stmt.execute(s.connection(), {"b_ids": list(checkin_ids), **_bound(values)})


def departments(db: Database, department_ids: set[int]) -> dict[int, Department]:
    """These departments by id, in one query."""
    if not department_ids:
        return {}
    with db.session() as s:
        return {d.id: d for d in s.execute(select(Department).where(Department.id.in_(department_ids))).scalars()}


def for_week(db: Database, employee_id: str, week: str) -> CheckIn | None:
    with db.session() as s:
        return s.execute(select(CheckIn).where(CheckIn.employee_id == employee_id, CheckIn.week == week)).scalar()


def _ensure_statement(db: Database) -> Any:
    ins = dialect.insert(db, CheckIn).values(employee_id=bindparam("employee"), week=bindparam("week"),
                                             status="pending")
    return ins.on_conflict_do_update(index_elements=["employee_id", "week"], set_={"week": ins.excluded.week}
                                     ).returning(*_TABLE.columns)


# Statements a check-in runs on every submission, built once per dialect (bound parameters only):
# building one and computing its cache key cost more CPU than running it. They run on the driver's
# cursor of the session's connection (storage.driver) and return plain instances (storage.plain).
_ENSURE: dict[bool, Any] = {}  # by db.is_sqlite
_UPDATES: dict[tuple[str, ...], Any] = {}  # by the columns set
_LATEST_OPEN = Prepared(select(CheckIn).where(CheckIn.employee_id == bindparam("employee"), CheckIn.status.in_(OPEN))
                        .order_by(CheckIn.week.desc()).limit(1))
_LAST_NOTICE = Prepared(select(func.max(CheckIn.manager_notified_at)).select_from(CheckIn)
                        .join(Employee, Employee.id == CheckIn.employee_id)
                        .where(Employee.manager_id == bindparam("manager")))


def ensure(db: Database, employee_id: str, week: str) -> CheckIn:
    """The employee's check-in row for ``week`` (created pending if missing; safe under races), in one
    statement: an upsert whose no-op update makes ``RETURNING`` give the existing row too."""
    stmt = _ENSURE.get(db.is_sqlite)
    if stmt is None:
        stmt = _ENSURE[db.is_sqlite] = Prepared(_ensure_statement(db))
    with db.session() as s:
        found = plain.first(CheckIn, s.connection(), stmt, {"employee": employee_id, "week": week})
    if found is None:
        raise RuntimeError(f"check-in {employee_id}/{week} missing right after insert")
    return found


def latest_open(db: Database, employee_id: str) -> CheckIn | None:
    """The most recent check-in still waiting for an answer (late answers are welcome)."""
    with db.session() as s:
        return plain.first(CheckIn, s.connection(), _LATEST_OPEN, {"employee": employee_id})


def latest(db: Database, employee_id: str) -> CheckIn | None:
    with db.session() as s:
        return s.execute(select(CheckIn).where(CheckIn.employee_id == employee_id)
                         .order_by(CheckIn.week.desc()).limit(1)).scalar()


def update(db: Database, checkin_id: int, **values: object) -> CheckIn | None:
    """Set ``values`` on the check-in and return it as stored (one UPDATE ... RETURNING, built once
    per set of columns)."""
    cols = tuple(sorted(values))
    stmt = _UPDATES.get(cols)
    if stmt is None:
        stmt = _UPDATES[cols] = Prepared(sa_update(_TABLE).where(_TABLE.c.id == bindparam("b_id"))
                                          .values(_assigned(cols)).returning(*_TABLE.columns))
    with db.session() as s:
        return plain.first(CheckIn, s.connection(), stmt, {"b_id": checkin_id, **_bound(values)})


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


def people_to_check_in(db: Database) -> list[Employee]:
    """Active employees who have a manager (the check-in goes to them), by id."""
    with db.session() as s:
        return list(s.execute(select(Employee).where(Employee.active, Employee.manager_id.is_not(None))
                              .order_by(Employee.id)).scalars())


def reports_of(db: Database, manager_id: str) -> dict[str, Employee]:
    with db.session() as s:
        return {e.id: e for e in s.execute(select(Employee).where(Employee.manager_id == manager_id)).scalars()}


def last_notice_to(db: Database, manager_id: str) -> datetime | None:
    """When ``manager_id`` was last told about one of their reports' check-ins: one statement (it
    loaded every report and then asked about their ids, on each submission)."""
    with db.session() as s:
        return _LAST_NOTICE.scalar(s.connection(), {"manager": manager_id})


def held_back(db: Database, since: datetime, now: datetime) -> list[tuple[CheckIn, Employee]]:
    """Submitted check-ins (in (since, now]) whose manager has neither been told nor seen them."""
    with db.session() as s:
        return [(ci, emp) for ci, emp in s.execute(
            select(CheckIn, Employee).join(Employee, Employee.id == CheckIn.employee_id).where(
                CheckIn.status == "submitted", CheckIn.manager_notified_at.is_(None),
                CheckIn.manager_seen_at.is_(None), CheckIn.submitted_at <= now, CheckIn.submitted_at > since,
                Employee.manager_id.is_not(None))).all()]


def pushed_since(db: Database, since: datetime, statuses: tuple[str, ...]) -> list[tuple[CheckIn, Employee]]:
    """Check-ins pushed after ``since`` still in ``statuses``, with their (active) employee."""
    with db.session() as s:
        return [(ci, emp) for ci, emp in s.execute(
            select(CheckIn, Employee).join(Employee, Employee.id == CheckIn.employee_id).where(
                CheckIn.status.in_(statuses), CheckIn.pushed_at.is_not(None),
                CheckIn.pushed_at > since, Employee.active)).all()]


def department(db: Database, department_id: int) -> Department | None:
    with db.session() as s:
        return s.get(Department, department_id)


def latest_submitted(db: Database, employee_id: str) -> CheckIn | None:
    with db.session() as s:
        return s.execute(select(CheckIn).where(CheckIn.employee_id == employee_id, CheckIn.status == "submitted")
                         .order_by(CheckIn.week.desc()).limit(1)).scalar()


def ensure_many(db: Database, employee_ids: list[str], week: str) -> dict[str, CheckIn]:
    """``ensure`` for many employees in two statements (the Friday push builds 500 at a time)."""
    if not employee_ids:
        return {}
    with db.session() as s:
        s.execute(dialect.insert(db, CheckIn).on_conflict_do_nothing(index_elements=["employee_id", "week"]),
                  [{"employee_id": e, "week": week, "status": "pending"} for e in employee_ids])
        rows = s.execute(select(CheckIn).where(CheckIn.week == week, CheckIn.employee_id.in_(employee_ids))).scalars()
        return {ci.employee_id: ci for ci in rows}


def mark_pushed(db: Database, checkin_ids: list[int], at: datetime) -> None:
    """Record the first push of these check-ins (later pushes keep the first time)."""
    if not checkin_ids:
        return
    with db.session() as s:
        s.execute(sa_update(CheckIn).where(CheckIn.id.in_(checkin_ids), CheckIn.pushed_at.is_(None)).values(pushed_at=at))
