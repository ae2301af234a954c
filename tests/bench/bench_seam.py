"""Which way off the event loop: one thread seam over the synchronous sessions, or async SQLAlchemy?

    python -m tests.bench.bench_seam [--events 2000] [--db sqlite,postgresql]

Each "event" does what an inbound text does to the database: look the employee up, read their
open tasks, read the conversation, queue a reply in the outbox and mark the inbound event done, in
one transaction. The same work runs (a) as the engine runs it: sync SQLAlchemy sessions on a pool
of worker threads, the loop only awaiting results; (b) with async SQLAlchemy (aiosqlite / psycopg
async) as coroutines on the loop, with the same concurrency. Printed: events/s and the maximum
event-loop lag seen by a 10 ms probe. The choice and the figures are in docs/engine.md.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bot.engine import WorkerPool
from storage.db import open_database
from storage.models import Conversation, Employee, InboundEvent, OutboxMessage, Task
from tests.bench.bench_wecom import drop_pg_database, make_pg_database

USERS = 500
CONCURRENCY = 8


def seed(url: str) -> None:
    db = open_database(url)
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(insert(Employee), [{"id": f"U{i:05d}", "name": f"员工{i}", "role": "employee", "active": True,
                                      "wecom_userid": f"wx_{i:05d}", "weekly_capacity_hours": 40.0}
                                     for i in range(USERS)])
        s.execute(insert(Task), [{"id": f"T{i:05d}-{k}", "owner_id": f"U{i:05d}", "title": "方案", "status": "todo",
                                  "due_date": now.date()} for i in range(USERS) for k in range(3)])
    db.dispose()


def stmts(i: int, key: str, now: datetime) -> list:  # noqa: ANN001
    uid = f"U{i % USERS:05d}"
    return [
        select(Employee).where(Employee.wecom_userid == f"wx_{i % USERS:05d}"),
        select(Task).where(Task.owner_id == uid, Task.status != "done"),
        select(Conversation).where(Conversation.employee_id == uid),
        insert(OutboxMessage).values(key=key + ":r1", channel="wecom", recipient=uid, kind="text",
                                     payload={"text": "你本月还有 2 项任务未完成"}, status="pending", attempts=0,
                                     next_attempt_at=now, result={}, created_at=now),
        update(InboundEvent).where(InboundEvent.key == key).values(status="done", processed_at=now),
    ]


class Lag:
    def __init__(self) -> None:
        self.max = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(0.01)
            self.max = max(self.max, loop.time() - t0 - 0.01)


async def thread_seam(url: str, n: int) -> tuple[float, float]:
    db = open_database(url, migrate=False)
    pool = WorkerPool("bench", CONCURRENCY, n)
    lag = Lag()
    probe = asyncio.create_task(lag.run())
    now = datetime.now(UTC)

    async def event(i: int) -> None:
        key = f"t{i}"
        with db.unit_of_work():
            with db.session() as s:
                for st in stmts(i, key, now):
                    s.execute(st).all() if st.is_select else s.execute(st)

    start = time.perf_counter()
    await asyncio.gather(*(pool.submit(str(i), lambda i=i: event(i), block=True) for i in range(n)))
    elapsed = time.perf_counter() - start
    probe.cancel()
    pool.stop()
    db.dispose()
    return n / elapsed, lag.max


async def async_engine(url: str, n: int) -> tuple[float, float]:
    aurl = url.replace("sqlite:///", "sqlite+aiosqlite:///")
    engine = create_async_engine(aurl, pool_size=CONCURRENCY) if "postgresql" in aurl else create_async_engine(aurl)
    lag = Lag()
    probe = asyncio.create_task(lag.run())
    now = datetime.now(UTC)
    sem = asyncio.Semaphore(CONCURRENCY)

    async def event(i: int) -> None:
        key = f"a{i}"
        async with sem:
            for attempt in range(20):
                try:
                    async with AsyncSession(engine) as s, s.begin():
                        for st in stmts(i, key, now):
                            r = await s.execute(st)
                            if st.is_select:
                                r.all()
                    return
                except Exception:  # SQLite busy under concurrent writers: retry like the engine does
                    if attempt == 19:
                        raise
                    await asyncio.sleep(0.01 * (attempt + 1))

    start = time.perf_counter()
    await asyncio.gather(*(event(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    probe.cancel()
    await engine.dispose()
    return n / elapsed, lag.max


async def main(n: int, dbs: list[str]) -> None:
    print(f"{n} events of 3 reads + 2 writes in one transaction each, {CONCURRENCY} at a time")
    for kind in dbs:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/seam.db" if kind == "sqlite" else make_pg_database()
            try:
                seed(url)
                t_rate, t_lag = await thread_seam(url, n)
                a_rate, a_lag = await async_engine(url, n)
            finally:
                if kind != "sqlite":
                    drop_pg_database(url)
        print(f"{kind:<11} thread seam  {t_rate:7.0f} events/s  max loop lag {t_lag * 1000:6.1f} ms")
        print(f"{'':<11} async engine {a_rate:7.0f} events/s  max loop lag {a_lag * 1000:6.1f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--db", default="sqlite,postgresql")
    args = ap.parse_args()
    asyncio.run(main(args.events, args.db.split(",")))
