"""Platform id -> employee, cached in memory.

Every inbound event starts with this lookup, so it is served from memory: entries live for
``TTL_SECONDS`` and the whole cache is dropped at once when the organisation changes. In this process
``invalidate()`` does it at once (the importer and directory sync call it); in every process, the
cache reads the directory version (``bump()``, raised in the transaction of every import and sync)
at most every ``CHECK_SECONDS`` and drops everything when it moved, so another process's import is
seen within seconds. (Until the version, the TTL was 60 s so that other processes caught up, and at a
real Friday's one message per person per hour almost every lookup missed.) Cached employees are
detached snapshots: read them, never add them to a session.

An organisation of up to ``WARM_MAX`` active employees is loaded whole, in one query, on the first
miss (and again when the entries expire or the directory changes): on a Friday almost every person
writes once, so filling the cache one person at a time cost every first message its own session and
query (14.5% of the event workers' time on PostgreSQL, py-spy over bench_events). An id the
directory does not hold is still looked up on its own, so a lookup never answers from a stale
absence it did not query.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import dialect
from storage.db import Database
from storage.models import DirectoryVersion, Employee

TTL_SECONDS = 1800.0
CHECK_SECONDS = 5.0  # how often a cache reads the directory version (one cheap query per process)
WARM_MAX = 20_000  # active employees up to which the whole directory is loaded at once (~3 KB each)
NAMES_TTL_SECONDS = 60.0  # active_names: not tied to the version (a new name is seen within a minute)
# The keys an employee is looked up by: the employee id (None) and each platform's user id.
ALIASES: tuple[str | None, ...] = (None, "wecom_userid", "dingtalk_userid")
_generation = 0
_gen_lock = threading.Lock()


def invalidate() -> None:
    """Forget every cached identity in this process (after an import or a directory change)."""
    global _generation
    with _gen_lock:
        _generation += 1


def bump(db: Database, s: Session) -> None:
    """Raise the directory version inside the caller's transaction (an import, a directory sync):
    every process's cache drops its identities within ``CHECK_SECONDS`` of the commit."""
    s.execute(dialect.insert(db, DirectoryVersion).values(id=1, version=0).on_conflict_do_nothing(index_elements=["id"]))
    s.execute(update(DirectoryVersion).where(DirectoryVersion.id == 1).values(version=DirectoryVersion.version + 1))


def directory_version(db: Database) -> int:
    with db.session() as s:
        return int(s.execute(select(DirectoryVersion.version).where(DirectoryVersion.id == 1)).scalar() or 0)


def _keys(emp: Employee) -> list[tuple[str | None, str]]:
    """Every cache key the employee is found by: their employee id and each platform id they have."""
    return [(alias, v) for alias in ALIASES if (v := emp.id if alias is None else getattr(emp, alias, None))]


class IdentityCache:
    def __init__(self, db: Database, ttl: float = TTL_SECONDS, clock=time.monotonic,  # noqa: ANN001
                 check_every: float = CHECK_SECONDS, warm_max: int = WARM_MAX) -> None:
        self.db = db
        self.ttl = ttl
        self.check_every = check_every
        self.warm_max = warm_max
        self._warm_until = float("-inf")  # the whole directory is cached until then (or not tried again)
        self._warm_lock = threading.Lock()  # one warm-up at a time; the others wait for it and then hit
        self.warms = 0
        self._clock = clock
        self._entries: dict[tuple[str | None, str], tuple[float, Employee | None]] = {}
        self._generation = _generation
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.version_checks = 0

    def _check_version(self, now: float) -> None:
        """Drop everything when another process changed the directory (at most every check_every s)."""
        with self._lock:
            if now - self._checked_at < self.check_every:
                return
            self._checked_at = now
        version = directory_version(self.db)
        with self._lock:
            self.version_checks += 1
            if self._version is not None and version != self._version:
                self._entries.clear()
                self._warm_until = float("-inf")
            self._version = version

    def lookup(self, column: str | None, value: str) -> Employee | None:
        """The active employee whose ``column`` (None: the employee id) equals ``value``."""
        key = (column, value)
        now = self._clock()
        self._check_version(now)
        hit = self._cached(key, now)
        if hit is not None:
            return hit[1]
        if self._warm_until <= now and self.warm_max > 0 and self._warm(now):
            hit = self._cached(key, now)
            if hit is not None:
                return hit[1]
        self.misses += 1
        emp = self._load(column, value)
        with self._lock:
            if len(self._entries) > 200_000:  # far above any real organisation; keep memory bounded
                self._entries.clear()
            entry = (now + self.ttl, emp)
            self._entries[key] = entry
            if emp is not None:  # found by a platform id: its employee id is known too (and vice versa)
                for alias_key in _keys(emp):
                    self._entries.setdefault(alias_key, entry)
        return emp

    def _cached(self, key: tuple[str | None, str], now: float) -> tuple[float, Employee | None] | None:
        with self._lock:
            if self._generation != _generation:
                self._entries.clear()
                self._generation = _generation
                self._warm_until = float("-inf")
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self.hits += 1
                return hit
        return None

    def _warm(self, now: float) -> bool:
        """Cache every active employee under each of their ids in one query; False when the
        organisation is larger than ``warm_max`` (then entries are loaded one by one, and the warm-up
        is not tried again for ``ttl``)."""
        with self._warm_lock:
            if self._warm_until > now:  # another worker warmed the cache while this one waited
                return True
            with self._lock:
                generation = self._generation
            with self.db.session() as s:
                count = s.execute(select(func.count()).select_from(Employee).where(Employee.active)).scalar() or 0
                people = list(s.execute(select(Employee).where(Employee.active)).scalars()) if count <= self.warm_max else []
            with self._lock:
                if generation != self._generation:  # invalidated meanwhile: what was read may be old
                    return False
                self._warm_until = now + self.ttl
                if count > self.warm_max:
                    return False
                self.warms += 1
                for emp in people:
                    entry = (self._warm_until, emp)
                    for key in _keys(emp):
                        self._entries[key] = entry
            # The directory now lives here until the next warm-up: about nine objects the cyclic collector
            # tracks per person (the instance, its ORM state, their dicts, sets, weak references, key
            # tuples), 100,000 of the 131,000 a full collection scanned after a 10,000-person burst (71 ms,
            # every thread stopped). Freeze them out of its sight, as start-up does with the models. They
            # hold no reference cycles, so a later warm-up or invalidation frees them by reference counting.
            gc.freeze()
            return True

    def _load(self, column: str | None, value: str) -> Employee | None:
        with self.db.session() as s:
            if column is None:
                emp = s.get(Employee, value)
            else:
                emp = s.execute(select(Employee).where(getattr(Employee, column) == value)).scalar()
        if emp is not None and not emp.active:
            return None
        return emp


_names: weakref.WeakKeyDictionary[Database, tuple[float, int, frozenset[str]]] = weakref.WeakKeyDictionary()
_names_lock = threading.Lock()


def active_names(db: Database) -> frozenset[str]:
    """Every active employee's name, cached for ``NAMES_TTL_SECONDS`` (dropped by
    ``invalidate()``): most questions name nobody, and this answers that without a query."""
    now = time.monotonic()
    with _names_lock:
        hit = _names.get(db)
        if hit is not None and hit[0] > now and hit[1] == _generation:
            return hit[2]
        generation = _generation
    with db.session() as s:
        names = frozenset(s.execute(select(Employee.name).where(Employee.active).distinct()).scalars())
    with _names_lock:
        _names[db] = (now + NAMES_TTL_SECONDS, generation, names)
    return names
