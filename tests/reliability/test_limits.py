"""Platform-wide budgets and multi-user sends: one WeCom call for many people with per-person
accounting, and an app budget that several processes share without exceeding it."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from bot.ratelimit import AppLimiter
from storage import outbox as ob
from storage import ratelimit
from storage.db import open_database
from storage.outbox import NewMessage, enqueue_many
from tests.reliability.conftest import REPS
from tests.wecom.conftest import WeComRig


async def test_identical_text_is_one_call_and_an_invalid_user_fails_alone(frig: WeComRig) -> None:
    emu, users = frig.emulator, REPS[:6]
    emu.users.discard(users[3])  # left the company: WeCom echoes it in invaliduser
    text = "【绩效助手】系统将于今晚 22:00 维护 10 分钟。"
    enqueue_many(frig.bot.db, [NewMessage(f"maint:{u}", "wecom", u, "text", {"text": text}) for u in users],
                 frig.clock.now())
    frig.bot.services.wake("wecom")
    await frig.settle()
    sends = [b for path, b in emu.api_calls if path == "message/send"]
    assert len(sends) == 1 and sorted(sends[0]["touser"].split("|")) == sorted(users)
    assert [emu.texts(u).count(text) for u in users] == [1, 1, 1, 0, 1, 1]
    rows = {u: ob.get(frig.bot.db, f"maint:{u}") for u in users}
    assert [rows[u].status for u in users] == ["sent", "sent", "sent", "failed", "sent", "sent"]
    assert f"invaliduser: {users[3]}" in (rows[users[3]].last_error or "")


def test_the_app_budget_is_shared_by_several_processes(db_url: str) -> None:
    """Two "processes" (two engines on one database), 8 threads asking at once: never over the limit."""
    dbs = [open_database(db_url), open_database(db_url, migrate=False)]
    try:
        def ask(i: int) -> int:
            db = dbs[i % 2]
            return sum(ratelimit.acquire(db, "wecom:test", 1_000, 1, 25) for _ in range(10))

        with ThreadPoolExecutor(8) as pool:
            granted = sum(pool.map(ask, range(8)))
        assert granted == 25  # 80 asked, exactly the budget granted in that window
        assert ratelimit.acquire(dbs[0], "wecom:test", 1_060, 5, 25) == 5  # the next window is fresh
    finally:
        for db in dbs:
            db.dispose()


async def test_a_sender_over_budget_waits_for_the_next_window(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    try:
        limiter = AppLimiter(db, "dingtalk:test", limit=3, window_seconds=1)
        for _ in range(7):
            await asyncio.wait_for(limiter.take(), 10)
        assert limiter.waits >= 2  # 7 calls at 3 per window span at least three windows
    finally:
        db.dispose()


async def test_a_push_cannot_spend_the_share_of_the_budget_kept_for_replies(db_url: str) -> None:
    """Bulk sends (pushes, notifications) stop at 80% of a window; replies to someone who just
    wrote still get calls in that window, on SQLite and on PostgreSQL (shared budget)."""
    db = open_database(db_url)
    try:
        limiter = AppLimiter(db, "wecom:reserve-test", limit=20, window_seconds=10**9)  # one window
        limiter.prefetch = 1
        for _ in range(16):
            await asyncio.wait_for(limiter.take(), 10)
        bulk = asyncio.create_task(limiter.take())
        await asyncio.sleep(0.2)
        assert not bulk.done(), "a bulk send went past the 80% mark of the window"
        for _ in range(3):
            await asyncio.wait_for(limiter.take(urgent=True), 10)  # replies still go out
        bulk.cancel()
    finally:
        db.dispose()


async def test_the_share_kept_for_replies_grows_with_their_demand(sqlite_url: str) -> None:
    """When replies are busy (40 of a 100-call window), bulk sends leave them their pace plus a
    quarter (50), not just the fixed fifth: bulk stops at 50 used in all."""
    db = open_database(sqlite_url)
    try:
        limiter = AppLimiter(db, "wecom:demand-test", limit=100, window_seconds=10**9)  # one window
        limiter.prefetch = 1
        for _ in range(40):
            await asyncio.wait_for(limiter.take(urgent=True), 10)
        for _ in range(10):
            await asyncio.wait_for(limiter.take(), 10)
        bulk = asyncio.create_task(limiter.take())
        await asyncio.sleep(0.2)
        assert not bulk.done(), "bulk sends ate into the replies' share"
        await asyncio.wait_for(limiter.take(urgent=True), 10)
        bulk.cancel()
    finally:
        db.dispose()


async def test_replies_held_back_by_a_full_window_keep_their_share_in_the_next(sqlite_url: str) -> None:
    """Bulk sends had taken 80 of a 100-call window when 30 replies came: 20 go out at once, 10 in
    the next window, and that window keeps the replies' whole demand (30 plus a quarter) from bulk
    sends, not only the 20 that fitted (which let replies catch up by a quarter per window)."""
    db = open_database(sqlite_url)
    try:
        limiter = AppLimiter(db, "wecom:carry-test", limit=100, window_seconds=5)
        limiter.prefetch = 1
        await asyncio.sleep(5 - time.time() % 5 + 0.01)  # start at a window's beginning
        window = int(time.time() // 5) * 5
        for _ in range(80):
            await asyncio.wait_for(limiter.take(), 10)
        replies = [asyncio.create_task(limiter.take(urgent=True)) for _ in range(30)]
        await asyncio.sleep(0.3)
        assert sum(r.done() for r in replies) == 20  # the rest of this window
        await asyncio.wait_for(asyncio.gather(*replies), 15)  # the other 10 in the next window
        assert limiter.bulk_cap(window + 5) <= 100 - (30 + 30 // 4)
    finally:
        db.dispose()


async def test_concurrent_senders_use_the_whole_window_between_them(db_url: str) -> None:
    """Twenty bulk senders then a hundred replies ask at once, in one 200-call window: every call
    fits, nobody waits for the next window and exactly 200 calls are counted. (Each sender fetching
    its own batch of permits let a few fetches take the window while the rest were refused and slept
    to the next one: under load only half of WeCom's budget was used.)"""
    db = open_database(db_url)
    try:
        limiter = AppLimiter(db, "wecom:share-test", limit=200, window_seconds=10**9)  # one window
        await asyncio.wait_for(asyncio.gather(*(limiter.take() for _ in range(20))), 10)
        await asyncio.wait_for(asyncio.gather(*(limiter.take() for _ in range(60))), 10)
        await asyncio.wait_for(asyncio.gather(*(limiter.take(urgent=True) for _ in range(120))), 10)
        assert limiter.waits == 0
        window = int(time.time() // 10**9) * 10**9
        if db.is_sqlite:
            assert limiter._local == (window, 200)
        else:
            assert ratelimit.acquire(db, "wecom:share-test", window, 1, 200) == 0  # the window is spent
    finally:
        db.dispose()


def test_windows_older_than_an_hour_are_deleted(db_url: str, monkeypatch) -> None:
    from sqlalchemy import select

    from storage.models import RateWindow

    monkeypatch.setattr(ratelimit, "PRUNE_EVERY_SECONDS", 0.0)
    db = open_database(db_url)
    try:
        assert ratelimit.acquire(db, "wecom:prune-test", 1_000, 3, 25) == 3
        assert ratelimit.acquire(db, "wecom:prune-test", 1_000, 30, 25) == 22  # the rest of that window
        assert ratelimit.acquire(db, "wecom:prune-test", 2_000, 1, 25) == 1  # within the hour: kept
        assert ratelimit.acquire(db, "wecom:prune-test", 4_700, 1, 25) == 1  # 1,000 is over an hour old
        with db.session() as s:
            kept = sorted(s.execute(select(RateWindow.window).where(RateWindow.key == "wecom:prune-test")).scalars())
        assert kept == [2_000, 4_700]
    finally:
        db.dispose()


async def test_room_is_what_the_window_has_left_less_the_calls_already_lined_up(sqlite_url: str) -> None:
    """How many contents the outbox may claim now: what is left of the window's calls (bulk sends
    less the replies' share), less what deliveries have lined up and not yet made; none once the
    window is spent, with the seconds until the next one."""
    db = open_database(sqlite_url)
    try:
        limiter = AppLimiter(db, "wecom:room-test", limit=100, window_seconds=5)

        def room(urgent: bool = True) -> tuple[int, float]:
            return limiter.room(limiter.room_basis(urgent))

        await asyncio.sleep(5 - time.time() % 5 + 0.01)  # a window's start
        assert room() == (100, 0.0) and room(urgent=False) == (80, 0.0)  # 20 % kept for replies
        with limiter.line_up(5) as line:
            assert room()[0] == 95
            await line.take(urgent=True)  # one of them made: its permit is counted as used
            assert room()[0] == 95
        assert room()[0] == 99  # the other four were never made
        await limiter.take(79)  # bulk sends take their share
        assert room(urgent=False)[0] == 0 and room()[0] == 20
        await limiter.take(20, urgent=True)
        spent, wait = room()
        assert spent == 0 and 4 < wait <= 5.01 and limiter.waits == 0  # until the next window
    finally:
        db.dispose()
