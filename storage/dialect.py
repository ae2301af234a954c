"""The one switch between SQLite and PostgreSQL statements: inserts (both support
``on_conflict_do_nothing(index_elements=[...])`` and ``returning(...)``) and a list bound as one
parameter (:func:`in_list`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Table, all_, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.driver import Prepared


def in_list(column: Any, name: str, is_sqlite: bool, negate: bool = False) -> Any:
    """``column IN (list)`` (``NOT IN`` with ``negate``) with the list bound as parameter ``name``: on
    PostgreSQL an array (``= ANY``/``<> ALL``), so the statement's text is the same whatever the list's
    length (psycopg converts and prepares it once; an expanded IN list is a new statement for every
    length); on SQLite an expanding IN."""
    if is_sqlite:
        param = bindparam(name, expanding=True)
        return column.not_in(param) if negate else column.in_(param)
    param = bindparam(name, type_=postgresql.ARRAY(column.type))
    return column != all_(param) if negate else column == any_(param)


def insert(db: Database, table: Any) -> Any:
    """``INSERT`` for ``table`` (a model or table) in the database's dialect, so ``ON CONFLICT``
    clauses work on both. Returns ``sqlite.Insert`` or ``postgresql.Insert``."""
    return (sqlite.insert if db.is_sqlite else postgresql.insert)(table)


def insert_ignore(db: Database, model: Any, index: str, *returning: str) -> Any:
    """A Core ``INSERT ... ON CONFLICT (index) DO NOTHING RETURNING returning, ...`` on the model's table,
    built once per dialect and reused: the hot paths (inbound dedup, outbox enqueue) run it on the
    session's connection with plain parameter dicts, skipping the ORM's per-statement setup. Also the way
    to insert what may already be there inside a unit of work: a refused insert would abort the whole
    PostgreSQL transaction."""
    return _insert_ignore(db.is_sqlite, model.__table__, index, returning)


@lru_cache(maxsize=32)
def _insert_ignore(is_sqlite: bool, table: Table, index: str, returning: tuple[str, ...]) -> Any:
    ins = (sqlite.insert if is_sqlite else postgresql.insert)(table)
    return ins.on_conflict_do_nothing(index_elements=[index]).returning(*(table.c[c] for c in returning))


def insert_ignore_one(db: Database, model: Any, index: str, columns: tuple[str, ...], *returning: str) -> Prepared:
    """:func:`insert_ignore` for one row of ``columns``, bound by name and run on the driver's cursor
    (storage.driver): the one-reply enqueue of every event. Built once per dialect and column set."""
    return _insert_ignore_one(db.is_sqlite, model.__table__, index, columns, returning)


@lru_cache(maxsize=32)
def _insert_ignore_one(is_sqlite: bool, table: Table, index: str, columns: tuple[str, ...],
                       returning: tuple[str, ...]) -> Prepared:
    return Prepared(_insert_ignore(is_sqlite, table, index, returning).values(
        {c: bindparam(c, type_=table.c[c].type) for c in columns}))
