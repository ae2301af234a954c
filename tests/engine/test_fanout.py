"""The Friday push to a large organisation is built in chunks (one transaction each); a process
killed in the middle of building it is run again and every employee gets exactly one card."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime

from sqlalchemy import func, select

from storage.db import open_database
from storage.models import CheckIn, Employee, OutboxMessage
from tests.bench.org import write_org
from tests.conftest import REPO, TZ
from tests.emulators.wecom import WeComEmulator
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
PEOPLE = 3000
CHUNK = 20


def config(path, url: str, api_base: str) -> None:
    path.write_text(
        f'[storage]\nurl = "{url}"\n\n[engine]\nfanout_chunk = {CHUNK}\n\n'
        f'[wecom]\ncorp_id = "{CORP_ID}"\nagent_id = 1000002\nsecret = "emulator-secret"\ntoken = "{TOKEN}"\n'
        f'encoding_aes_key = "{AES_KEY}"\napi_base = "{api_base}"\napp_calls_per_minute = 600000\n', encoding="utf-8")


async def cli(cfg, log, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(cfg), "--log-level", "WARNING", *args,
        cwd=str(REPO), stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(REPO)})


async def test_push_killed_mid_build_resumes_without_duplicates(tmp_path):
    emulator = WeComEmulator(corp_id=CORP_ID)
    api_base = await emulator.start()
    dbfile = tmp_path / "perfbot.db"
    url = f"sqlite:///{dbfile}"
    cfg = tmp_path / "perfbot.toml"
    config(cfg, url, api_base)
    users = write_org(tmp_path / "org", PEOPLE, FRIDAY.date())
    db = open_database(url)
    try:
        with open(tmp_path / "cli.log", "wb") as log:  # noqa: ASYNC230 - a log file for the subprocesses
            proc = await cli(cfg, log, "import", str(tmp_path / "org"))
            assert await proc.wait() == 0
            with db.session() as s:
                emulator.users = {u for u in s.execute(select(Employee.wecom_userid)).scalars() if u}
                managed = s.execute(select(func.count()).select_from(Employee)
                                    .where(Employee.active, Employee.manager_id.is_not(None))).scalar()
            assert managed > PEOPLE

            def queued() -> int:
                with db.session() as s:
                    return int(s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one())

            proc = await cli(cfg, log, "jobs", "run", "checkin_push", "--at", FRIDAY.isoformat())
            for _ in range(60000):  # bounded (5 minutes on a loaded machine): until two chunks are committed
                if queued() >= 2 * CHUNK:
                    break
                await asyncio.sleep(0.005)
            proc.send_signal(signal.SIGKILL)  # mid-build: the chunk in progress rolls back
            assert await proc.wait() == -signal.SIGKILL
            partial = queued()
            assert 0 < partial < managed, partial  # killed while building: some chunks in, some not
            assert partial % CHUNK == 0  # whole chunks only: nothing half-written
            assert emulator.seen == {}  # nothing was sent yet

            proc = await cli(cfg, log, "jobs", "run", "checkin_push", "--at", FRIDAY.isoformat())
            assert await asyncio.wait_for(proc.wait(), 600) == 0
        assert queued() == managed
        with db.session() as s:
            assert s.execute(select(func.count()).select_from(CheckIn)
                             .where(CheckIn.pushed_at.is_not(None))).scalar() == managed
        cards = {u: [m for m in emulator.seen.get(u, []) if m.msgtype == "template_card"] for u in users}
        assert {u: len(c) for u, c in cards.items()} == {u: 1 for u in users}
    finally:
        db.dispose()
        await emulator.stop()
