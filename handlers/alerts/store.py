"""Every query of the alerts feature: the data the rules read, and the alert lifecycle
(deduplication, acknowledge, snooze, clear). All access goes through ``db.session()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import Alert, Department, Employee, Goal, MetricValue, Task, WorkLog

ACTIVE = ("open", "acknowledged", "snoozed")
OPEN_TASK = ("todo", "doing")
HISTORY_MAX = 8


@dataclass
class Finding:
    """One condition found by a rule in one scan."""

    rule: str
    subject: str
    level: int
    figure: float
    evidence: dict[str, Any]
    recipients: list[str]
    manager_id: str | None
    employee_id: str | None = None
    department_id: int | None = None


@dataclass
class Snapshot:
    """What the rules read, loaded once per scan."""

    people: dict[str, Employee]
    departments: dict[int, Department]
    goals: list[Goal]
    metrics: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    last_log: dict[str, date] = field(default_factory=dict)
    week_tasks: dict[str, list[Task]] = field(default_factory=dict)
    _hr: list[str] | None = field(default=None, init=False, repr=False)
    _by_department: dict[int | None, list[Goal]] | None = field(default=None, init=False, repr=False)

    def hr_ids(self) -> list[str]:
        """Active HR people, sorted (computed once: every department's finding asks)."""
        if self._hr is None:
            self._hr = sorted(e.id for e in self.people.values() if e.role == "hr" and e.active)
        return self._hr

    def department_goals(self, department_id: int) -> list[Goal]:
        """The goals of one department, in id order (grouped once: a scan over every department must not
        read every goal per department, which took 79 s for 20,000 people)."""
        if self._by_department is None:
            self._by_department = {}
            for g in self.goals:
                self._by_department.setdefault(g.department_id, []).append(g)
        return self._by_department.get(department_id, [])


def snapshot(db: Database, metrics_since: date, week_start: date, week_end: date) -> Snapshot:
    """People, departments, goals, metric values since ``metrics_since``, each person's latest work
    log and their open tasks due in ``[week_start, week_end]``."""
    with db.session() as s:
        people = {e.id: e for e in s.execute(select(Employee)).scalars()}
        depts = {d.id: d for d in s.execute(select(Department)).scalars() if d.id is not None}
        goals = list(s.execute(select(Goal).order_by(Goal.id)).scalars())
        metrics: dict[str, list[tuple[date, float]]] = {}
        for m in s.execute(select(MetricValue).where(MetricValue.date >= metrics_since)
                           .order_by(MetricValue.goal_id, MetricValue.date)).scalars():
            metrics.setdefault(m.goal_id, []).append((m.date, m.value))
        last_log = {eid: d for eid, d in s.execute(
            select(WorkLog.employee_id, func.max(WorkLog.date)).group_by(WorkLog.employee_id)).all()}
        tasks: dict[str, list[Task]] = {}
        for t in s.execute(select(Task).where(Task.status.in_(OPEN_TASK), Task.due_date >= week_start,
                                              Task.due_date <= week_end)
                           .order_by(Task.owner_id, Task.due_date, Task.id)).scalars():
            tasks.setdefault(t.owner_id, []).append(t)
    return Snapshot(people, depts, goals, metrics, last_log, tasks)


# -- lifecycle ----------------------------------------------------------------------------------
def _history(alert: Alert, week: str, figure: float) -> list[dict[str, Any]]:
    hist = [h for h in alert.evidence.get("history", []) if h.get("week") != week]
    return [*hist, {"week": week, "figure": round(figure, 4)}][-HISTORY_MAX:]


def record(db: Database, f: Finding, week: str, now: datetime) -> tuple[Alert, bool]:
    """Store a finding. Returns (alert, notify): notify when the condition is new, worse than the
    worst level notified so far, or its snooze has run out."""
    for _attempt in range(2):
        with db.session() as s:
            a = s.execute(select(Alert).where(Alert.rule == f.rule, Alert.subject == f.subject,
                                              Alert.cleared_at.is_(None))).scalar()
            if a is not None:
                notify = f.level > a.level
                if a.status == "snoozed":
                    notify = a.snoozed_until is None or a.snoozed_until <= now
                evidence = dict(f.evidence)
                evidence["history"] = _history(a, week, f.figure)
                a.evidence, a.figure, a.recipients, a.manager_id = evidence, f.figure, f.recipients, f.manager_id
                a.updated_at = now
                if notify:
                    a.level, a.status, a.snoozed_until = max(a.level, f.level), "open", None
                    a.fired, a.last_fired_at = a.fired + 1, now
                s.add(a)
                return a, notify
        try:
            # A savepoint: a refused insert must not abort the job's whole PostgreSQL transaction.
            with db.session() as s, s.begin_nested():
                a = Alert(rule=f.rule, subject=f.subject, employee_id=f.employee_id, department_id=f.department_id,
                          manager_id=f.manager_id, recipients=f.recipients, level=f.level, figure=f.figure,
                          evidence={**f.evidence, "history": [{"week": week, "figure": round(f.figure, 4)}]},
                          status="open", fired=1, created_at=now, updated_at=now, last_fired_at=now)
                s.add(a)
            return a, True
        except IntegrityError:  # recorded concurrently: update it on the second pass
            continue
    raise RuntimeError(f"could not record alert {f.rule}:{f.subject}")


def clear_others(db: Database, rule: str, found: set[str], now: datetime) -> list[Alert]:
    """Clear the active alerts of ``rule`` whose condition this scan did not find."""
    with db.session() as s:
        gone = [a for a in s.execute(select(Alert).where(Alert.rule == rule, Alert.cleared_at.is_(None))).scalars()
                if a.subject not in found]
        for a in gone:
            a.status, a.cleared_at, a.updated_at = "cleared", now, now
            s.add(a)
        return gone


def get(db: Database, alert_id: int) -> Alert | None:
    with db.session() as s:
        return s.get(Alert, alert_id)


def set_status(db: Database, alert_id: int, status: str, by: str, now: datetime,
               until: datetime | None = None) -> tuple[Alert | None, bool]:
    """Acknowledge or snooze an active alert. Returns (alert, changed)."""
    if status not in ("acknowledged", "snoozed"):
        raise ValueError(f"alert status must be acknowledged or snoozed, not {status!r}")
    with db.session() as s:
        a = s.get(Alert, alert_id)
        if a is None or a.cleared_at is not None:
            return a, False
        if a.status == status and status == "acknowledged":
            return a, False
        a.status, a.handled_by, a.updated_at = status, by, now
        a.snoozed_until = until if status == "snoozed" else None
        s.add(a)
        return a, True


def active(db: Database, recipient: str | None = None, manager_id: str | None = None) -> list[Alert]:
    """Active alerts (worst first), optionally those sent to ``recipient`` or owned by ``manager_id``."""
    q = select(Alert).where(Alert.cleared_at.is_(None))
    if manager_id is not None:  # in SQL: a Monday's battle map asks once per manager
        q = q.where(Alert.manager_id == manager_id)
    with db.session() as s:
        rows = list(s.execute(q.order_by(Alert.level.desc(), Alert.created_at, Alert.id)).scalars())
    rows.sort(key=lambda a: a.evidence.get("color") != "red")  # red first (stable: then by level)
    if recipient is not None:  # a JSON list: no portable SQL test for membership
        rows = [a for a in rows if recipient in a.recipients]
    return rows


def recently_cleared(db: Database, since: datetime) -> list[Alert]:
    with db.session() as s:
        return list(s.execute(select(Alert).where(Alert.cleared_at >= since).order_by(Alert.id)).scalars())


def people(db: Database, ids: list[str]) -> dict[str, Employee]:
    if not ids:
        return {}
    with db.session() as s:
        return {e.id: e for e in s.execute(select(Employee).where(Employee.id.in_(ids))).scalars()}


def department_names(db: Database) -> dict[int, str]:
    with db.session() as s:
        return {d.id: d.name for d in s.execute(select(Department)).scalars() if d.id is not None}
