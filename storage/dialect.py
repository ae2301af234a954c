"""The one switch between SQLite and PostgreSQL insert statements (both support
``on_conflict_do_nothing(index_elements=[...])`` and ``returning(...)``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database


def insert(db: Database, table: Any) -> Any:
    """``INSERT`` for ``table`` (a model or table) in the database's dialect, so ``ON CONFLICT``
    clauses work on both. Returns ``sqlite.Insert`` or ``postgresql.Insert``."""
    return (sqlite.insert if db.is_sqlite else postgresql.insert)(table)
