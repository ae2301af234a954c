"""Answers to questions, computed from the store for one subject (the asker or a direct report).

Each ``answer_<intent>(ask)`` returns friendly, concise Simplified Chinese. No chat objects here, so
the benchmark (tests/bench/bench_qa.py) times exactly what a user waits for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Any

from handlers.common.calendar import month_day, week_key
from handlers.common.goals import alignment, attainment, format_progress, goals_of
from handlers.qa import store as queries
from nlp.period import Period
from storage.db import Database
from storage.models import Employee, Goal

PERIOD_NAMES = {
    "this_week": "本周", "last_week": "上周", "this_month": "本月", "last_month": "上个月",
    "this_quarter": "本季度", "last_quarter": "上季度", "week_before_last": "上上周",
    "month_before_last": "上上个月", "quarter_before_last": "上上季度", "next_week": "下周",
    "next_month": "下个月", "next_quarter": "下季度", "this_year": "今年", "last_year": "去年", "next_year": "明年",
}
STATUS = {"todo": "待开始", "doing": "进行中"}
CHECKIN_STATUS = {"pending": "未提交", "answering": "填写中，未提交", "submitted": "已提交", "skipped": "已跳过"}
MAX_ITEMS = 15
WEEKDAYS = "一二三四五六日"


@dataclass
class Ask:
    db: Database
    subject: Employee
    period: Period
    today: date
    tz: tzinfo
    self_ask: bool = True
    policy: Any = None
    text: str = ""  # the question as asked (e.g. 「逾期」 narrows tasks to overdue ones)

    @property
    def who(self) -> str:
        return "你" if self.self_ask else self.subject.name


def period_text(p: Period, today: date) -> str:
    if p.label is None or p.start is None or p.end is None:
        return ""
    last = p.end - timedelta(days=1)
    year = f"{p.start.year}年" if p.start.year != today.year else ""
    if p.label in PERIOD_NAMES:
        return PERIOD_NAMES[p.label]
    if p.label.startswith("month:"):
        return f"{year}{p.start.month}月"
    if p.label.startswith("quarter:"):
        return f"{year}第{(p.start.month - 1) // 3 + 1}季度"
    if p.label == "until":
        return f"{month_day(last)}前"
    if p.label == "recent":
        return f"最近{(p.end - p.start).days}天"
    return f"{month_day(p.start)}–{month_day(last)}"


# -- tasks_left -------------------------------------------------------------------------------------
OVERDUE_WORDS = re.compile(r"逾期|过期|超期|拖期|过了截止|超过截止|overdue")


def wants_overdue(text: str) -> bool:
    return OVERDUE_WORDS.search(text.lower()) is not None


def task_window(p: Period, today: date) -> tuple[date | None, date | None, bool, str]:
    """(start, end, include undated, label) of "open tasks" for a period. One rule everywhere: a period
    that has not ended yet also carries the open tasks already overdue from before it (marked)."""
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    if p.start is None or p.end is None:  # default: this month
        return None, month_end, True, "本月（含已逾期）"
    if p.label == "until":
        return None, p.end, False, f"{period_text(p, today)}（含已逾期）"
    if p.start <= today < p.end:
        return None, p.end, False, f"{period_text(p, today)}（含已逾期）"
    return p.start, p.end, False, period_text(p, today)


def task_line(i: int, t: Any, today: date) -> str:
    due = "未设截止日期" if t.due_date is None else f"截止 {month_day(t.due_date)}（周{WEEKDAYS[t.due_date.weekday()]}）"
    late = f" · 已逾期 {(today - t.due_date).days} 天" if t.due_date is not None and t.due_date < today else ""
    return f"{i}. {t.title} · {due} · {STATUS.get(t.status, t.status)}{late}"


def answer_overdue(a: Ask) -> str:
    """Overdue = open and past due (due before today)."""
    tasks, total = queries.open_tasks(a.db, a.subject.id, None, a.today, limit=MAX_ITEMS)
    if total == 0:
        return f"{a.who}没有逾期任务" + (" 👍" if a.self_ask else "。")
    lines = [f"{a.who}有 {total} 项逾期任务："] + [task_line(i, t, a.today) for i, t in enumerate(tasks, 1)]
    if total > len(tasks):
        lines.append(f"……另有 {total - len(tasks)} 项未列出。")
    return "\n".join(lines)


def answer_tasks_left(a: Ask) -> str:
    if wants_overdue(a.text):
        return answer_overdue(a)
    start, end, undated, label = task_window(a.period, a.today)
    tasks, total = queries.open_tasks(a.db, a.subject.id, start, end, undated=undated, limit=MAX_ITEMS)
    if total == 0:
        return f"{a.who}{label}没有未完成的任务。" + (" 继续保持！" if a.self_ask else "")
    late = sum(1 for t in tasks if t.due_date is not None and t.due_date < a.today)
    head = f"{a.who}{label}还有 {total} 项任务未完成" + (f"，其中 {late} 项已逾期" if late else "") + "："
    lines = [head] + [task_line(i, t, a.today) for i, t in enumerate(tasks, 1)]
    if total > len(tasks):
        lines.append(f"……另有 {total - len(tasks)} 项未列出。")
    return "\n".join(lines)


# -- last_feedback ----------------------------------------------------------------------------------
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
_ADVICE = ("建议", "改进", "需要", "注意", "加强", "提升", "下次", "尽量")


def advice_of(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if any(k in s for k in _ADVICE)]


def answer_last_feedback(a: Ask) -> str:
    p = a.period
    found = queries.latest_feedback(a.db, a.subject.id, p.start, p.end, a.tz)
    label = period_text(p, a.today)
    if found is None:
        where = f"{label}" if label else "目前"
        return f"{where}还没有给{a.who}的主管反馈。" if not a.self_ask else f"{where}还没有收到主管的反馈。"
    fb, author = found
    when = month_day(fb.created_at.astimezone(a.tz).date())
    by = author.name if author else "主管"
    lines = [f"{by}在 {when} 给{a.who}的反馈：", f"「{fb.text}」"]
    advice = advice_of(fb.text)
    if advice:
        lines.append("其中的改进建议：" + " ".join(advice))
    return "\n".join(lines)


# -- goals -------------------------------------------------------------------------------------------
def _goals(a: Ask) -> list[Goal]:
    goals = goals_of(a.db, a.subject.id, a.today)
    p = a.period
    if p.start is not None and p.end is not None:
        return [g for g in goals if (g.period_start is None or g.period_start < p.end)
                and (g.period_end is None or g.period_end >= p.start)]

    def open_today(g: Goal) -> bool:
        return (g.period_start is None or g.period_start <= a.today) and (g.period_end is None or a.today <= g.period_end)

    return [g for g in goals if open_today(g)] or goals


def gap_text(g: Goal) -> str:
    """「，还差 6 家」 / 「，已达成」 (higher is better), 「，还需降低 2 天」 (lower is better)."""
    if g.target is None or g.current is None:
        return ""
    gap = g.target - g.current if g.higher_is_better else g.current - g.target
    if gap <= 0:
        return "，已达成🎉"
    verb = "还差" if g.higher_is_better else "还需降低"
    return f"，{verb} {gap:g} {g.unit}".rstrip()


def answer_goal_progress(a: Ask) -> str:
    goals = _goals(a)
    label = period_text(a.period, a.today)
    if not goals:
        return f"{a.who}{label}还没有设置个人目标或 KPI。如有疑问，可以和主管确认。"
    lines = [f"{a.who}{label}的目标完成情况："]
    for g in goals[:MAX_ITEMS]:
        line = f"· {format_progress(g)}{gap_text(g)}"
        if g.period_end is not None and g.period_start is not None and g.period_start <= a.today <= g.period_end:
            span = (g.period_end - g.period_start).days + 1
            elapsed = (a.today - g.period_start).days + 1
            line += f"；时间进度 {elapsed * 100 // span}%，截至 {month_day(g.period_end)}"
            att = attainment(g)
            if att is not None and att * span < elapsed * 0.9 and g.higher_is_better:
                line += "，略落后于时间进度"
        lines.append(line)
    return "\n".join(lines)


def answer_goal_alignment(a: Ask) -> str:
    goals = _goals(a)
    if not goals:
        return f"{a.who}还没有设置个人目标，暂时无法计算对齐关系。"
    parts = []
    for g in goals[:3]:
        al = alignment(a.db, g.id)
        if al is None:
            continue
        text = al.text() if a.self_ask else al.text().replace("你的工作", f"{a.subject.name}的工作")
        parts.append(text if len(goals) == 1 else f"「{g.title}」{text}")
    return "\n\n".join(parts)


# -- points ------------------------------------------------------------------------------------------
def answer_points(a: Ask) -> str:
    p = a.period
    pts = queries.points(a.db, a.subject, p.start, p.end, a.tz)
    lines = [f"{a.who}当前积分 {pts.balance} 分"
             + (f"，在{pts.group}排第 {pts.rank} 名（共 {pts.group_size} 人）。" if pts.group else "。")]
    if pts.earned is not None:
        lines.append(f"{period_text(p, a.today)}获得 {pts.earned} 分。")
    if pts.top:
        lines.append("排行榜：" + "，".join(f"{i}. {n} {v} 分" for i, (n, v) in enumerate(pts.top, 1)))
    every = getattr(a.policy, "points_redeem_every", 0)
    if a.self_ask and every:
        lines.append(f"每满 {every} 分{getattr(a.policy, 'points_redeem_text', '')}")
    return "\n".join(lines)


# -- checkin_status ----------------------------------------------------------------------------------
def _weeks(a: Ask) -> tuple[list[tuple[str, date]], str]:
    p, today = a.period, a.today
    if p.start is None or p.end is None:
        monday = today - timedelta(days=today.weekday())
        return [(week_key(monday), monday)], "本周"
    first = p.start - timedelta(days=p.start.weekday())
    if p.end - p.start <= timedelta(days=7):
        return [(week_key(first), first)], period_text(p, today)
    last = min(p.end - timedelta(days=1), today)
    weeks = []
    d = first
    while d <= last and len(weeks) < 14:
        if p.start <= d + timedelta(days=3) < p.end:  # ISO rule: a week belongs where its Thursday is
            weeks.append((week_key(d), d))
        d += timedelta(days=7)
    return weeks or [(week_key(first), first)], period_text(p, today)


def answer_checkin_status(a: Ask) -> str:
    weeks, label = _weeks(a)
    rows = queries.checkins(a.db, a.subject.id, [w for w, _ in weeks])
    this_week = week_key(a.today)
    if len(weeks) == 1:
        key, monday = weeks[0]
        span = f"{label}（{month_day(monday)}–{month_day(monday + timedelta(days=6))}）"
        c = rows.get(key)
        if c is None or (c.status == "pending" and c.pushed_at is None):
            if key == this_week:
                return f"{a.who}{span}的周复盘还没开始，到时会收到填写卡片。"
            return f"{a.who}{span}没有周复盘记录。"
        if c.status != "submitted":
            tip = "发送「填写周复盘」即可继续。" if a.self_ask and c.status != "skipped" else ""
            return f"{a.who}{span}的周复盘{CHECKIN_STATUS.get(c.status, c.status)}。{tip}".strip()
        when = c.submitted_at.astimezone(a.tz) if c.submitted_at else None
        head = f"{a.who}{span}的周复盘已提交" + (f"（{month_day(when.date())} {when:%H:%M}）" if when else "") + "："
        return "\n".join([head, f"· 本周成果：{c.achievement or '—'}", f"· 主要障碍：{c.obstacle or '—'}",
                          f"· 下周行动：{c.next_action or '—'}"])
    lines = [f"{a.who}{label}的周复盘："]
    for key, monday in weeks:
        c = rows.get(key)
        state = CHECKIN_STATUS.get(c.status, c.status) if c else ("还未开始" if key == this_week else "无记录")
        lines.append(f"· {key}（{month_day(monday)}–{month_day(monday + timedelta(days=6))}）：{state}")
    return "\n".join(lines)


ANSWERS = {
    "tasks_left": answer_tasks_left,
    "last_feedback": answer_last_feedback,
    "goal_progress": answer_goal_progress,
    "goal_alignment": answer_goal_alignment,
    "points": answer_points,
    "checkin_status": answer_checkin_status,
}
