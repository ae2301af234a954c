"""Accepting inbound events from the serving loop on PostgreSQL (``storage.loop_accept``): the same
rows as the thread path, a dropped connection replaced without losing the batch, a real error
raised to the callers (the platform then retries) without spoiling the next batch; and the
acceptance writes in flight at once (``bot.engine.GroupAccept``) answered in arrival order."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from bot.engine import GroupAccept
from storage import inbox
from storage.db import open_database
from storage.loop_accept import LoopAccept
from storage.models import InboundEvent
from tests.conftest import truncate_pg
from tests.core.test_inbox import BATCH, NOW, PAYLOAD


@pytest.fixture
def pg_db(pg_database):
    truncate_pg(pg_database)
    d = open_database(pg_database)
    yield d
    d.dispose()


def _stored(db) -> list[InboundEvent]:
    with db.session() as s:
        return list(s.execute(select(InboundEvent).order_by(InboundEvent.id)).scalars())


async def test_the_loop_stores_a_batch_as_the_thread_path_does(pg_db):
    acc = LoopAccept(pg_db)
    assert inbox.accept(pg_db, "wecom:old", "wecom", {"kind": "text", "text": "早"}, NOW)
    payload, batch = PAYLOAD, BATCH
    commits = pg_db.commits
    try:
        assert await acc.accept_many(batch, NOW) == {"wecom:b", "dingtalk:a", "wecom:c"}
        assert await acc.accept_many(batch, NOW) == set()  # everything is known now
    finally:
        await acc.close()
    assert pg_db.commits - commits == 2  # each write is one transaction, counted like the others
    rows = _stored(pg_db)
    assert [r.key for r in rows] == ["wecom:old", "wecom:b", "dingtalk:a", "wecom:c"]
    by_key = {r.key: r for r in rows}
    assert by_key["wecom:b"].payload == payload  # the first of the two in the batch
    assert by_key["wecom:old"].payload["text"] == "早"
    assert all(r.status == "pending" and r.received_at == NOW for r in rows)
    assert [e.key for e in inbox.pending(pg_db)] == ["wecom:old", "wecom:b", "dingtalk:a", "wecom:c"]


async def test_a_dropped_connection_is_replaced_and_the_batch_still_stored(pg_db):
    acc = LoopAccept(pg_db)
    try:
        assert await acc.accept_many([("wecom:1", "wecom", {"text": "早"})], NOW) == {"wecom:1"}
        # PostgreSQL restarted, or a proxy dropped the idle connection
        (conn,) = acc._idle
        with pg_db.engine.begin() as c:
            ended = c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": conn.info.backend_pid}).scalar()
        assert ended is True
        assert await acc.accept_many([("wecom:2", "wecom", {"text": "在吗"})], NOW) == {"wecom:2"}
        assert acc.connects == 2
    finally:
        await acc.close()
    assert [r.key for r in _stored(pg_db)] == ["wecom:1", "wecom:2"]


async def test_a_batch_the_database_refuses_fails_alone(pg_db):
    """A NUL character cannot be stored as text: the callers of that batch get the error (their
    callbacks are answered 5xx and sent again), nothing of it is stored, the next batch goes in."""
    acc = LoopAccept(pg_db)
    try:
        with pytest.raises(Exception, match="(?i)unicode|\\\\u0000|character"):
            await acc.accept_many([("wecom:x", "wecom", {}), ("wecom:\x00", "wecom", {})], NOW)
        assert await acc.accept_many([("wecom:y", "wecom", {})], NOW) == {"wecom:y"}
    finally:
        await acc.close()
    assert [r.key for r in _stored(pg_db)] == ["wecom:y"]


class _Ev:
    def __init__(self, key: str) -> None:
        self.key = key


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_two_writes_in_flight_answer_in_arrival_order():
    """The second write may finish first; its callers are still answered after the first write's,
    so one sender's events reach the workers in the order they came."""
    gates = {k: asyncio.Event() for k in "abc"}
    started: list[list[str]] = []

    async def write(events):
        started.append([e.key for e in events])
        await gates[events[0].key].wait()
        return {e.key for e in events}

    accept = GroupAccept(write, writers=2)
    answered: list[str] = []

    async def one(key: str) -> bool:
        fresh = await accept.accept(_Ev(key))
        answered.append(key)
        return fresh

    tasks = []
    for k in "abc":
        tasks.append(asyncio.ensure_future(one(k)))
        await _settle()
    assert started == [["a"], ["b"]]  # two in flight; c waits for room
    gates["b"].set()
    await _settle()
    assert started == [["a"], ["b"], ["c"]] and answered == []  # b is written, but a comes first
    gates["c"].set()
    await _settle()
    assert answered == []
    gates["a"].set()
    assert await asyncio.gather(*tasks) == [True, True, True]
    assert answered == ["a", "b", "c"]


async def test_a_failed_write_answers_its_callers_with_the_error_and_the_next_in_order():
    gates = {k: asyncio.Event() for k in "ab"}

    async def write(events):
        await gates[events[0].key].wait()
        if events[0].key == "a":
            raise RuntimeError("database gone")
        return {e.key for e in events}

    accept = GroupAccept(write, writers=2)
    first = asyncio.ensure_future(accept.accept(_Ev("a")))
    await _settle()
    second = asyncio.ensure_future(accept.accept(_Ev("b")))
    await _settle()
    gates["b"].set()
    await _settle()
    assert not second.done()  # answered after a, even though a has not finished
    gates["a"].set()
    with pytest.raises(RuntimeError, match="database gone"):
        await first
    assert await second is True


async def test_idle_waits_for_the_writes_begun_and_close_ends_the_connections(pg_db):
    """At shutdown the bot waits for the acceptance writes already begun (their callers are owed an
    answer) and then closes the acceptance connections."""
    loop_accept = LoopAccept(pg_db)
    gate = asyncio.Event()

    async def write(events):
        await gate.wait()
        return await loop_accept.accept_many([(e.key, "wecom", {}) for e in events], NOW)

    accept = GroupAccept(write, writers=2)
    pending = asyncio.ensure_future(accept.accept(_Ev("wecom:late")))
    await _settle()
    idle = asyncio.ensure_future(accept.idle())
    await asyncio.sleep(0.05)
    assert not idle.done()  # a write is in flight
    gate.set()
    await asyncio.wait_for(idle, timeout=10)
    assert pending.done() and pending.result() is True
    conns = list(loop_accept._idle)
    assert conns and not any(c.closed for c in conns)
    await loop_accept.close()
    assert all(c.closed for c in conns)
    assert [r.key for r in _stored(pg_db)] == ["wecom:late"]
