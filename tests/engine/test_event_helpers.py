"""Event helper processes (PostgreSQL, ``[engine] event_processes``; bot/event_process.py), end to end
through the WeCom emulator: encrypted callbacks in, the bot's replies out through the emulated API.

1. A burst from many users: part of the events are worked off by the helper process, every user
   gets exactly their replies, and each user's events are processed in the order they arrived.
2. The helper is SIGKILLed in the middle of a burst: nothing is lost and nothing is answered twice
   (its unfinished events run in the serving process), and a new helper takes over.
3. A helper that cannot start: every event is processed in the serving process.
4. Settings and the clock reach the helper as they are; a frozen test clock is refused.
"""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import PerfBot
from bot.clock import ManualClock, OffsetClock, SystemClock
from bot.config import Settings
from bot.demo import seed_demo
from bot.event_process import Helper, ProcessWorker, helper_processes, prespawn, read_setup, setup_line
from storage.db import open_database
from storage.models import Employee, InboundEvent, OutboxMessage
from tests.conftest import DEMO_NOW, DEMO_TODAY, truncate_pg
from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_driver import CallbackDriver
from tests.wecom.conftest import AES_KEY, TOKEN, until, wecom_settings

TEXTS = ("帮助", "我的KPI进度", "帮助")  # each user sends these, in this order


class HelperRig:
    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = OffsetClock()
        self.clock.set(DEMO_NOW)  # the demo's day, moving in real time: the helper follows the same clock
        self.emulator = WeComEmulator(corp_id="wwPERFBOTTEST", now=lambda: self.clock.now().timestamp())
        self.bot: PerfBot | None = None
        self.driver: CallbackDriver | None = None
        self.users: list[str] = []

    async def start(self, helpers: int = 1, command: list[str] | None = None,
                    early: Callable[[Settings], list[Helper]] | None = None) -> None:
        """``early``: start helpers before the bot, as ``serve`` does (then on the system clock)."""
        api_base = await self.emulator.start()
        settings: Settings = wecom_settings(self.url, api_base)
        db = open_database(self.url)
        seed_demo(db, settings, today=DEMO_TODAY)
        with db.session() as s:
            self.users = sorted(u for u in s.execute(select(Employee.wecom_userid)).scalars() if u)
        db.dispose()
        self.emulator.users = set(self.users)
        if early is None:
            self.bot = PerfBot(settings, clock=self.clock, scheduler=False, event_helpers=helpers)
        else:
            self.clock = SystemClock()
            self.early = early(settings)
            self.bot = PerfBot(settings, scheduler=False, event_helpers=helpers, prespawned=self.early)
        if command is not None:
            for h in self.bot.dispatcher.helpers:
                h.command = command
        port = await self.bot.serve_http(host="127.0.0.1", port=0)
        await self.bot.start()
        self.driver = CallbackDriver(f"http://127.0.0.1:{port}{settings.wecom.callback_path}", self.emulator,
                                     TOKEN, AES_KEY, now=lambda: self.clock.now().timestamp())

    @property
    def helper(self) -> ProcessWorker:
        return self.bot.dispatcher.helpers[0]

    async def burst(self, users: list[str], texts: tuple[str, ...] = TEXTS) -> None:
        """Every user sends ``texts`` in order; users concurrently."""
        async def one(user: str) -> None:
            for text in texts:
                assert await self.driver.push(self.driver.text_xml(user, text)) == [200]

        await asyncio.gather(*(one(u) for u in users))

    async def all_answered(self, users: list[str], per_user: int) -> None:
        await until(lambda: all(len(self.emulator.seen[u]) >= per_user for u in users),
                    "every user's replies", rounds=6000)
        await self.bot.drain()

    def processed_in_order(self) -> dict[str, list[str]]:
        """Per user, the texts of their events in the order they were processed (arrival order by id)."""
        with self.bot.db.session() as s:
            rows = s.execute(select(InboundEvent.id, InboundEvent.payload, InboundEvent.processed_at,
                                    InboundEvent.status).order_by(InboundEvent.id)).all()
        assert {r.status for r in rows} == {"done"}
        by_user: dict[str, list] = {}
        for r in rows:
            by_user.setdefault(r.payload["sender"], []).append((r.processed_at, r.id, r.payload["text"]))
        for user, events in by_user.items():  # processed no earlier than the event before it (a group: equal)
            times = [t for t, _, _ in events]
            assert times == sorted(times), f"{user}'s events were processed out of order"
        return {u: [t for _, _, t in ev] for u, ev in by_user.items()}

    async def metrics(self) -> dict[str, float]:
        url = self.driver.url.rsplit("/wecom/", 1)[0] + "/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            body = await resp.text()
        return {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
                for line in body.splitlines() if line and not line.startswith("#")}

    def outbox_keys(self) -> Counter:
        with self.bot.db.session() as s:
            return Counter(s.execute(select(OutboxMessage.key)).scalars())

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.stop()
            self.bot.db.dispose()
        if self.driver is not None:
            await self.driver.close()
        await self.emulator.stop()


@pytest.fixture
async def helper_rig(pg_database):
    truncate_pg(pg_database)
    rig = HelperRig(pg_database)
    yield rig
    await rig.stop()


async def test_a_burst_is_shared_with_the_helper_exactly_once_and_in_order(helper_rig: HelperRig) -> None:
    await helper_rig.start(helpers=1)
    helper = helper_rig.helper
    assert helper.helper_pid and helper.helper_pid != os.getpid()  # ready before the bot said it was
    users = helper_rig.users
    await helper_rig.burst(users)
    await helper_rig.all_answered(users, len(TEXTS))
    for u in users:  # a help card, the KPI answer, a help card: nothing lost, nothing twice
        seen = helper_rig.emulator.seen[u]
        assert len(seen) == len(TEXTS), (u, [s.msgtype for s in seen])
        # (the platform may get them in another order: identical cards go out together, one call)
        assert sorted(s.msgtype for s in seen) == ["template_card", "template_card", "text"]
    order = helper_rig.processed_in_order()
    assert all(texts == list(TEXTS) for texts in order.values())
    assert sum(order.values(), []).count("帮助") == 2 * len(users)
    # the helper worked off its share (about half the senders); this process the rest
    assert helper.done_remote > 0 and helper.ran_here == 0
    assert 0 < helper.done_remote < len(users) * len(TEXTS)
    assert max(helper_rig.outbox_keys().values()) == 1
    metrics = await helper_rig.metrics()
    assert metrics["perfbot_event_helpers_ready"] == 1
    assert metrics['perfbot_event_helper_events_total{where="helper"}'] == helper.done_remote
    assert metrics["perfbot_event_helper_db_commits_total"] >= 1  # its transactions count too
    assert metrics["perfbot_event_helper_resident_memory_bytes"] > 50 * 2**20  # its own models


async def test_a_killed_helper_loses_nothing_and_answers_nothing_twice(helper_rig: HelperRig) -> None:
    await helper_rig.start(helpers=1)
    helper = helper_rig.helper
    users = helper_rig.users
    pid = helper.helper_pid
    first = asyncio.create_task(helper_rig.burst(users))
    await until(lambda: helper.done_remote > 0, "the helper's first event", rounds=4000)
    os.kill(pid, signal.SIGKILL)  # mid-burst: some of its events are in flight, some committed unreported
    await first
    await helper_rig.burst(users, ("帮助",))  # more while a new helper is not yet there: they run here
    await helper_rig.all_answered(users, len(TEXTS) + 1)
    for u in users:
        assert len(helper_rig.emulator.seen[u]) == len(TEXTS) + 1, u
    order = helper_rig.processed_in_order()
    assert all(texts == [*TEXTS, "帮助"] for texts in order.values())
    assert max(helper_rig.outbox_keys().values()) == 1
    assert helper.deaths == 1 and helper.ran_here > 0
    await until(lambda: helper.helper_pid not in (0, pid), "a new helper", rounds=4000)
    assert helper.starts == 2
    done_before = helper.done_remote
    await helper_rig.burst(users, ("我的KPI进度",))
    await helper_rig.all_answered(users, len(TEXTS) + 2)
    assert helper.done_remote > done_before  # the new helper took its share again


async def test_in_a_burst_the_helper_gets_only_a_few_events_at_a_time(helper_rig: HelperRig) -> None:
    """While callbacks arrive in a burst, the helper's work would slow the acceptance writes every
    acknowledgement waits for: at most BURST_IN_FLIGHT events are handed over at once meanwhile."""
    from bot.event_process import BURST_IN_FLIGHT, MAX_IN_FLIGHT

    await helper_rig.start(helpers=1)
    helper = helper_rig.helper
    burst = [True]
    helper.in_burst = lambda: burst[0]
    most = 0

    async def watch() -> None:
        nonlocal most
        while True:
            most = max(most, len(helper._inflight))
            await asyncio.sleep(0.0005)

    watcher = asyncio.create_task(watch())
    users = helper_rig.users
    await helper_rig.burst(users)
    await helper_rig.all_answered(users, len(TEXTS))
    watcher.cancel()
    assert helper.done_remote > 2 * BURST_IN_FLIGHT  # its share went through, a few at a time
    assert 0 < most <= BURST_IN_FLIGHT < MAX_IN_FLIGHT


async def test_the_stop_signals_of_the_process_group_are_the_serving_processs(helper_rig: HelperRig) -> None:
    """Ctrl-C or a service manager's SIGTERM reach the helper too: it goes on until the serving
    process, which handles them, ends its input at shutdown (after the work is handed back)."""
    await helper_rig.start(helpers=1)
    helper = helper_rig.helper
    pid = helper.helper_pid
    os.kill(pid, signal.SIGTERM)
    os.kill(pid, signal.SIGINT)
    users = helper_rig.users
    await helper_rig.burst(users, ("帮助",))
    await helper_rig.all_answered(users, 1)
    assert helper.helper_pid == pid and helper.deaths == 0 and helper.done_remote > 0
    proc = helper.helper.proc
    await helper_rig.bot.stop()
    helper_rig.bot.db.dispose()
    helper_rig.bot = None
    assert proc.poll() == 0  # stopped by its input ending, cleanly


@pytest.mark.parametrize("command", [[sys.executable, "-c", "import sys; sys.exit(3)"],  # exits at once
                                     ["/nonexistent/perfbot-helper"]])  # cannot even be started
async def test_a_helper_that_cannot_start_leaves_the_work_here(helper_rig: HelperRig, command: list[str]) -> None:
    await helper_rig.start(helpers=1, command=command)
    helper = helper_rig.helper
    users = helper_rig.users[:6]
    await helper_rig.burst(users)
    await helper_rig.all_answered(users, len(TEXTS))
    assert helper.done_remote == 0 and helper.ran_here > 0
    assert all(texts == list(TEXTS) for texts in helper_rig.processed_in_order().values())


async def test_a_helper_started_early_is_the_one_that_works(helper_rig: HelperRig) -> None:
    await helper_rig.start(helpers=1, early=lambda s: prespawn(s, 1))
    helper = helper_rig.helper
    assert helper.starts == 1 and helper.helper_pid == helper_rig.early[0].pid
    users = helper_rig.users
    await helper_rig.burst(users, ("帮助",))
    await helper_rig.all_answered(users, 1)
    assert helper.done_remote > 0


async def test_a_helper_started_early_for_other_settings_is_replaced(helper_rig: HelperRig) -> None:
    def other(s: Settings) -> list[Helper]:
        changed = copy.deepcopy(s)
        changed.engine.batch_events = 3
        return prespawn(changed, 1)

    await helper_rig.start(helpers=1, early=other)
    helper = helper_rig.helper
    assert helper.helper_pid and helper.helper_pid != helper_rig.early[0].pid
    assert helper_rig.early[0].proc.poll() is not None  # stopped, not left running
    users = helper_rig.users[:5]
    await helper_rig.burst(users, ("帮助",))
    await helper_rig.all_answered(users, 1)


def test_the_helper_gets_the_settings_and_the_clock_as_they_are() -> None:
    s = Settings()
    s.storage.url = "postgresql+psycopg://u@127.0.0.1/x"
    s.engine.batch_events, s.wecom.corp_id, s.calendar.extra_holidays = 7, "wwX", ["2027-01-04"]
    clock = OffsetClock()
    clock.set(DEMO_NOW)
    settings, twin = read_setup(setup_line(s, clock))
    assert settings.engine.batch_events == 7 and settings.wecom.corp_id == "wwX"
    assert settings.calendar.extra_holidays == ["2027-01-04"] and settings.storage.url == s.storage.url
    assert abs(twin.now() - DEMO_NOW) < timedelta(seconds=5)
    assert abs(read_setup(setup_line(s, SystemClock()))[1].offset) == timedelta(0)
    with pytest.raises(ValueError, match="ManualClock"):
        setup_line(s, ManualClock(DEMO_NOW))


def test_helpers_only_where_they_can_help() -> None:
    s = Settings()
    assert helper_processes(s, cpus=8) == 0  # SQLite: one process
    s.storage.url = "postgresql+psycopg://u@127.0.0.1/x"
    assert helper_processes(s, cpus=2) == 1
    assert helper_processes(s, cpus=1) == 0  # no other core to use
    s.server.processes = 2
    assert helper_processes(s, cpus=8) == 0  # serve --processes N: the serving processes use the cores
    s.server.processes, s.engine.event_processes = 1, 0
    assert helper_processes(s, cpus=8) == 0
