"""Scale-out mode end to end: one PostgreSQL database, two real ``python -m bot serve`` processes
behind a (test-side) load balancer, the WeCom emulator as the platform.

1. Encrypted callbacks spread over both nodes, some delivered to both (a WeCom retry landing on the
   other node): every user gets exactly one reply, every event is processed once.
2. A 2,000-row fan-out drained by both nodes' outbox workers at once: exactly once per recipient.
3. Exactly one node holds the scheduler lease; after the leader is SIGKILLed (and its lease has
   expired: aged from the test instead of waiting 60 s) the other node takes over.
4. Nodes stop cleanly on SIGTERM (exit code 0), the leader releasing its lease.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import aiohttp
from sqlalchemy import func, insert, select, update

from bot.config import load_settings
from bot.demo import seed_demo
from storage import outbox as ob
from storage.db import Database, open_database
from storage.models import Employee, InboundEvent, OutboxMessage, SchedulerLease
from tests.conftest import REPO, truncate_pg
from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_driver import CallbackDriver
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN

LB_USERS = 40  # a burst bigger than the connection pool (a deadlock storage.locks had)
# Personal texts (like the Friday card: one call per person) at the default app budget of 100 calls/s
# shared by both nodes: a bulk round of 500 takes seconds, so the other node's poller (1 s) always
# claims rows while the first is still sending. Identical texts merged 500 users per call and let
# one node drain everything between the other's polls (a flaky "both nodes delivered" check).
FANOUT = 1_000
POLL = 0.05  # seconds between polls; every wait below is bounded by a number of rounds


async def until(cond: Callable[[], object], what: str, seconds: float = 30.0,
                state: Callable[[], object] | None = None) -> None:
    """Poll ``cond`` at most ``seconds / POLL`` times; fail the test with ``what`` (and ``state()``)
    if it never holds."""
    for _ in range(int(seconds / POLL)):
        if cond():
            return
        await asyncio.sleep(POLL)
    raise AssertionError(f"timed out waiting for {what}" + (f": {state()!r}" if state else ""))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    """One ``python -m bot serve`` process."""

    name: str
    port: int
    proc: asyncio.subprocess.Process
    log_path: Path
    log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def callback_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/wecom/callback"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.returncode is None


def write_config(path: Path, db_url: str, api_base: str, port: int) -> None:
    path.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n\n[storage]\nurl = "{db_url}"\n\n'
        f'[wecom]\ncorp_id = "{CORP_ID}"\nagent_id = 1000002\nsecret = "emulator-secret"\n'
        f'token = "{TOKEN}"\nencoding_aes_key = "{AES_KEY}"\napi_base = "{api_base}"\n',
        encoding="utf-8",
    )


async def start_node(tmp: Path, name: str, db_url: str, api_base: str) -> Node:
    port = free_port()
    config = tmp / f"{name}.toml"
    write_config(config, db_url, api_base, port)
    load_settings(config, env={})  # the file is a valid configuration
    log_path = tmp / f"{name}.log"
    log_file = log_path.open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    env["PYTHONPATH"] = str(REPO)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config), "--log-level", "INFO", "serve",
        cwd=str(tmp), env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
    )
    return Node(name, port, proc, log_path, log_file)


async def wait_healthy(node: Node, session: aiohttp.ClientSession) -> None:
    for _ in range(int(60 / POLL)):
        assert node.alive(), f"{node.name} exited with {node.proc.returncode}:\n{node.log()[-3000:]}"
        try:
            async with session.get(f"http://127.0.0.1:{node.port}/healthz") as resp:
                if resp.status == 200 and "wecom" in (await resp.json())["channels"]:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(POLL)
    raise AssertionError(f"{node.name} never became healthy:\n{node.log()[-3000:]}")


def lease(db: Database) -> list[tuple[str, datetime]]:
    with db.session() as s:
        return [(o, e) for o, e in s.execute(select(SchedulerLease.owner, SchedulerLease.expires_at))]


def lease_pid(db: Database) -> int | None:
    rows = lease(db)
    return int(rows[0][0].split(":")[-2]) if len(rows) == 1 else None


def statuses(db: Database, key_prefix: str) -> dict[str, int]:
    with db.session() as s:
        q = (select(OutboxMessage.status, func.count()).where(OutboxMessage.key.like(f"{key_prefix}%"))
             .group_by(OutboxMessage.status))
        return {st: int(n) for st, n in s.execute(q).all()}


def add_employees(db: Database, prefix: str, n: int) -> list[str]:
    users = [f"wx_{prefix.lower()}{i:04d}" for i in range(n)]
    with db.session() as s:
        s.execute(insert(Employee), [{"id": f"{prefix}{i:04d}", "name": f"扩容员工{prefix}{i}", "wecom_userid": u,
                                      "role": "employee", "weekly_capacity_hours": 40.0, "active": True}
                                     for i, u in enumerate(users)])
    return users


async def test_two_processes_share_one_postgresql(pg_database, tmp_path) -> None:
    url = pg_database
    truncate_pg(url)
    db = open_database(url)
    settings = load_settings(REPO / "config.example.toml", env={})
    settings.storage.url = url
    seed_demo(db, settings)  # what `python -m bot demo --no-chat` does
    lb_users = add_employees(db, "S", LB_USERS)  # no team, no goals: only our callbacks make them hear anything
    fan_users = add_employees(db, "F", FANOUT)
    emulator = WeComEmulator(corp_id=CORP_ID)
    with db.session() as s:
        emulator.users = {u for u in s.execute(select(Employee.wecom_userid)).scalars() if u}
    api_base = await emulator.start()

    nodes: list[Node] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    drivers: list[CallbackDriver] = []
    try:
        nodes = [await start_node(tmp_path, f"node{i}", url, api_base) for i in (1, 2)]
        for n in nodes:
            await wait_healthy(n, session)
        a, b = nodes
        drivers = [CallbackDriver(n.callback_url, emulator, TOKEN, AES_KEY, now=lambda: datetime.now(UTC).timestamp())
                   for n in nodes]

        # -- 1. load-balanced callbacks, some retried on the other node -------------------------
        async def user_sends_help(i: int, user: str) -> list[int]:
            home, other = drivers[i % 2], drivers[(i + 1) % 2]
            plain = home.text_xml(user, "帮助")
            if i % 4 == 0:  # WeCom "retries" onto the other node while the first delivery is in flight
                first = await asyncio.gather(home.post_signed(home.sign(plain)), other.post_signed(other.sign(plain)))
                if i == 0:  # and once more, later, on the home node
                    first.append(await home.post_signed(home.sign(plain)))
                return list(first)
            return [await home.post_signed(home.sign(plain))]

        codes = await asyncio.gather(*(user_sends_help(i, u) for i, u in enumerate(lb_users)))
        assert all(c == 200 for cs in codes for c in cs), codes
        deliveries = sum(len(cs) for cs in codes)

        def inbound() -> dict[str, int]:
            with db.session() as s:
                q = select(InboundEvent.status, func.count()).group_by(InboundEvent.status)
                return {st: int(n) for st, n in s.execute(q).all()}

        await until(lambda: inbound() == {"done": LB_USERS}, "all callbacks processed", state=inbound)
        await until(lambda: statuses(db, "wecom:msg:") == {"sent": LB_USERS}, "one reply per user sent",
                    state=lambda: statuses(db, "wecom:msg:"))
        for u in lb_users:
            assert [s.text for s in emulator.seen[u]] == ["绩效助手 · 帮助"], (u, emulator.texts(u))
        assert deliveries == LB_USERS + LB_USERS // 4 + 1
        duplicates_logged = sum(n.log().count("duplicate inbound event") for n in nodes)
        assert duplicates_logged == deliveries - LB_USERS

        # -- 2. a fan-out drained by both outbox workers at once --------------------------------
        now = datetime.now(UTC)
        msgs = [ob.NewMessage(f"scaleout:fanout:F{i:04d}", "wecom", u, "text",
                              {"text": f"{u}，本周五 16:00 请填写周复盘，3 个问题，约 2 分钟。"}, f"F{i:04d}")
                for i, u in enumerate(fan_users)]
        assert ob.enqueue_many(db, msgs, now) == FANOUT
        await until(lambda: statuses(db, "scaleout:fanout:") == {"sent": FANOUT}, "the fan-out drained", 60,
                    state=lambda: statuses(db, "scaleout:fanout:"))
        counts = {u: len(emulator.seen[u]) for u in fan_users}
        assert [u for u, c in counts.items() if c != 1] == []
        assert not emulator.dropped and not emulator.duplicates
        with db.session() as s:
            senders = {int(o.split(":")[-2]) for o in s.execute(
                select(OutboxMessage.claimed_by).where(OutboxMessage.key.like("scaleout:fanout:%"))
                .distinct()).scalars()}
        assert senders == {a.pid, b.pid}, "both nodes' workers delivered part of the fan-out"
        await until(lambda: set(ob.stats(db, "wecom")) == {"sent"}, "every wecom outbox row sent",
                    state=lambda: ob.stats(db, "wecom"))

        # -- 3. one scheduler leader; a survivor takes over after the leader dies ---------------
        await until(lambda: lease_pid(db) in (a.pid, b.pid), "a scheduler leader", state=lambda: (lease(db), a.pid, b.pid))
        leader = a if lease_pid(db) == a.pid else b
        follower = b if leader is a else a
        [(owner, _)] = lease(db)
        await until(lambda: f"({owner}) is the scheduler leader" in leader.log(), "the leader's log line")
        assert "is the scheduler leader" not in follower.log()

        leader.proc.send_signal(signal.SIGKILL)
        assert await leader.proc.wait() == -signal.SIGKILL
        assert lease_pid(db) == leader.pid  # a dead leader keeps the lease until it expires
        with db.session() as s:  # instead of waiting out the 60 s lease, let it expire now
            aged = s.execute(update(SchedulerLease).where(SchedulerLease.owner == owner)
                             .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))).rowcount
        assert aged == 1
        await until(lambda: lease_pid(db) == follower.pid, "the surviving node to take the lease", 45)
        await until(lambda: "is the scheduler leader" in follower.log(), "the new leader's log line")

        # -- 4. clean shutdown: the new leader and a freshly started node -----------------------
        fresh = await start_node(tmp_path, "node3", url, api_base)
        nodes.append(fresh)
        await wait_healthy(fresh, session)
        assert lease_pid(db) == follower.pid  # the newcomer did not take a live lease
        for n in (follower, fresh):
            n.proc.send_signal(signal.SIGTERM)
        rcs = await asyncio.wait_for(asyncio.gather(follower.proc.wait(), fresh.proc.wait()), 30)
        assert rcs == [0, 0], (rcs, follower.log()[-2000:], fresh.log()[-2000:])
        [(_, expires)] = lease(db)
        assert expires <= datetime.now(UTC), "the leader released its lease on SIGTERM"
        for n in (follower, fresh):
            assert "Traceback" not in n.log(), n.log()[-3000:]
    finally:
        for n in nodes:
            if n.alive():
                n.proc.kill()
                await n.proc.wait()
            n.log_file.close()
        for d in drivers:
            await d.close()
        await session.close()
        await emulator.stop()
        db.dispose()
