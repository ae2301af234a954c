"""A PerfBot whose DingTalk channel talks to the DingTalk emulator (demo organisation seeded)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.app import PerfBot
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo import seed_demo
from storage.db import open_database
from tests.conftest import DEMO_NOW, DEMO_TODAY, make_settings, truncate_pg
from tests.emulators.dingtalk import DingTalkEmulator, until


def dingtalk_settings(url: str, emu: DingTalkEmulator) -> Settings:
    s = make_settings(url)
    s.dingtalk.client_id = emu.client_id
    s.dingtalk.client_secret = emu.client_secret
    s.dingtalk.openapi_base = emu.base
    s.dingtalk.oapi_base = emu.base  # the contacts host too: no test talks to a real server
    return s


@pytest.fixture
async def emu() -> AsyncIterator[DingTalkEmulator]:
    e = await DingTalkEmulator().start()
    yield e
    await e.stop()


BotFactory = Callable[..., Awaitable[PerfBot]]


@pytest.fixture
def bot_db_url(request) -> str:
    """The bots' database: SQLite; ``@pytest.mark.parametrize("bot_db_url", ["sqlite", "postgresql"],
    indirect=True)`` runs a test on both (PostgreSQL: the run's throwaway database, emptied)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        url = request.getfixturevalue("pg_database")
        truncate_pg(url)
        return url
    return request.getfixturevalue("sqlite_url")


@pytest.fixture
async def make_bot(emu, bot_db_url) -> AsyncIterator[BotFactory]:
    """``await make_bot()`` → a started bot on the emulator; several calls share the database."""
    bots: list[PerfBot] = []
    seeded = False

    async def make(connect: bool = True, fast: bool = True, **dingtalk: object) -> PerfBot:
        nonlocal seeded
        settings = dingtalk_settings(bot_db_url, emu)
        for k, v in dingtalk.items():
            setattr(settings.dingtalk, k, v)
        db = open_database(bot_db_url)
        if not seeded:
            seed_demo(db, settings, today=DEMO_TODAY)
            seeded = True
        bot = PerfBot(settings, clock=ManualClock(DEMO_NOW), db=db, scheduler=False)
        if fast:  # short reconnect delays so tests run quickly (production: 1 s base, 60 s cap)
            stream = bot.channels["dingtalk"].stream
            stream.backoff_base, stream.backoff_max = 0.02, 0.5
        bots.append(bot)
        await bot.start()
        if connect:
            await until(lambda: stream_of(bot).connected.is_set(), what="the stream to connect")
        return bot

    yield make
    for b in bots:
        if b.started:
            await b.stop()
        b.db.dispose()


def stream_of(bot: PerfBot):
    return bot.channels["dingtalk"].stream
