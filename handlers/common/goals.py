"""Goal arithmetic shared by check-in cards, Q&A and adjustments: progress and alignment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers.common import store
from storage.db import Database
from storage.models import Goal


def attainment(goal: Goal) -> float | None:
    """Attainment as a fraction (1.0 = target met); lower-is-better goals are inverted."""
    if goal.target is None or goal.current is None:
        return None
    if goal.higher_is_better:
        return goal.current / goal.target if goal.target else None
    if goal.current == 0:
        return None if goal.target == 0 else 1.0
    return goal.target / goal.current


def format_progress(goal: Goal) -> str:
    """「新客户签约数：12/20 家（60%）」"""
    a = attainment(goal)
    cur = "—" if goal.current is None else f"{goal.current:g}"
    tgt = "—" if goal.target is None else f"{goal.target:g}"
    pct = "" if a is None else f"（{a * 100:.0f}%）"
    direction = "" if goal.higher_is_better else "，越低越好"
    return f"{goal.title}：{cur}/{tgt} {goal.unit}{pct}{direction}".replace(" （", "（")


@dataclass
class Alignment:
    chain: list[Goal]  # from the goal itself up to the top (company) goal
    share: float  # contribution of the goal to the top goal, 0..1

    @property
    def top(self) -> Goal:
        return self.chain[-1]

    def text(self) -> str:
        top = self.top
        if len(self.chain) == 1:
            return f"「{top.title}」尚未关联到上级目标。"
        path = " → ".join(g.title for g in self.chain)
        return f"你的工作对齐公司目标：{top.title}（贡献度 {self.share * 100:.1f}%）\n对齐路径：{path}"


def _share_in_parent(db: Database, goal: Goal) -> float:
    """The goal's weight over the summed weights of its siblings (same parent)."""
    total = sum(w for w in store.sibling_weights(db, goal.parent_id) if w and w > 0)
    return (goal.weight / total) if total and goal.weight > 0 else 0.0


def alignment(db: Database, goal_id: str) -> Alignment | None:
    goal = store.goal(db, goal_id)
    if goal is None:
        return None
    chain, share, seen = [goal], 1.0, {goal.id}
    while goal.parent_id:
        parent = store.goal(db, goal.parent_id)
        if parent is None or parent.id in seen:  # dangling or cyclic link: stop where we are
            break
        share *= _share_in_parent(db, goal)
        chain.append(parent)
        seen.add(parent.id)
        goal = parent
    return Alignment(chain, share)


def goals_of(db: Database, employee_id: str, on: date | None = None) -> list[Goal]:
    """The employee's own goals, those open on ``on`` first, by weight."""
    goals = store.owned_goals(db, employee_id)
    return _by_relevance(goals, on)


def _by_relevance(goals: list[Goal], on: date | None) -> list[Goal]:
    def is_open(g: Goal) -> bool:
        if on is None:
            return True
        return (g.period_start is None or g.period_start <= on) and (g.period_end is None or on <= g.period_end)

    return sorted(goals, key=lambda g: (not is_open(g), -(g.weight or 0), g.id))


def goals_of_many(db: Database, employee_ids: list[str], on: date | None = None) -> dict[str, list[Goal]]:
    """``goals_of`` for many employees in one query."""
    if not employee_ids:
        return {}
    goals = store.owned_goals_many(db, employee_ids)
    out: dict[str, list[Goal]] = {e: [] for e in employee_ids}
    for g in goals:
        out[g.owner_id].append(g)
    return {e: _by_relevance(gs, on) for e, gs in out.items()}
