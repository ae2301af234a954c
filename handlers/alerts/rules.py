"""The four warning rules, as pure functions of a :class:`~handlers.alerts.store.Snapshot`.

Each returns the conditions that hold as of ``today`` (a local date); a finding's ``level`` grows as
the condition worsens, which is what re-notifies an alert that was already sent (see ``store.record``).

* **attainment** — per department, weighted attainment (each goal capped at 100%) over weighted time
  elapsed of the goals open today: the department's own (``level = department``) goals, else its
  people's individual goals. Below ``alert_attainment_yellow_percent`` yellow (level 1), below
  ``alert_attainment_red_percent`` red (level 2, +1 per further step of the yellow–red gap). Goals less
  than 10% into their period are left out. To the department head and HR.
* **baseline** — a goal's metric in each of the last ``alert_baseline_weeks`` complete weeks (its latest
  value that week) is at least ``alert_baseline_drop_percent`` worse than its baseline, the mean of its
  values in the ``alert_baseline_months`` months before those weeks (worse = lower, or higher when
  ``higher_is_better`` is false). Level 1, +1 per further 10 points. To the goal owner's manager.
* **worklog** — an active employee who has written work logs before has none in at least
  ``alert_worklog_months`` complete calendar months since the last one. Level = months missed. To the
  direct manager.
* **capacity** — open task hours (todo/doing, ``estimated_hours``) due in the current ISO week above
  ``alert_capacity_percent`` of ``weekly_capacity_hours``. Level 1, +1 per further 20 points. To the
  person and the manager, with the colliding tasks.

Colours: attainment as above; baseline red from twice the drop threshold; work log red after one more
month than the threshold; capacity red above 100%.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from handlers.alerts.store import Finding, Snapshot
from handlers.common.calendar import week_key, week_monday
from handlers.common.goals import attainment as goal_attainment
from storage.models import Goal

MIN_ELAPSED = 0.10
BASELINE_STEP = 0.10
CAPACITY_STEP = 0.20
TREND_WEEKS = 6


def months_before(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 - n
    return date(m // 12, m % 12 + 1, min(d.day, 28))


def _recipients(snap: Snapshot, *ids: str | None) -> list[str]:
    """The active people among ``ids``, once each, in order."""
    return list(dict.fromkeys(i for i in ids if i and i in snap.people and snap.people[i].active))


# -- department attainment --------------------------------------------------------------------------
def _elapsed(g: Goal, today: date) -> float | None:
    if g.period_start is None or g.period_end is None or not g.period_start <= today <= g.period_end:
        return None
    return min(1.0, ((today - g.period_start).days + 1) / ((g.period_end - g.period_start).days + 1))


def attainment(snap: Snapshot, today: date, policy: Any) -> list[Finding]:
    yellow = policy.alert_attainment_yellow_percent / 100
    red = policy.alert_attainment_red_percent / 100
    step = yellow - red
    out = []
    for dept in snap.departments.values():
        own = snap.department_goals(dept.id)
        goals = [g for g in own if g.level == "department"] or [g for g in own if g.level == "individual"]
        rows = []
        for g in goals:
            a, e = goal_attainment(g), _elapsed(g, today)
            if a is None or e is None or e < MIN_ELAPSED or (g.weight or 0) <= 0:
                continue
            rows.append((g, min(a, 1.0), e))
        if not rows:
            continue
        total = sum(g.weight for g, _, _ in rows)
        att = sum(g.weight * a for g, a, _ in rows) / total
        elapsed = sum(g.weight * e for g, _, e in rows) / total
        ratio = att / elapsed
        if ratio >= yellow:
            continue
        level = 1 if ratio >= red else 2 + int((red - ratio) / step)
        worst = sorted(rows, key=lambda r: r[1] / r[2])[:5]
        out.append(Finding(
            "attainment", f"dept:{dept.id}", level, ratio,
            {"who": dept.name, "attainment": round(att, 4), "elapsed": round(elapsed, 4), "ratio": round(ratio, 4),
             "color": "red" if ratio < red else "yellow", "goals": [
                 {"id": g.id, "title": g.title, "owner": snap.people[g.owner_id].name if g.owner_id in snap.people
                  else "", "attainment": round(a, 4), "elapsed": round(e, 4)} for g, a, e in worst]},
            _recipients(snap, dept.head_id, *snap.hr_ids()), dept.head_id, department_id=dept.id))
    return out


# -- below baseline ----------------------------------------------------------------------------------
def baseline(snap: Snapshot, today: date, policy: Any) -> list[Finding]:
    thr = policy.alert_baseline_drop_percent / 100
    this_week = week_monday(today)
    windows = [(this_week - timedelta(weeks=k), this_week - timedelta(weeks=k) + timedelta(days=6))
               for k in range(policy.alert_baseline_weeks, 0, -1)]
    base_from, base_to = months_before(windows[0][0], policy.alert_baseline_months), windows[0][0]
    out = []
    for g in snap.goals:
        series = snap.metrics.get(g.id)
        owner = snap.people.get(g.owner_id or "")
        if not series or owner is None or not owner.active or not _recipients(snap, owner.manager_id):
            continue
        base_vals = [v for d, v in series if base_from <= d < base_to]
        if not base_vals:
            continue
        base = sum(base_vals) / len(base_vals)
        if base == 0:
            continue
        weeks = []
        for ws, we in windows:
            vals = [v for d, v in series if ws <= d <= we]
            if not vals:
                break
            dev = (base - vals[-1]) / abs(base) if g.higher_is_better else (vals[-1] - base) / abs(base)
            weeks.append({"week": week_key(ws), "value": vals[-1], "deviation": round(dev, 4)})
        if len(weeks) < len(windows) or min(w["deviation"] for w in weeks) < thr:
            continue
        dev = weeks[-1]["deviation"]
        level = 1 + int((dev - thr) / BASELINE_STEP + 1e-9)
        trend: dict[str, float] = {}
        for d, v in series:
            if d <= windows[-1][1] and d >= this_week - timedelta(weeks=TREND_WEEKS):
                trend[week_key(d)] = v
        out.append(Finding(
            "baseline", f"goal:{g.id}", level, dev,
            {"who": owner.name, "color": "red" if dev >= 2 * thr else "yellow", "goal": g.title, "goal_id": g.id,
             "unit": g.unit, "higher_is_better": g.higher_is_better,
             "baseline": round(base, 2), "threshold": thr, "baseline_from": base_from.isoformat(), "weeks": weeks,
             "trend": [{"week": w, "value": v} for w, v in sorted(trend.items())]},
            [owner.manager_id], owner.manager_id, employee_id=owner.id, department_id=owner.department_id))
    return out


# -- no work log -------------------------------------------------------------------------------------
def worklog(snap: Snapshot, today: date, policy: Any) -> list[Finding]:
    out = []
    now_m = today.year * 12 + today.month - 1
    for eid, last in snap.last_log.items():
        emp = snap.people.get(eid)
        if emp is None or not emp.active or not _recipients(snap, emp.manager_id):
            continue
        missed = now_m - (last.year * 12 + last.month - 1) - 1
        if missed < policy.alert_worklog_months:
            continue
        months = [f"{(m % 12) + 1}月" for m in range(now_m - missed, now_m)]
        out.append(Finding(
            "worklog", f"emp:{eid}", min(missed, 12), float(missed),
            {"who": emp.name, "color": "red" if missed > policy.alert_worklog_months else "yellow",
             "last_log": last.isoformat(), "months": months[-6:]},
            [emp.manager_id], emp.manager_id, employee_id=eid, department_id=emp.department_id))
    return out


# -- over capacity -----------------------------------------------------------------------------------
def capacity(snap: Snapshot, today: date, policy: Any) -> list[Finding]:
    thr = policy.alert_capacity_percent / 100
    week = week_key(today)
    out = []
    for eid, tasks in snap.week_tasks.items():
        emp = snap.people.get(eid)
        if emp is None or not emp.active or emp.weekly_capacity_hours <= 0:
            continue
        hours = sum(t.estimated_hours or 0 for t in tasks)
        load = hours / emp.weekly_capacity_hours
        if load <= thr:
            continue
        level = 1 + int((load - thr) / CAPACITY_STEP + 1e-9)
        out.append(Finding(
            "capacity", f"emp:{eid}:{week}", level, load,
            {"who": emp.name, "color": "red" if load > 1 else "yellow", "week": week,
             "week_start": week_monday(today).isoformat(), "hours": hours,
             "capacity": emp.weekly_capacity_hours, "load": round(load, 4),
             "unestimated": sum(1 for t in tasks if t.estimated_hours is None),
             "tasks": [{"id": t.id, "title": t.title, "due": t.due_date.isoformat() if t.due_date else "",
                        "hours": t.estimated_hours, "status": t.status} for t in tasks]},
            _recipients(snap, eid, emp.manager_id), emp.manager_id or eid, employee_id=eid,
            department_id=emp.department_id))
    return out


RULES = {"attainment": attainment, "baseline": baseline, "worklog": worklog, "capacity": capacity}


def metrics_since(today: date, policy: Any) -> date:
    """The earliest metric date any rule reads as of ``today``."""
    first_week = week_monday(today) - timedelta(weeks=policy.alert_baseline_weeks)
    return min(months_before(first_week, policy.alert_baseline_months), week_monday(today) - timedelta(weeks=TREND_WEEKS))
