"""10,000 recipients, one outbox row each, delivered by a real ``python -m bot outbox drain`` process
that is SIGKILLed halfway and run again: every user sees the message exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta

from sqlalchemy import insert, update

from bot.clock import SystemClock
from storage import outbox as ob
from storage.db import open_database
from storage.models import Employee, OutboxMessage
from tests.conftest import REPO
from tests.emulators.wecom import WeComEmulator
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN

N = 10_000


def write_config(path, db_url: str, api_base: str) -> None:
    path.write_text(
        f'[storage]\nurl = "{db_url}"\n\n[wecom]\ncorp_id = "{CORP_ID}"\nagent_id = 1000002\n'
        f'secret = "emulator-secret"\ntoken = "{TOKEN}"\nencoding_aes_key = "{AES_KEY}"\napi_base = "{api_base}"\n',
        encoding="utf-8",
    )


async def drain_process(config) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config), "--log-level", "WARNING", "outbox", "drain",
        cwd=str(REPO), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def test_fanout_exactly_once_across_sigkill(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fanout.db'}"
    db = open_database(url)
    users = [f"wx_f{i:05d}" for i in range(N)]
    with db.session() as s:
        s.execute(insert(Employee), [{"id": f"F{i:05d}", "name": f"员工{i}", "wecom_userid": u, "role": "employee",
                                      "weekly_capacity_hours": 40.0, "active": True} for i, u in enumerate(users)])
    now = SystemClock().now()
    msgs = [ob.NewMessage(f"fanout:2026-W48:F{i:05d}", "wecom", u, "text",
                          {"text": "本周五 16:00 请填写周复盘，3 个问题，约 2 分钟。"}, f"F{i:05d}")
            for i, u in enumerate(users)]
    assert ob.enqueue_many(db, msgs, now) == N

    emulator = WeComEmulator(corp_id=CORP_ID, users=set(users))
    config = tmp_path / "perfbot.toml"
    write_config(config, url, await emulator.start())
    try:
        first = await drain_process(config)
        for _ in range(60_000):  # bounded poll: kill once a good share has arrived
            if len(emulator.seen) >= N // 3 or first.returncode is not None:
                break
            await asyncio.sleep(0.002)
        assert first.returncode is None, "the first drain finished before it could be killed"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        seen_before = len(emulator.seen)
        assert 0 < seen_before < N

        # Rows the dead process left in "sending" are reclaimed once stale (120 s). Instead of
        # waiting, age their claim in the database, as if the restart happened two minutes later.
        with db.session() as s:
            doubtful = s.execute(update(OutboxMessage).where(OutboxMessage.status == "sending")
                                 .values(claimed_at=now - timedelta(minutes=10))).rowcount

        second = await drain_process(config)
        _, err = await asyncio.wait_for(second.communicate(), timeout=600)
        assert second.returncode == 0, err.decode()[-2000:]
    finally:
        await emulator.stop()

    counts = {u: len(emulator.seen[u]) for u in users}
    assert [u for u, c in counts.items() if c != 1] == []
    assert not emulator.dropped
    dups = sum(len(v) for v in emulator.duplicates.values())
    print(f"seen before kill {seen_before}, in doubt {doubtful}, duplicates dropped {dups}")
    assert dups <= doubtful
    assert ob.stats(db, "wecom") == {"sent": N}
    db.dispose()
