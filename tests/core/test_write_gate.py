"""SQLite's in-process write gate: accepting inbound callbacks and the outbox worker's claims go before
waiting event work, so a platform's callback is acknowledged, and replies go out, without queueing behind
every event transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from storage import outbox
from storage.db import Database, open_database


def _contend(db: Database, contender: Callable[[list[str]], None]) -> tuple[list[str], bool]:
    """Event work holds the write lock (a unit of work, as an event group does); ``contender`` starts
    and, once it waits at the gate's first lane (bounded wait: a failure must not hang the suite), more
    event work starts too; then the first unit finishes. Returns the order things ran in and whether
    the contender waited at the gate."""
    order: list[str] = []
    release, holding = threading.Event(), threading.Event()

    def event_in_progress() -> None:
        with db.unit_of_work():
            holding.set()
            release.wait(10)
            order.append("event 1")

    def next_event() -> None:
        with db.unit_of_work():
            order.append("event 2")

    t0 = threading.Thread(target=event_in_progress)
    t0.start()
    assert holding.wait(10)
    t_contender = threading.Thread(target=contender, args=(order,))
    t_contender.start()
    for _ in range(5000):
        if db.write_gate.first_waiting:
            break
        threading.Event().wait(0.001)
    waited_at_gate = bool(db.write_gate.first_waiting)
    t_next = threading.Thread(target=next_event)
    t_next.start()
    release.set()
    for t in (t0, t_contender, t_next):
        t.join(10)
    return order, waited_at_gate


def test_acceptance_goes_before_event_work_waiting_for_the_gate(sqlite_url: str) -> None:
    db = open_database(sqlite_url)

    def acceptance(order: list[str]) -> None:
        with db.short_write():
            order.append("acceptance")

    try:
        assert _contend(db, acceptance) == (["event 1", "acceptance", "event 2"], True)
    finally:
        db.dispose()


def test_a_thread_holding_the_gate_may_take_it_again_while_acceptance_waits(sqlite_url: str) -> None:
    """Re-entering the gate (nested work on the same thread) never deadlocks behind a waiting acceptance."""
    db = open_database(sqlite_url)
    done = threading.Event()

    def nested() -> None:
        with db.gate():
            for _ in range(10_000):  # until the acceptance waits (bounded: a failure must not hang the suite)
                if db.write_gate.first_waiting:
                    break
                threading.Event().wait(0.001)
            with db.gate():
                done.set()

    try:
        t = threading.Thread(target=nested)
        t.start()
        while not db.write_gate.owner:
            threading.Event().wait(0.001)
        accepted = threading.Event()

        def acceptance() -> None:
            with db.gate(first=True):
                accepted.set()

        t_accept = threading.Thread(target=acceptance)
        t_accept.start()
        t.join(10)
        t_accept.join(10)
        assert done.is_set() and accepted.is_set()
    finally:
        db.dispose()


def test_an_outbox_claim_goes_before_event_work_waiting_for_the_gate(sqlite_url: str) -> None:
    """While the event workers keep SQLite's write lock busy, the outbox worker's claim waits at the gate
    ahead of them (not in SQLite's polling busy handler, where it lost to them for seconds): replies go
    out during a burst, not after it."""
    db = open_database(sqlite_url)
    now = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    outbox.enqueue_many(db, [outbox.NewMessage(key="reply:1", channel="wecom", recipient="wx_u1", kind="text",
                                               payload={"text": "收到"})], now)

    def claim(order: list[str]) -> None:
        order.append(f"claimed {len(outbox.claim_due(db, 'wecom', 'worker', now, limit=10))}")

    try:
        assert _contend(db, claim) == (["event 1", "claimed 1", "event 2"], True)
    finally:
        db.dispose()
