"""A psycopg cursor whose ``description`` is built only when something reads it.

psycopg builds ``cursor.description`` afresh on every access: one ``Column`` per result column, each
decoding its name and looking its type up. SQLAlchemy reads it after every statement, but once a
statement's result metadata is cached (every statement after its first run) it only checks that a
description exists. On the PostgreSQL event path those unused ``Column`` objects were about a tenth of
the event workers' CPU (py-spy over ``bench_events``). This cursor returns a sequence that captures the
current result and builds the columns on first use, so callers that read it (SQLAlchemy's first run of
a statement, anything that inspects names or types) see exactly what psycopg would have given them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast, overload

import psycopg
from psycopg import pq

_TUPLES = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)


class _ResultView:
    """What ``psycopg.Column`` reads from a cursor, frozen at the time the description was taken, so a
    description read after the cursor has moved on still describes its own result."""

    __slots__ = ("pgresult", "_encoding", "adapters")

    def __init__(self, pgresult: Any, encoding: str, adapters: Any) -> None:
        self.pgresult = pgresult
        self._encoding = encoding
        self.adapters = adapters


class LazyDescription(Sequence[psycopg.Column]):
    """``cursor.description`` as a sequence of ``psycopg.Column`` built on first use."""

    __slots__ = ("_cursor", "_result", "_columns", "_n")

    def __init__(self, cursor: psycopg.Cursor[Any], result: Any) -> None:
        self._cursor: psycopg.Cursor[Any] | None = cursor
        self._result = result
        self._n: int = result.nfields
        self._columns: list[psycopg.Column] | None = None

    def _built(self) -> list[psycopg.Column]:
        if self._columns is None:
            cursor = self._cursor
            if cursor is None:  # cannot happen: cleared together with _columns being set
                raise RuntimeError("description already released")
            view = _ResultView(self._result, cursor._encoding, cursor.adapters)
            self._columns = [psycopg.Column(cast(Any, view), i) for i in range(self._n)]
            self._cursor = None
        return self._columns

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> psycopg.Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[psycopg.Column]: ...

    def __getitem__(self, index: int | slice) -> psycopg.Column | list[psycopg.Column]:
        return self._built()[index]

    def __iter__(self) -> Iterator[psycopg.Column]:
        return iter(self._built())

    def __repr__(self) -> str:
        return repr(self._built())


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    """``psycopg.Cursor`` with a lazily built ``description`` (same value, same ``None`` cases)."""

    __slots__ = ()

    @property
    def description(self) -> Any:
        res = self.pgresult
        if res and (res.nfields or res.status in _TUPLES):
            return LazyDescription(self, res)
        return None
