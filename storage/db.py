"""Engine, sessions and schema migration (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlmodel import Session, create_engine

import storage.models  # noqa: F401  (registers tables)
from storage.gate import WriteGate

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
T = TypeVar("T")
# Connections one process may hold on PostgreSQL: event workers + database threads + scheduler +
# headroom. Two processes stay well under PostgreSQL's default max_connections (100).
POOL_SIZE = 12
POOL_OVERFLOW = 4
POOL_RECYCLE_SECONDS = 1800
RUN_RETRIES = 3
TRANSIENT_MESSAGES = (
    "database is locked", "server closed the connection", "connection already closed",
    "terminating connection", "could not connect", "connection refused", "ssl syscall error",
    "consuming input failed", "the connection is lost",
)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and use the psycopg 3 driver for it."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class UnitOfWork:
    """The one transaction of a piece of work (an inbound event, a job chunk).

    While it is active in this thread (or task), :meth:`Database.session` joins it instead of
    opening and committing a session of its own, so everything the work reads and writes commits
    together, once. ``after_commit`` callbacks run only if it commits (e.g. waking outbox workers
    for the rows it queued)."""

    def __init__(self, db: Database, session: Session) -> None:
        self.db = db
        self.session = session
        self._after: list[Callable[[], None]] = []
        self._before: list[Callable[[], None]] = []
        self.stash: dict[str, Any] = {}  # what before-commit work collects (storage.outbox.enqueue_at_commit)

    def after_commit(self, fn: Callable[[], None]) -> None:
        if fn not in self._after:
            self._after.append(fn)

    def before_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in this transaction just before it commits (it may still fail it: then nothing commits)."""
        self._before.append(fn)


_current: ContextVar[UnitOfWork | None] = ContextVar("perfbot_unit_of_work", default=None)


def current_unit() -> UnitOfWork | None:
    return _current.get()


class Database:
    """Owns the engine. ``session()`` yields a session that commits on success, or joins the
    active :class:`UnitOfWork`. Blocking work from the event loop goes through :meth:`run`."""

    def __init__(self, url: str, pool_size: int | None = None) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.run_threads = 2 if self.is_sqlite else 4
        self._pool: ThreadPoolExecutor | None = None
        self._accept_pool: ThreadPoolExecutor | None = None
        self.commits = 0  # transactions committed by this process (benchmarks, tests)
        self.direct_statements = 0  # statements sent outside the engine (storage.loop_accept): its listeners miss them
        # SQLite has one writer at a time and its busy handler waits by polling (sleeps of up to
        # 100 ms). Units of work and inbound acceptance queue on this in-process gate instead, so the
        # next writer starts the moment the previous one commits.
        self.write_gate = WriteGate()
        if self.is_sqlite:
            self.engine: Engine = create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            from storage.pgcursor import LazyDescriptionCursor  # psycopg is imported only for PostgreSQL

            # No ping per checkout (a round trip on every session): connections are recycled
            # and a dropped one surfaces as a transient error that the caller retries.
            self.engine = create_engine(
                self.url, pool_size=pool_size or POOL_SIZE, max_overflow=POOL_OVERFLOW,
                pool_recycle=POOL_RECYCLE_SECONDS, pool_timeout=30,
                # SQLAlchemy reads every statement's description; build it only when it is used.
                connect_args={"cursor_factory": LazyDescriptionCursor} if "+psycopg" in self.url else {},
            )
        event.listen(self.engine, "commit", self._count_commit)

    def _count_commit(self, _conn: Any) -> None:
        self.commits += 1

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking database work ``fn(*args, **kwargs)`` in the database thread pool, so code on
        the event loop (channels, outbox workers, HTTP handlers) never blocks it. A transient error
        (dropped connection, serialization failure, busy database) is retried a few times."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.run_threads, thread_name_prefix="db")
        return await self._run_on(self._pool, functools.partial(fn, *args, **kwargs))

    async def run_accept(self, fn: Callable[..., T], *args: Any) -> T:
        """:meth:`run` on a thread of its own, for storing inbound events before they are
        acknowledged: the acknowledgement never queues behind outbox rounds in the shared pool."""
        if self._accept_pool is None:
            self._accept_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-accept")
        return await self._run_on(self._accept_pool, functools.partial(fn, *args))

    async def _run_on(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        for attempt in range(RUN_RETRIES + 1):
            try:
                return await loop.run_in_executor(pool, call)
            except Exception as exc:
                if attempt == RUN_RETRIES or not is_transient(exc):
                    raise
                log.warning("transient database error (%s); retrying", exc.__class__.__name__)
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def session(self) -> Iterator[Session]:
        unit = _current.get()
        if unit is not None and unit.db is self:
            # Join the unit of work: flush so later reads see these writes, then detach what was
            # loaded, so callers get the same detached objects a committed session gave them.
            s = unit.session
            yield s
            s.flush()
            if s.identity_map or s.new:  # most calls on the event path ran Core statements only
                s.expunge_all()
            return
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @contextmanager
    def short_write(self) -> Iterator[Session]:
        """:meth:`session` for a short write that must not wait behind units of work: inbound acceptance
        (the callback's acknowledgement waits for it) and the outbox worker's claims and records. On SQLite
        it holds the write gate ahead of waiting units of work (``first``); without the gate such a write
        waited in SQLite's busy handler, which polls, and while the event workers kept the write lock
        busy it lost every poll: outbox claims took 3.2-3.4 s during a burst, and no reply went out until
        processing was over (bench_wecom). PostgreSQL locks rows: the same as :meth:`session`."""
        with self.gate(first=True), self.session() as s:
            yield s

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One transaction for everything done inside (see :class:`UnitOfWork`). Nested calls join
        the outer unit."""
        outer = _current.get()
        if outer is not None and outer.db is self:
            yield outer
            return
        with self.gate(), Session(self.engine, expire_on_commit=False) as s:
            unit = UnitOfWork(self, s)
            if self.is_sqlite:
                # Take the write lock up front: two threads that both read and then write would
                # otherwise fail with SQLITE_BUSY (the busy timeout does not cover lock upgrades).
                s.connection().exec_driver_sql("BEGIN IMMEDIATE")
            token = _current.set(unit)
            try:
                yield unit
                for fn in unit._before:
                    fn()
                s.commit()
            except BaseException:
                s.rollback()
                raise
            finally:
                _current.reset(token)
        for fn in unit._after:
            try:
                fn()
            except Exception:  # a wake-up must never undo a commit
                log.exception("after-commit callback failed")

    @contextmanager
    def gate(self, first: bool = False) -> Iterator[None]:
        """Hold SQLite's in-process write gate (no-op on PostgreSQL, which locks rows). ``first``:
        this writer goes before the others waiting (inbound acceptance: a callback's acknowledgement
        waits for it, and it holds the gate for one short insert); see storage/gate.py."""
        if not self.is_sqlite:
            yield
            return
        self.write_gate.acquire(first)
        try:
            yield
        finally:
            self.write_gate.release()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the active unit of work commits, or now when there is none."""
        unit = _current.get()
        if unit is not None and unit.db is self:
            unit.after_commit(fn)
        else:
            fn()

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent). A database already there (every start
        but the first after an upgrade) is recognised without importing Alembic, whose import with Mako
        and Pygments cost every process about 0.1 s of start-up and 9 MB."""
        if self.at_head():
            return
        from alembic import command

        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def at_head(self) -> bool:
        """The database's recorded revision is the newest migration's (False for a new database)."""
        head = head_revision()
        if head is None:
            return False
        try:
            with self.engine.connect() as conn:
                rows = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except DBAPIError:  # no alembic_version table yet
            return False
        return rows == [head]

    def dispose(self) -> None:
        for pool in (self._pool, self._accept_pool):
            if pool is not None:
                pool.shutdown(wait=True)
        self._pool = self._accept_pool = None
        self.engine.dispose()


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying the whole unit of work for: a dropped connection, a serialization
    failure or deadlock, a lock time-out, a busy SQLite database. Anything else is a bug."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or is_transient_driver_error(exc.orig)
    return isinstance(exc, (SATimeoutError, ConnectionError))


def is_transient_driver_error(orig: BaseException) -> bool:
    """The same for the driver's own exception (what SQLAlchemy wraps; storage.loop_accept runs psycopg
    directly): a transient SQLSTATE class or state, or one of TRANSIENT_MESSAGES."""
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    if state and (state[:2] in ("08", "40", "57") or state in ("55P03", "53300")):
        return True
    msg = str(orig).lower()
    return any(m in msg for m in TRANSIENT_MESSAGES)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_REVISION = re.compile(r"""^revision\s*=\s*['"]([^'"]+)['"]""", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.M)


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the migration files (``revision`` and ``down_revision``
    lines) without Alembic; None unless they give exactly one head (then :meth:`Database.migrate` asks
    Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(1))
        parents.update(re.findall(r"""['"]([^'"]+)['"]""", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def open_database(url: str, migrate: bool = True) -> Database:
    db = Database(url)
    if migrate:
        db.migrate()
    return db
