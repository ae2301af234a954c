"""Goal queries shared by several features (the read side of handlers/common/goals.py)."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import Goal


def goal(db: Database, goal_id: str) -> Goal | None:
    with db.session() as s:
        return s.get(Goal, goal_id)


def sibling_weights(db: Database, parent_id: str | None) -> list[float]:
    """Weights of every goal under ``parent_id`` (the goal itself included)."""
    with db.session() as s:
        return list(s.execute(select(Goal.weight).where(Goal.parent_id == parent_id)).scalars())


def owned_goals(db: Database, employee_id: str) -> list[Goal]:
    with db.session() as s:
        return list(s.execute(select(Goal).where(Goal.owner_id == employee_id)).scalars())


def owned_goals_many(db: Database, employee_ids: list[str]) -> list[Goal]:
    with db.session() as s:
        return list(s.execute(select(Goal).where(Goal.owner_id.in_(employee_ids))).scalars())
