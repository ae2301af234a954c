"""Target-adjustment rules: the percent limits, number formatting and fuzzy goal matching
(pure functions; the requests themselves are in store.py)."""

from __future__ import annotations

import math
from datetime import date

from rapidfuzz import fuzz

from storage.models import Goal

MATCH_THRESHOLD = 60.0
GENERIC_GOAL_WORDS = {"目标", "指标", "目标值", "kpi", "okr", "kr", "业绩", "任务"}


# -- policy arithmetic -------------------------------------------------------------------------
def percent_change(old: float, new: float) -> float:
    """Signed change in percent of the current target (old must not be 0)."""
    return (new - old) / old * 100.0


def allowed_range(target: float, max_percent: float) -> tuple[float, float]:
    """The smallest and largest target one request may ask for. Whole-number targets stay whole."""
    delta = abs(target) * max_percent / 100.0
    lo, hi = target - delta, target + delta
    if float(target).is_integer():
        lo, hi = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    return max(lo, 0.0), hi


def within_limit(old: float, new: float, max_percent: float) -> bool:
    return abs(percent_change(old, new)) <= max_percent + 1e-9


def is_open(goal: Goal, today: date) -> bool:
    return (goal.period_start is None or goal.period_start <= today) and (
        goal.period_end is None or today <= goal.period_end)


def fmt(x: float) -> str:
    return f"{round(x, 2):g}"


# -- goal matching -------------------------------------------------------------------------------
def clean_goal_text(text: str) -> str:
    t = text.strip(" ，,。：:「」\"'“”")
    for prefix in ("我的", "我", "本季度", "这个季度", "本月", "个人"):
        if t.startswith(prefix):
            t = t[len(prefix):]
    for suffix in ("的目标值", "目标值", "的目标", "的指标", "目标", "指标", "的", "kpi", "KPI", "okr", "OKR"):
        if t.endswith(suffix) and len(t) > len(suffix):
            t = t[: -len(suffix)]
    t = t.strip(" 的「」")
    return "" if t.lower() in GENERIC_GOAL_WORDS else t


def match_goals(goals: list[Goal], text: str) -> list[tuple[Goal, float]]:
    """Goals whose title (or id) resembles ``text``, best first, above the threshold."""
    q = clean_goal_text(text)
    if not q:
        return []
    scored = []
    for g in goals:
        if q.lower() == g.id.lower():
            scored.append((g, 200.0))
            continue
        score = max(fuzz.ratio(q, g.title), fuzz.partial_ratio(q, g.title) * (0.9 if len(q) < 2 else 1.0))
        if score >= MATCH_THRESHOLD:
            scored.append((g, score))
    return sorted(scored, key=lambda p: -p[1])


def whole_number_problem(goal: Goal, new: float, units: list[str]) -> str | None:
    """Counted things (家, 个, 人 … ``policy.whole_number_units``) take whole numbers only."""
    if goal.unit in units and not float(new).is_integer():
        lo, hi = math.floor(new), math.ceil(new)
        return (f"「{goal.title}」以「{goal.unit}」计数，目标只能是整数（例如 {lo} 或 {hi} {goal.unit}），"
                f"不能是 {fmt(new)} {goal.unit}。")
    return None
