"""Stored data that makes each alert rule hold mildly, worse, or not at all, as of MONDAY (the scan
time of the alert tests). Each step writes absolute state, so steps can be applied in any order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select

from storage.db import Database
from storage.models import Goal, MetricValue, Task, WorkLog
from tests.conftest import TZ

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)  # the scan's "as of": ISO week 2026-W49


def _goal_current(goal_id: str, value: float) -> Callable[[Database], None]:
    def apply(db: Database) -> None:
        with db.session() as s:
            g = s.get(Goal, goal_id)
            assert g is not None
            g.current = value
            s.add(g)
    return apply


def _metrics(goal_id: str, values: dict[date, float]) -> Callable[[Database], None]:
    def apply(db: Database) -> None:
        with db.session() as s:
            s.execute(delete(MetricValue).where(MetricValue.goal_id == goal_id))
            for d, v in values.items():
                s.add(MetricValue(goal_id=goal_id, date=d, value=v))
    return apply


BASE = {date(2026, 8, 20): 100.0, date(2026, 9, 20): 100.0, date(2026, 10, 20): 100.0, date(2026, 11, 5): 100.0}


def _last_log(emp: str, *days: date) -> Callable[[Database], None]:
    def apply(db: Database) -> None:
        with db.session() as s:
            s.execute(delete(WorkLog).where(WorkLog.employee_id == emp))
            for d in days:
                s.add(WorkLog(employee_id=emp, date=d, content="整理需求文档", content_hash=f"h{d}"))
    return apply


WEEK_TASKS = {"TA1": (20.0, date(2026, 12, 1)), "TA2": (14.0, date(2026, 12, 3)), "TA3": (16.0, date(2026, 12, 4))}


def _tasks(emp: str, **status: str) -> Callable[[Database], None]:
    """E101's open demo tasks due that week are cancelled; TA1–TA3 get the given statuses."""
    def apply(db: Database) -> None:
        with db.session() as s:
            for t in s.execute(select(Task).where(Task.owner_id == emp, Task.due_date >= date(2026, 11, 30),
                                                  Task.due_date <= date(2026, 12, 6))).scalars():
                if t.id not in WEEK_TASKS:
                    t.status = "cancelled"
                    s.add(t)
            for tid, (hours, due) in WEEK_TASKS.items():
                t = s.get(Task, tid) or Task(id=tid, owner_id=emp, title=f"交付任务{tid}", due_date=due,
                                              estimated_hours=hours)
                t.status = status.get(tid, "cancelled")
                s.add(t)
    return apply


@dataclass(frozen=True)
class Scenario:
    rule: str
    title: str  # on the alert card's title
    to: tuple[str, ...]  # employee ids the alert goes to (first one acts on it)
    mild: Callable[[Database], None]
    worse: Callable[[Database], None]
    clear: Callable[[Database], None]
    mild_text: str  # in the card when mild
    worse_text: str  # in the card when worse

    def __str__(self) -> str:
        return self.rule


SCENARIOS = [
    Scenario("attainment", "目标达成预警 · 研发部", ("E200", "E002", "E003"),
             _goal_current("G-D2", 45), _goal_current("G-D2", 30), _goal_current("G-D2", 90),
             "研发部加权达成率 47%，时间进度 66%，进度比 71%（黄灯）", "进度比 48%（红灯）"),
    Scenario("baseline", "指标低于基线 · 张伟", ("E100",),
             _metrics("G-E101", {**BASE, date(2026, 11, 20): 82, date(2026, 11, 27): 80}),
             _metrics("G-E101", {**BASE, date(2026, 11, 20): 82, date(2026, 11, 27): 60}),
             _metrics("G-E101", {**BASE, date(2026, 11, 20): 82, date(2026, 11, 27): 95}),
             "最近一周 80家，基线 100，偏离 20%", "最近一周 60家，基线 100，偏离 40%"),
    Scenario("worklog", "工作日志未更新 · 彭飞", ("E200",),
             _last_log("E203", date(2026, 8, 15)), _last_log("E203", date(2026, 7, 10)),
             _last_log("E203", date(2026, 7, 10), date(2026, 11, 20)),
             "彭飞已连续 2 个自然月（9月、10月）没有工作日志", "彭飞已连续 3 个自然月（8月、9月、10月）没有工作日志"),
    Scenario("capacity", "工作负荷超限 · 张伟", ("E100", "E101"),
             _tasks("E101", TA1="todo", TA2="doing"), _tasks("E101", TA1="todo", TA2="doing", TA3="todo"),
             _tasks("E101", TA1="done", TA2="doing"),
             "共 34 小时，占周产能 40 小时的 85%", "共 50 小时，占周产能 40 小时的 125%"),
]
