"""A real PerfBot with the WeCom channel, its HTTP server and outbox workers running, talking to
the WeCom emulator (API side) and driven by encrypted callbacks (callback side)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.app import PerfBot
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo import seed_demo
from storage.db import Database, open_database
from storage.models import Employee, OutboxMessage
from tests.conftest import DEMO_NOW, DEMO_TODAY, make_settings
from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_driver import CallbackDriver

TOKEN = "perfbotToken123"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wwPERFBOTTEST"


def wecom_settings(url: str, api_base: str) -> Settings:
    s = make_settings(url)
    w = s.wecom
    w.corp_id, w.agent_id, w.secret = CORP_ID, 1000002, "emulator-secret"
    w.token, w.encoding_aes_key, w.api_base = TOKEN, AES_KEY, api_base
    return s


async def until(cond: Callable[[], object], what: str = "condition", rounds: int = 2000) -> None:
    """Poll ``cond`` (bounded); fails the test with ``what`` if it never holds."""
    for _ in range(rounds):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class WeComRig:
    bot: PerfBot
    emulator: WeComEmulator
    driver: CallbackDriver
    clock: ManualClock
    settings: Settings
    url: str

    async def settle(self) -> None:
        """Inbound processing done and every due outbox row handled (by us or the running worker)."""
        await self.bot.drain()
        await until(lambda: not self.in_flight(), "outbox rows in flight")

    def in_flight(self) -> int:
        now = self.clock.now()
        with self.bot.db.session() as s:
            q = select(func.count()).select_from(OutboxMessage).where(
                (OutboxMessage.status == "sending")
                | ((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)))
            return int(s.execute(q).scalar_one())

    async def restart(self) -> None:
        """Stop the bot and start a fresh one on the same database file (a process restart)."""
        await self.bot.stop()
        self.bot.db.dispose()
        self.bot = await start_bot(self.settings, self.clock)
        self.driver.url = f"http://127.0.0.1:{self.bot._port}{self.settings.wecom.callback_path}"


async def start_bot(settings: Settings, clock: ManualClock) -> PerfBot:
    bot = PerfBot(settings, clock=clock, db=open_database(settings.storage.url), scheduler=False)
    bot._port = await bot.serve_http(host="127.0.0.1", port=0)
    await bot.start()
    return bot


async def make_rig(url: str, configure: Callable[[Settings], object] | None = None,
                   prepare: Callable[[Database], object] | None = None) -> AsyncIterator[WeComRig]:
    """A bot on ``url`` with the demo organisation (plus ``prepare``'s people) behind the WeCom
    emulator; ``configure`` adjusts the settings first. Yields the rig, stops everything after."""
    clock = ManualClock(DEMO_NOW)
    emulator = WeComEmulator(corp_id=CORP_ID, now=lambda: clock.now().timestamp())
    api_base = await emulator.start()
    r: WeComRig | None = None
    try:
        settings = wecom_settings(url, api_base)
        if configure is not None:
            configure(settings)
        db = open_database(url)
        seed_demo(db, settings, today=DEMO_TODAY)
        if prepare is not None:
            prepare(db)
        with db.session() as s:
            emulator.users = {u for u in s.execute(select(Employee.wecom_userid)).scalars() if u}
        db.dispose()
        bot = await start_bot(settings, clock)
        url_cb = f"http://127.0.0.1:{bot._port}{settings.wecom.callback_path}"
        driver = CallbackDriver(url_cb, emulator, TOKEN, AES_KEY, now=lambda: clock.now().timestamp())
        r = WeComRig(bot, emulator, driver, clock, settings, url)
        yield r
    finally:
        if r is not None:
            await r.bot.stop()
            r.bot.db.dispose()
            await r.driver.close()
        await emulator.stop()


@pytest.fixture
async def rig(sqlite_url):
    async for r in make_rig(sqlite_url):
        yield r
