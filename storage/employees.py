"""Read models of the organisation used by routing (the dispatcher) and features."""

from __future__ import annotations

from sqlalchemy import select

from storage import identity
from storage.db import Database
from storage.models import Employee


def report_names(db: Database, manager_id: str) -> list[str]:
    """Names of the active direct reports of ``manager_id``."""
    with db.session() as s:
        rows = s.execute(select(Employee.name).where(Employee.manager_id == manager_id, Employee.active))
        return list(rows.scalars())


def get(db: Database, employee_id: str | None) -> Employee | None:
    if not employee_id:
        return None
    with db.session() as s:
        return s.get(Employee, employee_id)


def active_with_role(db: Database, role: str) -> list[Employee]:
    with db.session() as s:
        return list(s.execute(select(Employee).where(Employee.role == role, Employee.active)
                              .order_by(Employee.id)).scalars())


def names_by(db: Database, column: str, values: list[str]) -> dict[str, str]:
    """{value: name} for employees whose ``Employee.<column>`` (e.g. ``dingtalk_userid``) is in ``values``."""
    attr = getattr(Employee, column)
    with db.session() as s:
        return {v: name for v, name in s.execute(select(attr, Employee.name).where(attr.in_(values)))}


def active_ids(db: Database, ids: list[str]) -> set[str]:
    """Those of ``ids`` that belong to active employees."""
    with db.session() as s:
        return set(s.execute(select(Employee.id).where(Employee.id.in_(ids), Employee.active)).scalars())


def named_in(db: Database, text: str, max_len: int = 4) -> list[Employee]:
    """Active employees whose name (2–4 characters) occurs in ``text``: the text's substrings are looked
    up in the name index, so the cost does not grow with the number of employees."""
    text = "".join(text.split())
    subs = {text[i:i + n] for n in range(2, max_len + 1) for i in range(len(text) - n + 1)}
    subs = {x for x in subs if not x.isascii()} & identity.active_names(db)
    if not subs:
        return []
    with db.session() as s:
        return list(s.execute(select(Employee).where(Employee.name.in_(sorted(subs)), Employee.active)).scalars())
