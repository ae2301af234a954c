"""Prebuilt statements run on the database driver's cursor, for the few every inbound event runs.

A Core execution of a statement built once still costs SQLAlchemy's per-call work: the compiled-cache
lookup (the statement's cache key), an execution context, parameter construction, event dispatch and
result metadata. For a goal list that is 198 µs of CPU on PostgreSQL and 120 on SQLite against 94 and 38
on the driver's cursor (same statement, same rows, instances built the same way). With 8-14 statements
an event that is a fifth to a third of what processing a message costs (docs/engine.md, "Where a
PostgreSQL burst's time goes now").

``Prepared(stmt)`` compiles the statement once per dialect and runs it on the DBAPI cursor of the
given SQLAlchemy connection (so inside the caller's transaction), applying the column types' bind and
result processing itself, exactly as Core would (their processors are SQLAlchemy's own). Rows come
back as dicts keyed like ``Row._mapping``. ``IN`` lists are expanded once per shape (a fixed list of
literals once, a list passed as a parameter once per length). Errors are wrapped by SQLAlchemy as a
Core execution's are (``DBAPIError``, a dropped connection invalidated), so ``is_transient`` and the
retries see the same exceptions; ``before_cursor_execute`` listeners (statement counters in tests and
benchmarks) still see every statement. Anything this cannot handle (an unknown dialect feature, a
SQLAlchemy without the compiled attributes used here) runs through Core instead: same results, the
usual cost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)
_CURSOR = "perfbot_driver_cursor"  # key of the kept cursor in the pooled connection's info
MAX_SHAPES = 64  # IN-list expansions kept per statement (a group marks at most [engine] batch_events keys)


class _Shape:
    """One dialect's SQL for one expansion of the IN lists, and how to fill and read it."""

    __slots__ = ("sql", "names", "binds", "expansion", "columns", "results")

    def __init__(self, sql: str, names: list[str] | None, binds: dict[str, Any],
                 expansion: dict[str, list[str]], columns: list[Any]) -> None:
        self.sql, self.names, self.binds, self.expansion, self.columns = sql, names, binds, expansion, columns
        self.results: list[tuple[str, Any]] | None = None  # (key, processor), from the first run's description


class _Compiled:
    """The statement compiled for one dialect, and the names of its IN-list parameters."""

    __slots__ = ("compiler", "expanding")

    def __init__(self, compiler: Any) -> None:
        self.compiler = compiler
        self.expanding = tuple(b.key for b in compiler.post_compile_params)


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's cursor (see module doc)."""

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self._compiled: dict[str, _Compiled | None] = {}  # dialect name → compiled, or None: use Core
        self._shapes: dict[tuple[str, tuple[int, ...]], _Shape] = {}

    # -- public ------------------------------------------------------------------------------
    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        shape, cursor = self._run(conn, params)
        if shape is None:
            return [dict(r._mapping) for r in cursor]
        raw = cursor.fetchall()
        results = shape.results
        if results is None:
            results = shape.results = _result_processors(conn, shape.columns, cursor.description or ())
        return [{k: (f(v) if f is not None else v) for (k, f), v in zip(results, row, strict=True)} for row in raw]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        row = self.first(conn, params)
        return None if row is None else next(iter(row.values()))

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """A statement without result rows; how many rows it changed."""
        _shape, cursor = self._run(conn, params)
        return int(cursor.rowcount)

    # -- internals ---------------------------------------------------------------------------
    def _to_core(self, name: str) -> None:
        """From now on this statement runs through Core on dialect ``name``."""
        log.info("statement runs through Core: %s", str(self.stmt).split("\n")[0][:80], exc_info=True)
        self._compiled[name] = None

    def _compiler(self, conn: Connection) -> _Compiled | None:
        name = conn.dialect.name
        if name not in self._compiled:
            try:
                compiler = self.stmt.compile(dialect=conn.dialect)
                for attr in ("_bind_processors", "_result_columns", "construct_params",
                             "_process_parameters_for_postcompile", "positiontup", "literal_execute_params"):
                    getattr(compiler, attr)
                # values rendered into the SQL (literal_execute) are left to Core
                self._compiled[name] = None if compiler.literal_execute_params else _Compiled(compiler)
            except Exception:  # an unsupported construct or SQLAlchemy version: Core does it
                self._to_core(name)
        return self._compiled[name]

    def _shape(self, name: str, compiled: _Compiled, full: dict[str, Any]) -> _Shape | None:
        """The SQL for these parameters' IN-list lengths; None when this statement already keeps
        MAX_SHAPES of them (lists of ever new lengths: those calls go through Core, nothing grows)."""
        compiler, expanding = compiled.compiler, compiled.expanding
        key = (name, tuple(len(full[k]) if full.get(k) is not None else -1 for k in expanding) if expanding else ())
        shape = self._shapes.get(key)
        if shape is not None or len(self._shapes) >= MAX_SHAPES:
            return shape
        if expanding:
            state = compiler._process_parameters_for_postcompile(dict(full))
            sql, names = state.statement, state.positiontup
            binds = {**compiler._bind_processors, **state.processors}
            expansion = {k: [n for n, _ in v] if v and isinstance(v[0], tuple) else list(v)
                         for k, v in state.parameter_expansion.items()}
        else:
            sql = compiler.string
            names = list(compiler.positiontup) if compiler.positiontup is not None else None
            binds, expansion = compiler._bind_processors, {}
        binds = {k: fn for k, fn in binds.items() if fn is not None}
        shape = self._shapes[key] = _Shape(sql, names, binds, expansion, compiler._result_columns)
        return shape

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> tuple[_Shape | None, Any]:
        name = conn.dialect.name
        compiled = self._compiler(conn)
        shape = full = None
        if compiled is not None:
            full = compiled.compiler.construct_params(dict(params))
            try:
                shape = self._shape(name, compiled, full)
            except Exception:  # an expansion this SQLAlchemy does differently: Core from now on
                self._to_core(name)
        if shape is None or full is None:
            return None, conn.execute(self.stmt, dict(params))
        for param, expanded in shape.expansion.items():
            for n, v in zip(expanded, full.pop(param), strict=True):
                full[n] = v
        for param, fn in shape.binds.items():
            if param in full:
                full[param] = fn(full[param])
        args: Any = tuple(full[n] for n in shape.names) if shape.names is not None else full
        # One cursor per driver connection, kept with it (making one per statement was 3% of an event's
        # CPU on PostgreSQL); every statement's rows are read before the next one runs.
        info, dbapi = conn.connection.info, conn.connection.dbapi_connection
        kept = info.get(_CURSOR)
        if kept is not None and kept[0] is dbapi:
            cursor = kept[1]
        else:
            cursor = dbapi.cursor()
            info[_CURSOR] = (dbapi, cursor)
        if conn._has_events or conn.engine._has_events:
            conn.dispatch.before_cursor_execute(conn, cursor, shape.sql, args, None, False)
        try:
            cursor.execute(shape.sql, args)
        except Exception as exc:
            info.pop(_CURSOR, None)
            cursor.close()
            if isinstance(exc, conn.dialect.loaded_dbapi.Error):
                conn._handle_dbapi_exception(exc, shape.sql, args, cursor, None)
            raise
        return shape, cursor


def _result_processors(conn: Connection, columns: list[Any], description: Any) -> list[tuple[str, Any]]:
    """(key, processor) per result column: the column types' own, or for textual SQL (no columns
    known) the driver's values as it names them."""
    if not columns:
        return [(d[0], None) for d in description]
    return [(col.keyname, col.type._cached_result_processor(conn.dialect, d[1]))
            for col, d in zip(columns, description, strict=True)]
