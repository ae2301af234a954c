"""PostgreSQL: inbound events stored from the serving loop itself, over async connections.

The group-committed insert of accepted callbacks (``storage.inbox``) used to run on a thread of its own
(``Database.run_accept``). Each write then crossed threads three times (the loop hands the batch over,
the thread takes the interpreter lock to build and send the statement and again to read the answer,
the loop takes it back to answer the callbacks), and under a burst every crossing waited for the lock
behind the event workers and the loop's own parsing: 4.5-5.0 ms per write at the median under a burst
against 0.5 ms for the statement and its commit, while the callbacks waited for it. Here the statement
is sent and its answer read by the loop itself, between its other work, as aiohttp reads sockets: no
thread, one round trip
(the connection is in autocommit, so the one ``INSERT … RETURNING`` commits by itself: durable when
it answers).

A dropped connection (a restart of PostgreSQL, an idle time-out) or a transient error is retried on a
new connection a few times, as ``Database.run`` retries; anything else is raised, and the callbacks of
that batch are answered 5xx so the platform sends them again. A batch that committed but whose answer
was lost is written again: its keys are then known, reported as duplicates, and the periodic sweep of
pending events (``Dispatcher.replay_pending``) still runs them, so nothing is lost or run twice.
One connection per write in flight (``bot.dispatch.ACCEPT_WRITERS``), outside the pool (docs/engine.md,
"Connections and pools").
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from storage import inbox
from storage.db import Database, is_transient_driver_error

log = logging.getLogger(__name__)
RETRIES = 3


def _transient(exc: BaseException) -> bool:
    """A lost connection (psycopg's OperationalError), or what ``Database.run`` retries."""
    return isinstance(exc, (psycopg.OperationalError, ConnectionError)) or is_transient_driver_error(exc)


class LoopAccept:
    """``accept_many`` for PostgreSQL on the running event loop (see module doc)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conninfo = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._idle: list[psycopg.AsyncConnection[Any]] = []  # connections not in use (one per write in flight)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connects = 0

    async def accept_many(self, items: list[tuple[str, str, dict[str, Any]]], now: datetime) -> set[str]:
        """Same contract as :func:`storage.inbox.accept_many`: the keys that were new."""
        rows = inbox.new_rows(items, now)
        if not rows:
            return set()
        params = inbox.pg_params(rows, now)
        for attempt in range(RETRIES + 1):
            conn = None
            try:
                conn = await self._take()
                cur = await conn.execute(inbox.ACCEPT_PG_SQL, params)
                keys = {r[0] for r in await cur.fetchall()}
            except Exception as exc:
                if conn is not None:
                    await self._close(conn)  # its state is unknown: a new one for the next write
                if attempt == RETRIES or not _transient(exc):
                    raise
                log.warning("accepting inbound events: transient database error (%s); retrying",
                            exc.__class__.__name__)
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            self._idle.append(conn)
            self.db.commits += 1  # the statement committed by itself (autocommit)
            self.db.direct_statements += 1
            return keys
        raise AssertionError("unreachable")  # pragma: no cover

    async def _take(self) -> psycopg.AsyncConnection[Any]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # connections made on another (closed) loop cannot be used here
            self._idle.clear()
            self._loop = loop
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        self.connects += 1
        return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)

    @staticmethod
    async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            await conn.close()
        except Exception:  # a broken connection may fail to close: it is gone either way
            log.debug("closing an acceptance connection failed", exc_info=True)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        if self._loop is asyncio.get_running_loop():
            for conn in idle:
                await self._close(conn)
