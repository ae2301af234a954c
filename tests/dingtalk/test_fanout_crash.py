"""10,000-user fan-out through the real CLI sender, SIGKILLed mid-way and run again: every user
sees the message exactly once (batches of ≤ 20; the killed in-flight batch is resent)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta

from sqlalchemy import update

from bot.clock import SystemClock
from storage import outbox
from storage.db import open_database
from storage.models import OutboxMessage
from storage.outbox import NewMessage, enqueue_many
from tests.conftest import REPO

USERS = [f"staff{i:05}" for i in range(10_000)]
TEXT = "【绩效助手】本周五 16:00 前请完成周复盘，谢谢！"


def write_config(path, url: str, emu) -> None:
    path.write_text(
        f'[storage]\nurl = "{url}"\n\n[dingtalk]\nclient_id = "{emu.client_id}"\n'
        f'client_secret = "{emu.client_secret}"\nopenapi_base = "{emu.base}"\nper_user_per_minute = 20\n',
        encoding="utf-8")


async def drain(config, log) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config), "--log-level", "WARNING", "outbox", "drain",
        cwd=str(REPO), stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(REPO)})


async def test_fan_out_exactly_once_across_a_crash(emu, sqlite_url, tmp_path):
    db = open_database(sqlite_url)
    now = SystemClock().now()
    enqueue_many(db, [NewMessage(f"notice:2026-W48:{u}", "dingtalk", u, "text", {"text": TEXT}) for u in USERS], now)
    config = tmp_path / "perfbot.toml"
    write_config(config, sqlite_url, emu)
    emu.api.hold_batch_after = 137  # batch call #138 hangs: the sender is killed with it in flight
    emu.api.throttle_next = 3  # and DingTalk throttles a few calls on the way (retried later)
    with open(tmp_path / "drain.log", "wb") as log:  # noqa: ASYNC230 - a log file for the subprocesses
        proc = await drain(config, log)
        await asyncio.wait_for(emu.api.held.wait(), 120)
        proc.send_signal(signal.SIGKILL)
        assert await proc.wait() == -signal.SIGKILL
        emu.api.hold_batch_after = None
        emu.api.release.set()
        delivered = sum(len(c) for c in emu.api.batch_calls)
        assert delivered == 137 * 20
        in_flight = outbox.stats(db).get("sending", 0)
        assert in_flight > 0
        # Time passes beyond the 120 s reclaim delay (the rows stay `sending`, owned by the dead worker).
        with db.session() as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.status == "sending")
                      .values(claimed_at=SystemClock().now() - timedelta(minutes=5)))
        for _ in range(5):  # throttled rows are deferred (backoff); move them due and run again
            proc = await drain(config, log)
            assert await asyncio.wait_for(proc.wait(), 300) == 0
            if outbox.stats(db).get("sent", 0) == len(USERS):
                break
            with db.session() as s:
                s.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                          .values(next_attempt_at=SystemClock().now() - timedelta(seconds=1)))
    assert outbox.stats(db) == {"sent": len(USERS)}
    assert all(len(call) <= 20 for call in emu.api.batch_calls)
    counts = {u: emu.api.texts(u).count(TEXT) for u in USERS}
    assert set(counts.values()) == {1}, {u: n for u, n in counts.items() if n != 1}
    db.dispose()
