"""One row of an import or an ingest item: checked completely, then written.

``check(name, row, known)`` returns the clean values and *every* problem of the row as
``"column: reason"``; references are checked against ``Known`` (what the database holds plus what the
same import brings). ``write(session, name, clean)`` upserts the clean values and says whether the row
was ``"new"``, ``"updated"`` or ``"same"`` (identical to what is stored: an idempotent re-send).
The CSV/XLSX importer and the ingest API share both, so they accept and refuse the same things.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from storage.models import Department, Employee, Goal, MetricValue, Task, Visit, WorkLog
from storage.models.goals import GOAL_KINDS, GOAL_LEVELS, TASK_STATUSES
from storage.models.org import ROLES

# Entity -> its columns, in import order (parents first). Append new optional columns at the end.
COLUMNS: dict[str, list[str]] = {
    "departments": ["department", "parent", "head_id", "wecom_chat_id", "dingtalk_conversation_id"],
    "employees": ["employee_id", "name", "department", "manager_id", "role", "hrbp_id", "wecom_userid",
                  "dingtalk_userid", "weekly_capacity_hours", "email"],
    "goals": ["goal_id", "title", "level", "kind", "owner_id", "department", "parent_goal_id", "weight", "target",
              "current", "unit", "period_start", "period_end", "higher_is_better"],
    "tasks": ["task_id", "owner_id", "title", "due_date", "status", "goal_id", "estimated_hours"],
    "visits": ["visit_id", "employee_id", "customer", "ended_at"],
    "metrics": ["goal_id", "date", "value"],
    "worklogs": ["employee_id", "date", "content", "worklog_id"],
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
# The columns that identify a row: a second row with the same values in one file is a duplicate.
KEYS: dict[str, tuple[str, ...]] = {
    "departments": ("department",), "employees": ("employee_id",), "goals": ("goal_id",),
    "tasks": ("task_id",), "visits": ("visit_id",), "metrics": ("goal_id", "date"), "worklogs": ("worklog_id",),
}


@dataclass
class Known:
    """Ids a reference may point to: stored ones plus those the same import brings (``where`` they are)."""

    employees: dict[str, str | None] = field(default_factory=dict)  # id -> None (stored) or "file:line"
    departments: dict[str, str | None] = field(default_factory=dict)
    goals: dict[str, str | None] = field(default_factory=dict)
    platform_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (column, value) -> employee id
    rejected: dict[tuple[str, str], str] = field(default_factory=dict)  # (entity, id) -> "file:line"

    @classmethod
    def stored(cls, s: Session, active_only: bool = False) -> Known:
        """What the database holds (``active_only``: only active employees may be referred to)."""
        k = cls()
        for emp_id, wx, dt, active in s.execute(select(Employee.id, Employee.wecom_userid, Employee.dingtalk_userid,
                                                       Employee.active)):
            if active or not active_only:
                k.employees[emp_id] = None
            if wx:
                k.platform_ids[("wecom_userid", wx)] = emp_id
            if dt:
                k.platform_ids[("dingtalk_userid", dt)] = emp_id
        k.departments = {name: None for name in s.execute(select(Department.name)).scalars()}
        k.goals = {gid: None for gid in s.execute(select(Goal.id)).scalars()}
        return k

    def table(self, entity: str) -> dict[str, str | None]:
        return {"employees": self.employees, "departments": self.departments, "goals": self.goals}[entity]


MIN_YEAR = 2000


class Row:
    """Typed access to one row's values; every problem is collected in ``errors``."""

    def __init__(self, values: dict[str, Any], tz: ZoneInfo) -> None:
        self.values = {k.strip() if isinstance(k, str) else k: v for k, v in values.items() if k is not None}
        self.tz = tz
        self.errors: list[str] = []

    def err(self, col: str, reason: str) -> None:
        self.errors.append(f"{col}: {reason}")

    def text(self, col: str, max_len: int | None = None) -> str | None:
        v = self.values.get(col)
        if v is None or isinstance(v, (dict, list)):
            if v is not None:
                self.err(col, "expected a single value")
            return None
        s = str(v).strip()
        if max_len and len(s) > max_len:
            self.err(col, f"longer than {max_len} characters")
            return None
        return s or None

    def num(self, col: str, lo: float | None = None, hi: float | None = None) -> float | None:
        v = self.values.get(col)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            n = float(v)
        else:
            s = self.text(col)
            if s is None:
                return None
            try:
                n = float(s.replace(",", ""))
            except ValueError:
                self.err(col, f"not a number: {s!r}")
                return None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            self.err(col, f"must be between {lo:g} and {hi:g}" if hi is not None else f"must be at least {lo:g}")
            return None
        return n

    def day(self, col: str) -> date | None:
        v = self.values.get(col)
        if isinstance(v, datetime):
            return v.date()
        if isinstance(v, date):
            return v
        s = self.text(col)
        if s is None:
            return None
        try:
            d = date.fromisoformat(s.replace("/", "-"))
        except ValueError:
            self.err(col, f"not a date (YYYY-MM-DD): {s!r}")
            return None
        if d.year < MIN_YEAR:
            self.err(col, f"before {MIN_YEAR}: {s!r}")
            return None
        return d

    def moment(self, col: str) -> datetime | None:
        v = self.values.get(col)
        if isinstance(v, datetime):
            dt = v
        else:
            s = self.text(col)
            if s is None:
                return None
            try:
                dt = datetime.fromisoformat(s.replace("/", "-"))
            except ValueError:
                self.err(col, f"not a datetime (YYYY-MM-DD HH:MM): {s!r}")
                return None
        return (dt if dt.tzinfo else dt.replace(tzinfo=self.tz)).astimezone(UTC)

    def flag(self, col: str, default: bool) -> bool:
        v = self.values.get(col)
        if isinstance(v, bool):
            return v
        s = self.text(col)
        if s is None:
            return default
        if s.lower() in ("1", "true", "yes", "y", "是", "高"):
            return True
        if s.lower() in ("0", "false", "no", "n", "否", "低"):
            return False
        self.err(col, f"expected true/false: {s!r}")
        return default

    def choice(self, col: str, allowed: tuple[str, ...], default: str) -> str:
        s = self.text(col)
        if s is None:
            return default
        if s.lower() not in allowed:
            self.err(col, f"{s!r} is not one of {', '.join(allowed)}")
            return default
        return s.lower()

    def ref(self, col: str, entity: str, known: Known, max_len: int = 64) -> str | None:
        """A reference to an employee, department (by name) or goal that must exist."""
        s = self.text(col, max_len)
        if s is None or s in known.table(entity):
            return s
        what = {"employees": "employee", "departments": "department", "goals": "goal"}[entity]
        where = known.rejected.get((entity, s))
        if where:
            self.err(col, f"{what} {s!r} is rejected itself ({where})")
        else:
            hint = {"departments": " (add it to departments.csv)", "goals": ""}.get(entity, "")
            self.err(col, f"unknown {what} {s!r}{hint}")
        return None

    def ref_not_self(self, col: str, entity: str, known: Known, own_id: str | None, what: str,
                     max_len: int = 64) -> str | None:
        """A reference (parent, manager) that must exist and must not be the row itself."""
        s = self.text(col, max_len)
        if s and s == own_id:
            self.err(col, f"{what} cannot be its own {col.removesuffix('_id').replace('_', ' ')}")
            return None
        return self.ref(col, entity, known, max_len) if s else None


# -- checks: clean values of one row, or errors in row.errors -----------------------------------
def _departments(r: Row, k: Known) -> dict[str, Any]:
    name = r.text("department", 100)
    parent = r.ref_not_self("parent", "departments", k, name, "a department", 100)
    return {"name": name, "parent": parent, "head_id": r.ref("head_id", "employees", k),
            "wecom_chat_id": r.text("wecom_chat_id", 128),
            "dingtalk_conversation_id": r.text("dingtalk_conversation_id", 128)}


def _employees(r: Row, k: Known) -> dict[str, Any]:
    emp_id = r.text("employee_id", 64)
    manager = r.ref_not_self("manager_id", "employees", k, emp_id, "an employee")
    cap = r.num("weekly_capacity_hours", 0, 80)
    email = r.text("email", 200)
    if email and "@" not in email:
        r.err("email", f"not an e-mail address: {email!r}")
    clean = {"id": emp_id, "name": r.text("name", 64), "department": r.ref("department", "departments", k, 100),
             "manager_id": manager, "role": r.choice("role", ROLES, "employee"),
             "hrbp_id": r.ref("hrbp_id", "employees", k), "weekly_capacity_hours": 40.0 if cap is None else cap,
             "email": email}
    for col in ("wecom_userid", "dingtalk_userid"):
        v = r.text(col, 128)
        owner = k.platform_ids.get((col, v)) if v else None
        if owner and owner != emp_id:
            r.err(col, f"{v!r} already belongs to employee {owner!r}")
        clean[col] = v
    return clean


def _goals(r: Row, k: Known) -> dict[str, Any]:
    goal_id = r.text("goal_id", 64)
    parent = r.ref_not_self("parent_goal_id", "goals", k, goal_id, "a goal")
    start, end = r.day("period_start"), r.day("period_end")
    if start and end and end < start:
        r.err("period_end", "before period_start")
    weight = r.num("weight", 0)
    return {"id": goal_id, "title": r.text("title", 200), "level": r.choice("level", GOAL_LEVELS, "individual"),
            "kind": r.choice("kind", GOAL_KINDS, "kpi"), "owner_id": r.ref("owner_id", "employees", k),
            "department": r.ref("department", "departments", k, 100), "parent_id": parent,
            "weight": 1.0 if weight is None else weight, "target": r.num("target"), "current": r.num("current"),
            "unit": r.text("unit", 32) or "", "period_start": start, "period_end": end,
            "higher_is_better": r.flag("higher_is_better", True)}


def _tasks(r: Row, k: Known) -> dict[str, Any]:
    return {"id": r.text("task_id", 64), "owner_id": r.ref("owner_id", "employees", k),
            "title": r.text("title", 300), "due_date": r.day("due_date"),
            "status": r.choice("status", TASK_STATUSES, "todo"), "goal_id": r.ref("goal_id", "goals", k),
            "estimated_hours": r.num("estimated_hours", 0)}


def _visits(r: Row, k: Known) -> dict[str, Any]:
    return {"id": r.text("visit_id", 64), "employee_id": r.ref("employee_id", "employees", k),
            "customer": r.text("customer", 200), "ended_at": r.moment("ended_at")}


def _metrics(r: Row, k: Known) -> dict[str, Any]:
    return {"goal_id": r.ref("goal_id", "goals", k), "date": r.day("date"), "value": r.num("value")}


def _worklogs(r: Row, k: Known) -> dict[str, Any]:
    return {"employee_id": r.ref("employee_id", "employees", k), "date": r.day("date"),
            "content": r.text("content"), "external_id": r.text("worklog_id", 64)}


CHECKS: dict[str, Callable[[Row, Known], dict[str, Any]]] = {
    "departments": _departments, "employees": _employees, "goals": _goals, "tasks": _tasks,
    "visits": _visits, "metrics": _metrics, "worklogs": _worklogs,
}


def check(name: str, values: dict[str, Any], known: Known, tz: ZoneInfo) -> tuple[dict[str, Any], list[str]]:
    """The clean values of one row and all its problems (``"column: reason"``; empty = valid)."""
    r = Row(values, tz)
    for col in REQUIRED[name]:
        if r.text(col) is None and not any(e.startswith(f"{col}:") for e in r.errors):
            r.err(col, "required")
    clean = CHECKS[name](r, known)
    seen: set[str] = set()
    errors = [e for e in r.errors if not (e in seen or seen.add(e))]
    return clean, errors


# -- writers: upsert clean values ----------------------------------------------------------------
def _apply(obj: Any, values: dict[str, Any]) -> str:
    """Set ``values`` on ``obj``; "same" when nothing changed, else "updated"."""
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return "updated" if changed else "same"


def _dept(s: Session, name: str | None) -> int | None:
    if not name:
        return None
    d = s.execute(select(Department).where(Department.name == name)).scalar()
    if d is None:  # listed later in the same file: a placeholder, filled in by its own row
        d = Department(name=name)
        s.add(d)
        s.flush()
    return d.id


def _upsert(s: Session, obj: Any, new: Any, values: dict[str, Any]) -> str:
    status = "new" if obj is None else _apply(obj, values)
    if obj is None:
        obj = new
        _apply(obj, values)
    if status != "same":
        s.add(obj)
    return status


def write(s: Session, name: str, c: dict[str, Any]) -> str:
    """Upsert one clean row; "new", "updated" or "same"."""
    if name == "departments":
        d = s.execute(select(Department).where(Department.name == c["name"])).scalar()
        vals = {"parent_id": _dept(s, c["parent"]), "head_id": c["head_id"]}
        for col in ("wecom_chat_id", "dingtalk_conversation_id"):
            if c[col] or d is None:  # an empty cell keeps a group id set by the directory sync
                vals[col] = c[col]
        return _upsert(s, d, Department(name=c["name"]), vals)
    if name == "employees":
        e = s.get(Employee, c["id"])
        vals = {k: v for k, v in c.items() if k not in ("id", "department")
                and (v or e is None or k not in ("wecom_userid", "dingtalk_userid"))}  # empty keeps a synced id
        vals["department_id"], vals["active"] = _dept(s, c["department"]), True
        return _upsert(s, e, Employee(id=c["id"], name=c["name"]), vals)
    if name == "goals":
        g = s.get(Goal, c["id"])
        vals = {k: v for k, v in c.items() if k not in ("id", "department")}
        vals["department_id"] = _dept(s, c["department"])
        if g is not None and (c["target"], c["current"]) != (g.target, g.current):
            vals["version"] = g.version + 1  # pending adjustment requests on the old numbers must not apply blindly
        return _upsert(s, g, Goal(id=c["id"], title=c["title"]), vals)
    if name == "tasks":
        vals = {k: v for k, v in c.items() if k != "id"}
        return _upsert(s, s.get(Task, c["id"]), Task(id=c["id"], owner_id=c["owner_id"], title=c["title"]), vals)
    if name == "visits":
        vals = {k: v for k, v in c.items() if k != "id"}
        return _upsert(s, s.get(Visit, c["id"]), Visit(id=c["id"], **vals), vals)
    if name == "metrics":
        m = s.execute(select(MetricValue).where(MetricValue.goal_id == c["goal_id"],
                                                MetricValue.date == c["date"])).scalar()
        return _upsert(s, m, MetricValue(**c), {"value": c["value"]})
    h = hashlib.sha256(c["content"].encode()).hexdigest()
    vals = {**c, "content_hash": h}
    if c["external_id"]:
        w = s.execute(select(WorkLog).where(WorkLog.external_id == c["external_id"])).scalar()
    else:
        w = s.execute(select(WorkLog).where(WorkLog.employee_id == c["employee_id"], WorkLog.date == c["date"],
                                            WorkLog.content_hash == h)).scalar()
    return _upsert(s, w, WorkLog(**vals), vals)
