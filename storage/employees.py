"""Read models of the organisation used by routing (the dispatcher) and features."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import Employee


def report_names(db: Database, manager_id: str) -> list[str]:
    """Names of the active direct reports of ``manager_id``."""
    with db.session() as s:
        rows = s.execute(select(Employee.name).where(Employee.manager_id == manager_id, Employee.active))
        return list(rows.scalars())
