"""Idempotent import of CSV folders or one XLSX workbook (one sheet per entity).

Each row is written in its own savepoint: a bad row is reported with file, line and reason,
leaves nothing half-written, and the rest of the file still loads. Re-importing updates rows.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from storage.db import Database
from storage.models import Department, Employee, Goal, MetricValue, Task, Visit, WorkLog
from storage.models.goals import GOAL_KINDS, GOAL_LEVELS, TASK_STATUSES
from storage.models.org import ROLES

# File name (sheet name without .csv) -> its columns, in import order (parents first).
COLUMNS: dict[str, list[str]] = {
    "departments": ["department", "parent", "head_id"],
    "employees": ["employee_id", "name", "department", "manager_id", "role", "hrbp_id", "wecom_userid",
                  "dingtalk_userid", "weekly_capacity_hours", "email"],
    "goals": ["goal_id", "title", "level", "kind", "owner_id", "department", "parent_goal_id", "weight", "target",
              "current", "unit", "period_start", "period_end", "higher_is_better"],
    "tasks": ["task_id", "owner_id", "title", "due_date", "status", "goal_id", "estimated_hours"],
    "visits": ["visit_id", "employee_id", "customer", "ended_at"],
    "metrics": ["goal_id", "date", "value"],
    "worklogs": ["employee_id", "date", "content"],
}
REQUIRED: dict[str, list[str]] = {
    "departments": ["department"],
    "employees": ["employee_id", "name"],
    "goals": ["goal_id", "title"],
    "tasks": ["task_id", "owner_id", "title"],
    "visits": ["visit_id", "employee_id", "customer", "ended_at"],
    "metrics": ["goal_id", "date", "value"],
    "worklogs": ["employee_id", "date", "content"],
}


class RowError(ValueError):
    pass


@dataclass
class ImportReport:
    loaded: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "file:line: reason"
    new_visits: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{name}: {n}" for name, n in self.loaded.items()]
        lines = ["imported " + (", ".join(parts) if parts else "nothing")]
        if self.errors:
            lines.append(f"{len(self.errors)} row(s) rejected:")
            lines.extend("  " + e for e in self.errors)
        return "\n".join(lines)


# -- value parsing ------------------------------------------------------------------------------
def _s(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _num(row: dict[str, Any], col: str) -> float | None:
    v = _s(row.get(col))
    if v is None:
        return None
    try:
        return float(v.replace(",", ""))
    except ValueError:
        raise RowError(f"{col}: not a number: {v!r}") from None


def _date(row: dict[str, Any], col: str) -> date | None:
    v = row.get(col)
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    s = _s(v)
    if s is None:
        return None
    try:
        return date.fromisoformat(s.replace("/", "-"))
    except ValueError:
        raise RowError(f"{col}: not a date (YYYY-MM-DD): {s!r}") from None


def _datetime(row: dict[str, Any], col: str, tz: ZoneInfo) -> datetime | None:
    v = row.get(col)
    if isinstance(v, datetime):
        dt = v
    else:
        s = _s(v)
        if s is None:
            return None
        try:
            dt = datetime.fromisoformat(s.replace("/", "-"))
        except ValueError:
            raise RowError(f"{col}: not a datetime (YYYY-MM-DD HH:MM): {s!r}") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=tz)).astimezone(UTC)


def _bool(row: dict[str, Any], col: str, default: bool) -> bool:
    s = _s(row.get(col))
    if s is None:
        return default
    if s.lower() in ("1", "true", "yes", "y", "是", "高"):
        return True
    if s.lower() in ("0", "false", "no", "n", "否", "低"):
        return False
    raise RowError(f"{col}: expected true/false: {s!r}")


def _choice(row: dict[str, Any], col: str, allowed: tuple[str, ...], default: str) -> str:
    s = _s(row.get(col))
    if s is None:
        return default
    if s.lower() not in allowed:
        raise RowError(f"{col}: {s!r} is not one of {', '.join(allowed)}")
    return s.lower()


def _dept_id(s: Session, name: str | None) -> int | None:
    if not name:
        return None
    dept = s.execute(select(Department).where(Department.name == name)).scalar()
    if dept is None:
        raise RowError(f"department {name!r} does not exist (add it to departments.csv)")
    return dept.id


def _require_employee(s: Session, emp_id: str | None, col: str) -> None:
    if emp_id and s.get(Employee, emp_id) is None:
        raise RowError(f"{col}: unknown employee {emp_id!r}")


# -- row writers --------------------------------------------------------------------------------
def _departments(s: Session, row: dict[str, Any], tz: ZoneInfo, report: ImportReport) -> None:
    name = _s(row["department"])
    dept = s.execute(select(Department).where(Department.name == name)).scalar() or Department(name=name)
    parent = _s(row.get("parent"))
    if parent == name:
        raise RowError("parent: a department cannot be its own parent")
    if parent:
        p = s.execute(select(Department).where(Department.name == parent)).scalar()
        if p is None:  # parents may come later in the file: create a placeholder, filled in later
            p = Department(name=parent)
            s.add(p)
            s.flush()
        dept.parent_id = p.id
    else:
        dept.parent_id = None
    dept.head_id = _s(row.get("head_id"))
    s.add(dept)


def _employees(s: Session, row: dict[str, Any], tz: ZoneInfo, report: ImportReport) -> None:
    emp_id = _s(row["employee_id"])
    emp = s.get(Employee, emp_id) or Employee(id=emp_id, name="")
    emp.name = _s(row["name"])
    emp.department_id = _dept_id(s, _s(row.get("department")))
    emp.manager_id = _s(row.get("manager_id"))
    if emp.manager_id == emp_id:
        raise RowError("manager_id: an employee cannot manage themselves")
    emp.role = _choice(row, "role", ROLES, "employee")
    emp.hrbp_id = _s(row.get("hrbp_id"))
    emp.wecom_userid = _s(row.get("wecom_userid"))
    emp.dingtalk_userid = _s(row.get("dingtalk_userid"))
    cap = _num(row, "weekly_capacity_hours")
    emp.weekly_capacity_hours = 40.0 if cap is None else cap
    if cap is not None and not 0 <= cap <= 80:
        raise RowError("weekly_capacity_hours: must be between 0 and 80")
    email = _s(row.get("email"))
    if email and "@" not in email:
        raise RowError(f"email: not an e-mail address: {email!r}")
    emp.email = email
    emp.active = True
    s.add(emp)


def _goals(s: Session, row: dict[str, Any], tz: ZoneInfo, report: ImportReport) -> None:
    goal_id = _s(row["goal_id"])
    existing = s.get(Goal, goal_id)
    g = existing or Goal(id=goal_id, title="")
    g.title = _s(row["title"])
    g.level = _choice(row, "level", GOAL_LEVELS, "individual")
    g.kind = _choice(row, "kind", GOAL_KINDS, "kpi")
    g.owner_id = _s(row.get("owner_id"))
    _require_employee(s, g.owner_id, "owner_id")
    g.department_id = _dept_id(s, _s(row.get("department")))
    g.parent_id = _s(row.get("parent_goal_id"))
    if g.parent_id and g.parent_id == goal_id:
        raise RowError("parent_goal_id: a goal cannot be its own parent")
    if g.parent_id and s.get(Goal, g.parent_id) is None:
        raise RowError(f"parent_goal_id: unknown goal {g.parent_id!r} (list parents first)")
    weight = _num(row, "weight")
    g.weight = 1.0 if weight is None else weight
    if g.weight < 0:
        raise RowError("weight: must not be negative")
    target, current = _num(row, "target"), _num(row, "current")
    if existing is not None and (target, current) != (g.target, g.current):
        g.version += 1  # pending adjustment requests on the old numbers must not apply blindly
    g.target, g.current = target, current
    g.unit = _s(row.get("unit")) or ""
    g.period_start, g.period_end = _date(row, "period_start"), _date(row, "period_end")
    if g.period_start and g.period_end and g.period_end < g.period_start:
        raise RowError("period_end: before period_start")
    g.higher_is_better = _bool(row, "higher_is_better", True)
    s.add(g)


def _tasks(s: Session, row: dict[str, Any], tz: ZoneInfo, report: ImportReport) -> None:
    task_id = _s(row["task_id"])
    t = s.get(Task, task_id) or Task(id=task_id, owner_id="", title="")
    t.owner_id = _s(row["owner_id"])
    _require_employee(s, t.owner_id, "owner_id")
    t.title = _s(row["title"])
    t.due_date = _date(row, "due_date")
    t.status = _choice(row, "status", TASK_STATUSES, "todo")
    t.goal_id = _s(row.get("goal_id"))
    if t.goal_id and s.get(Goal, t.goal_id) is None:
        raise RowError(f"goal_id: unknown goal {t.goal_id!r}")
    t.estimated_hours = _num(row, "estimated_hours")
    s.add(t)


def _visits(s: Session, row: dict[str, Any], tz: ZoneInfo, report: ImportReport) -> None:
    visit_id = _s(row["visit_id"])
    v = s.get(Visit, visit_id)
    is_new = v is None
    v = v or Visit(id=visit_id, employee_id="", customer="", ended_at=datetime.now(UTC))
    v.employee_id = _s(row["employee_id"])
    _require_employee(s, v.employee_id, "employee_id")
    v.customer = _s(row["customer"])
    v.ended_at = _datetime(row, "ended_at", tz)
    s.add(v)
    if is_new:
        report.new_visits.append(visit_id)


def _metrics(s: Session, row: dict[str, Any], tz: ZoneInfo, report: ImportReport) -> None:
    goal_id = _s(row["goal_id"])
    if s.get(Goal, goal_id) is None:
        raise RowError(f"goal_id: unknown goal {goal_id!r}")
    d, value = _date(row, "date"), _num(row, "value")
    m = s.execute(select(MetricValue).where(MetricValue.goal_id == goal_id, MetricValue.date == d)).scalar()
    m = m or MetricValue(goal_id=goal_id, date=d, value=value)
    m.value = value
    s.add(m)


def _worklogs(s: Session, row: dict[str, Any], tz: ZoneInfo, report: ImportReport) -> None:
    emp_id = _s(row["employee_id"])
    _require_employee(s, emp_id, "employee_id")
    d, content = _date(row, "date"), _s(row["content"])
    h = hashlib.sha256(content.encode()).hexdigest()
    exists = s.execute(select(WorkLog.id).where(WorkLog.employee_id == emp_id, WorkLog.date == d,
                                                WorkLog.content_hash == h)).first()
    if not exists:
        s.add(WorkLog(employee_id=emp_id, date=d, content=content, content_hash=h))


WRITERS: dict[str, Callable[[Session, dict[str, Any], ZoneInfo, ImportReport], None]] = {
    "departments": _departments, "employees": _employees, "goals": _goals, "tasks": _tasks,
    "visits": _visits, "metrics": _metrics, "worklogs": _worklogs,
}


# -- sources ------------------------------------------------------------------------------------
def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            yield reader.line_num, row


def _xlsx_sheets(path: Path) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    sheets: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            continue
        cols = [str(h).strip() if h is not None else "" for h in header]
        data = []
        for n, values in enumerate(rows, start=2):
            if values is None or all(v is None for v in values):
                continue
            data.append((n, dict(zip(cols, values, strict=False))))
        sheets[ws.title.strip().lower()] = data
    wb.close()
    return sheets


def import_path(db: Database, path: Path, tz: ZoneInfo | None = None) -> ImportReport:
    tz = tz or ZoneInfo("Asia/Shanghai")
    report = ImportReport()
    if path.is_dir():
        sources = {name: (f"{name}.csv", list(_csv_rows(path / f"{name}.csv")))
                   for name in COLUMNS if (path / f"{name}.csv").exists()}
        if not sources:
            report.errors.append(f"{path}: no known CSV files ({', '.join(n + '.csv' for n in COLUMNS)})")
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = _xlsx_sheets(path)
        sources = {name: (f"{path.name}[{name}]", sheets[name]) for name in COLUMNS if name in sheets}
    elif path.suffix.lower() == ".csv" and path.stem in COLUMNS:
        sources = {path.stem: (path.name, list(_csv_rows(path)))}
    else:
        report.errors.append(f"{path}: expected a folder of CSV files, one known CSV file or an .xlsx workbook")
        return report
    for name in COLUMNS:  # parents before children
        if name in sources:
            label, rows = sources[name]
            _load(db, name, label, rows, tz, report)
    return report


def _load(db: Database, name: str, label: str, rows: list[tuple[int, dict[str, Any]]], tz: ZoneInfo,
          report: ImportReport) -> None:
    if rows:
        missing = [c for c in REQUIRED[name] if c not in rows[0][1]]
        if missing:
            report.errors.append(f"{label}:1: missing column(s) {', '.join(missing)}")
            return
    writer = WRITERS[name]
    ok = 0
    with db.session() as s:
        for line, row in rows:
            row = {k.strip() if isinstance(k, str) else k: v for k, v in row.items() if k is not None}
            empty = [c for c in REQUIRED[name] if _s(row.get(c)) is None]
            if empty:
                report.errors.append(f"{label}:{line}: empty required column(s) {', '.join(empty)}")
                continue
            sp = s.begin_nested()
            seen_visits = len(report.new_visits)
            try:
                writer(s, row, tz, report)
                s.flush()
                sp.commit()
                ok += 1
            except RowError as exc:
                sp.rollback()
                del report.new_visits[seen_visits:]
                report.errors.append(f"{label}:{line}: {exc}")
            except Exception as exc:  # constraint violations, e.g. a duplicate WeCom id
                sp.rollback()
                del report.new_visits[seen_visits:]
                reason = str(getattr(exc, "orig", exc)).splitlines()[0]
                report.errors.append(f"{label}:{line}: rejected by the database: {reason}")
    report.loaded[name] = ok
