"""Goal queries shared by several features (the read side of handlers/common/goals.py)."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from storage import plain
from storage.db import Database
from storage.driver import Prepared
from storage.models import Goal


def goal(db: Database, goal_id: str) -> Goal | None:
    with db.session() as s:
        return s.get(Goal, goal_id)


def sibling_weights(db: Database, parent_id: str | None) -> list[float]:
    """Weights of every goal under ``parent_id`` (the goal itself included)."""
    with db.session() as s:
        return list(s.execute(select(Goal.weight).where(Goal.parent_id == parent_id)).scalars())


# Built once (bound parameters only), run on the driver's cursor (storage.driver): a goal question or
# a check-in reads it on every message.
_OWNED = Prepared(select(Goal).where(Goal.owner_id == bindparam("owner")))


def owned_goals(db: Database, employee_id: str) -> list[Goal]:
    with db.session() as s:
        return plain.fetch(Goal, s.connection(), _OWNED, {"owner": employee_id})


def owned_goals_many(db: Database, employee_ids: list[str]) -> list[Goal]:
    with db.session() as s:
        return list(s.execute(select(Goal).where(Goal.owner_id.in_(employee_ids))).scalars())
