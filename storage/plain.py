"""Plain model instances from Core rows, for reads on the hot path of every event.

A query through the ORM session (``session.execute(select(Model))``) costs 40-50 microseconds more
per statement than the same statement on the session's connection, and an ``UPDATE ... RETURNING
Model`` through the ORM about 125 more (SQLite, this machine: the ORM's per-statement setup, its
identity map and instance state). A check-in runs about eight such statements. These helpers run
the statement at Core level and build the model with ``model_construct`` (the same attribute values:
the column types' result processing is Core's; no validation), then make it a detached instance with
its identity, as a committed session left the ones it loaded: its attributes can be set and adding it
to a session updates its row. About 11 microseconds an instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlmodel import SQLModel

from storage.driver import Prepared

M = TypeVar("M", bound=SQLModel)


def build(model: type[M], row: Any) -> M:
    """One detached model instance from a Core row of the model's table columns."""
    configure_mappers()  # a no-op once the mappers are set up (the first query does it)
    return _detached(model, row._mapping)


def build_all(model: type[M], rows: Iterable[Any]) -> list[M]:
    configure_mappers()
    return [_detached(model, r._mapping) for r in rows]


def new(model: type[M], **values: Any) -> M:
    """A new (transient) instance of ``model`` without the constructor's validation: for rows a
    store inserts with a statement on the hot path (``Model(**values)`` cost about 50 microseconds,
    this about 8). ``values`` must be complete and of the right types."""
    configure_mappers()
    return _stateful(model, values)


def _stateful(model: type[M], values: Any) -> M:
    obj = model.model_construct(**values)
    manager = model._sa_class_manager
    manager._state_setter(obj, manager._state_constructor(obj, manager))
    return obj


def _detached(model: type[M], values: Any) -> M:
    obj = _stateful(model, values)
    make_transient_to_detached(obj)
    return obj


def first(model: type[M], conn: Any, stmt: Any, params: dict[str, Any]) -> M | None:
    """The first row of ``stmt`` (a select or a ``RETURNING`` of the table's columns) as a model;
    ``stmt`` may be a :class:`storage.driver.Prepared` (run on the driver's cursor)."""
    if isinstance(stmt, Prepared):
        values = stmt.first(conn, params)
        configure_mappers()
        return None if values is None else _detached(model, values)
    row = conn.execute(stmt, params).first()
    return None if row is None else build(model, row)


def fetch(model: type[M], conn: Any, stmt: Any, params: dict[str, Any]) -> list[M]:
    if isinstance(stmt, Prepared):
        configure_mappers()
        return [_detached(model, v) for v in stmt.rows(conn, params)]
    return build_all(model, conn.execute(stmt, params))
