"""Team views (「我们组谁还没交周报」「团队的任务完成情况」「团队KPI」「谁的任务逾期了」).

Who sees whom: a manager their direct reports; a director (whose reports manage others) the whole
subtree, grouped by team; an HRBP the people they support, grouped by team. Views show status only
(submitted or not, counts, attainment): the raw check-in text stays on the manager's review cards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from handlers.common.calendar import month_day as md
from handlers.common.calendar import week_key
from handlers.common.goals import attainment, goals_of
from handlers.qa import store as queries
from handlers.qa.answers import CHECKIN_STATUS, period_text, task_window, wants_overdue
from nlp.period import Period
from storage.db import Database
from storage.models import Employee

TEAM_INTENTS = ("tasks_left", "checkin_status", "goal_progress")
_TEAM = re.compile(r"我们组|我们团队|我们部门|我们的团队|团队|组里|组内|组员|全组|下属|手下|部门|大家|"
                   r"谁|哪些人|哪几个人|哪位|各位|成员|team")
NO_TEAM = "团队视图只对有下属的主管和 HRBP 开放。你可以问「本月还有哪些任务没完成」「我的KPI进度」查看自己的情况。"
MAX_PEOPLE = 60


# 团队的任务完成情况: for one person 任务完成情况 usually means their quota (goal_progress, as the
# corpus reads it), but a manager naming tasks and no target wants the team's task list.
_TASK_WORDS = re.compile(r"任务|待办|工作项")
_GOAL_WORDS = re.compile(r"kpi|okr|指标|目标|业绩|达成|签约|销售额|回款")


def is_team_question(text: str) -> bool:
    t = text.lower()
    return _TEAM.search(t) is not None and re.search(r"我的|我自己|我本人", t) is None


@dataclass
class Team:
    members: list[Employee]
    grouped: bool  # director / HRBP: group the lines by team
    status_only: bool  # HRBP: counts and status, no task titles
    teams: dict[int, str]


def team_of(db: Database, me: Employee) -> Team | None:
    reports = queries.subtree(db, me.id)
    direct = [e for e in reports if e.manager_id == me.id]
    if reports:
        return Team(reports[:MAX_PEOPLE], len(reports) > len(direct), False, _teams(db, reports))
    if me.role in ("hr", "admin"):
        supported = queries.supported_by(db, me.id)
        if supported:
            return Team(supported[:MAX_PEOPLE], True, True, _teams(db, supported))
    return None


def _teams(db: Database, people: list[Employee]) -> dict[int, str]:
    return queries.department_names(db, {e.department_id for e in people if e.department_id is not None})


def _render(team: Team, head: str, line: Callable[[Employee], str | None], empty: str) -> str:
    rows: dict[str, list[str]] = {}
    for e in team.members:
        text = line(e)
        if text is not None:
            rows.setdefault(team.teams.get(e.department_id or -1, "其他") if team.grouped else "", []).append(text)
    if not rows:
        return f"{head}\n{empty}"
    out = [head]
    for name, lines in rows.items():
        if name:
            out.append(f"【{name}】")
        out += [f"· {x}" for x in lines]
    return "\n".join(out)


def _checkin_week(db: Database, team: Team, p: Period, today: date) -> tuple[str, date, str]:
    if p.start is not None and p.end is not None:
        monday = p.start - timedelta(days=p.start.weekday())
        return week_key(monday), monday, period_text(p, today)
    monday = today - timedelta(days=today.weekday())
    rows = queries.week_checkins(db, [e.id for e in team.members], week_key(monday))
    if any(c.pushed_at is not None or c.status != "pending" for c in rows.values()):
        return week_key(monday), monday, "本周"
    monday -= timedelta(days=7)  # this week's check-in has not started yet: the last one
    return week_key(monday), monday, "上周"


def checkin_view(db: Database, team: Team, p: Period, today: date) -> str:
    week, monday, label = _checkin_week(db, team, p, today)
    rows = queries.week_checkins(db, [e.id for e in team.members], week)
    done = [e for e in team.members if rows.get(e.id) is not None and rows[e.id].status == "submitted"]
    head = (f"{label}（{md(monday)}–{md(monday + timedelta(days=6))}）周复盘：已提交 {len(done)}/{len(team.members)} 人")

    def line(e: Employee) -> str | None:
        c = rows.get(e.id)
        if c is not None and c.status == "submitted":
            return None
        state = CHECKIN_STATUS.get(c.status, c.status) if c is not None else "未提交"
        return f"{e.name}：{state}"

    return _render(team, head + ("，未提交的有：" if len(done) < len(team.members) else "。"), line,
                   "全员都交了 👍")


def tasks_view(db: Database, team: Team, p: Period, today: date, text: str) -> str:
    ids = [e.id for e in team.members]
    if wants_overdue(text):
        counts = queries.task_counts(db, ids, today, today)
        late_people = [e for e in team.members if counts.get(e.id, (0, 0, None))[1]]
        head = f"团队逾期任务：{len(late_people)} 人有逾期" if late_people else "团队逾期任务："

        def late_line(e: Employee) -> str | None:
            _n, late, oldest = counts.get(e.id, (0, 0, None))
            if not late:
                return None
            days = f"，最早的已逾期 {(today - oldest).days} 天" if oldest else ""
            titles = "" if team.status_only else "：" + "；".join(t.title for t in queries.overdue_titles(db, e.id, today))
            return f"{e.name} {late} 项{days}{titles}"

        return _render(team, head, late_line, "没有逾期任务 👍")
    _start, end, _undated, label = task_window(p, today)
    counts = queries.task_counts(db, ids, today, end)
    total = sum(n for n, _late, _o in counts.values())
    late_total = sum(late for _n, late, _o in counts.values())
    head = f"团队{label}未完成任务 {total} 项" + (f"，其中逾期 {late_total} 项" if late_total else "") + "："

    def line(e: Employee) -> str | None:
        n, late, _oldest = counts.get(e.id, (0, 0, None))
        return f"{e.name}：{n} 项未完成" + (f"（逾期 {late} 项）" if late else "") if n else f"{e.name}：都完成了 ✅"

    return _render(team, head, line, "")


def kpi_view(db: Database, team: Team, today: date) -> str:
    def line(e: Employee) -> str | None:
        rated = [(g, a) for g in goals_of(db, e.id, today) if (a := attainment(g)) is not None][:2]
        if not rated:
            return f"{e.name}：未设置 KPI"
        parts = [f"{g.title} {g.current:g}/{g.target:g}{g.unit}（{a * 100:.0f}%）" for g, a in rated]
        return f"{e.name}：" + "；".join(parts)

    return _render(team, "团队 KPI 完成情况：", line, "")


def answer_team(db: Database, me: Employee, intent: str, p: Period, today: date, text: str) -> str:
    team = team_of(db, me)
    if team is None:
        return NO_TEAM
    if intent == "checkin_status":
        return checkin_view(db, team, p, today)
    if intent == "goal_progress" and not (_TASK_WORDS.search(text) and not _GOAL_WORDS.search(text.lower())):
        return kpi_view(db, team, today)
    return tasks_view(db, team, p, today, text)


def hrbp_status(db: Database, emp: Employee, intent: str, p: Period, today: date, text: str) -> str:
    """An HRBP asking about one person they support: status only (never the check-in text or task titles)."""
    one = Team([emp], False, True, {})
    if intent == "checkin_status":
        week, monday, label = _checkin_week(db, one, p, today)
        c = queries.week_checkins(db, [emp.id], week).get(emp.id)
        if c is None or (c.status == "pending" and c.pushed_at is None):
            state = "还没开始（填写卡片尚未发出）"
        else:
            state = CHECKIN_STATUS.get(c.status, c.status)
        return f"{emp.name}{label}（{md(monday)}–{md(monday + timedelta(days=6))}）的周复盘：{state}。（内容仅主管可见）"
    if intent == "goal_progress":
        return kpi_view(db, one, today).replace("团队 KPI 完成情况：\n· ", "")
    _start, end, _undated, label = task_window(p, today)
    n, late, _oldest = queries.task_counts(db, [emp.id], today, None if wants_overdue(text) else end).get(
        emp.id, (0, 0, None))
    if wants_overdue(text):
        return f"{emp.name}有 {late} 项逾期任务。" if late else f"{emp.name}没有逾期任务。"
    return f"{emp.name}{label}未完成任务 {n} 项" + (f"，其中逾期 {late} 项。" if late else "。")
