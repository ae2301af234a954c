"""The fault suite's rig: a real PerfBot (WeCom channel, HTTP server, outbox workers) on SQLite and
PostgreSQL against the WeCom emulator with its fault layer; time is the injected ManualClock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.demo import seed_demo
from storage.db import Database, open_database
from storage.models import Department, Employee
from tests.conftest import DEMO_NOW, DEMO_TODAY
from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_driver import CallbackDriver
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN, WeComRig, start_bot, wecom_settings

API_TIMEOUT = 0.4  # seconds the bot waits for WeCom before the call is "in doubt"
INGEST_TOKEN = "ingest-secret-7f3a9c"


REPS = [f"wx_r{i:04}" for i in range(500)]


def add_reps(db: Database, n: int) -> list[str]:
    """``n`` extra active sales reps with WeCom ids (a bigger company than the demo)."""
    with db.session() as s:
        dept = s.execute(select(Department).limit(1)).scalar_one()
        s.add_all(Employee(id=f"R{i:04}", name=f"代表{i}", department_id=dept.id, manager_id="E100",
                           wecom_userid=f"wx_r{i:04}") for i in range(n))
    return [f"wx_r{i:04}" for i in range(n)]


@pytest.fixture
async def frig(db_url: str, caplog: pytest.LogCaptureFixture) -> AsyncIterator[WeComRig]:
    caplog.set_level(logging.INFO)
    clock = ManualClock(DEMO_NOW)
    emulator = WeComEmulator(corp_id=CORP_ID, now=lambda: clock.now().timestamp())
    api_base = await emulator.start()
    r: WeComRig | None = None
    try:
        settings = wecom_settings(db_url, api_base)
        settings.wecom.api_timeout_seconds = API_TIMEOUT
        settings.server.ingest_token = INGEST_TOKEN
        db = open_database(db_url)
        seed_demo(db, settings, today=DEMO_TODAY)
        add_reps(db, len(REPS))
        with db.session() as s:
            emulator.users = {u for u in s.execute(select(Employee.wecom_userid)).scalars() if u}
        db.dispose()
        bot = await start_bot(settings, clock)
        url = f"http://127.0.0.1:{bot._port}{settings.wecom.callback_path}"
        driver = CallbackDriver(url, emulator, TOKEN, AES_KEY, now=lambda: clock.now().timestamp())
        r = WeComRig(bot, emulator, driver, clock, settings, db_url)
        yield r
    finally:
        if r is not None:
            await r.bot.stop()
            r.bot.db.dispose()
            await r.driver.close()
        await emulator.stop()
