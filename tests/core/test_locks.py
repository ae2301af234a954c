from __future__ import annotations

import asyncio

import pytest

from storage.db import open_database
from storage.locks import EmployeeLocks


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_employee_lock_serialises_across_processes(db_url):
    """Two lock holders on separate engines stand for two bot processes sharing the database."""
    a, b = open_database(db_url), open_database(db_url)
    la, lb = EmployeeLocks(a, poll_seconds=0.005), EmployeeLocks(b, poll_seconds=0.005)
    order: list[str] = []
    release = asyncio.Event()
    a_inside = asyncio.Event()

    async def first() -> None:
        async with la.hold("E101"):
            order.append("a-in")
            a_inside.set()
            await release.wait()
            order.append("a-out")

    async def second() -> None:
        await a_inside.wait()
        async with lb.hold("E101"):
            order.append("b-in")

    async def other_employee() -> None:
        await a_inside.wait()
        async with lb.hold("E102"):  # a different employee is never blocked
            order.append("other")

    t1, t2 = asyncio.create_task(first()), asyncio.create_task(second())
    await other_employee()
    for _ in range(20):  # give "b" every chance to (wrongly) get in while "a" holds the lock
        await asyncio.sleep(0.005)
    release.set()
    await asyncio.gather(t1, t2)
    assert order == ["a-in", "other", "a-out", "b-in"]
    a.dispose()
    b.dispose()


async def test_same_process_events_of_one_employee_run_in_order(sqlite_url):
    locks = EmployeeLocks(open_database(sqlite_url))
    order: list[int] = []

    async def work(i: int) -> None:
        async with locks.hold("E101"):
            order.append(i)
            await asyncio.sleep(0)
            order.append(i)

    await asyncio.gather(*(work(i) for i in range(5)))
    assert order == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
