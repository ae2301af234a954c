"""SQLite's in-process write gate: one writer at a time, re-entrant, with a priority lane.

SQLite's own busy handler waits by polling (sleeps of up to 100 ms), so the writers of one process
queue here instead and the next one starts the moment the previous one finishes. A writer that asks
to go ``first`` (``Database.short_write``: inbound acceptance, whose callback is acknowledged only
after its short insert, and the outbox worker's claims and records, so replies go out during a burst)
goes before every other waiting writer; the others hold back while one waits. The thread
holding the gate may take it again (nested work) without waiting, even while a first writer waits.
Waiting is on a condition variable: no polling, no sleeps.
"""

from __future__ import annotations

import threading


class WriteGate:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self.first_waiting = 0  # writers asking to go first that wait for the gate

    @property
    def owner(self) -> int | None:
        return self._owner

    def acquire(self, first: bool = False) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return
            if first:
                self.first_waiting += 1
                try:
                    while self._owner is not None:
                        self._cond.wait()
                finally:
                    self.first_waiting -= 1
            else:
                while self._owner is not None or self.first_waiting:
                    self._cond.wait()
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("the write gate is released by a thread that does not hold it")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()
