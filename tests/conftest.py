"""Shared fixtures: databases (SQLite and PostgreSQL), a bot on the terminal channel with the demo
organisation, a transcript-style chat helper, and a guard against non-loopback sockets."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from bot.app import PerfBot
from bot.channels.terminal import Shown, TerminalChannel
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo import seed_demo
from storage.db import Database, open_database
from storage.importer import import_path
from tests.bench.org import write_org

TZ = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
PG_ADMIN_URL = os.environ.get("PERFBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Tuesday 2026-11-24 10:00 in Shanghai: the demo's "today" in every test.
DEMO_NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
DEMO_TODAY = date(2026, 11, 24)


# -- network guard ---------------------------------------------------------------------------------
_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            raise AssertionError(f"test tried to connect to non-loopback address {host!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


# -- databases -------------------------------------------------------------------------------------
def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


@pytest.fixture(scope="session")
def pg_database():
    """A throwaway PostgreSQL database for the whole run (created and dropped here)."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    name = f"perfbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    open_database(url).dispose()  # migrate once
    yield url
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def truncate_pg(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as c:
        tables = [r[0] for r in c.execute(text(
            "select tablename from pg_tables where schemaname='public' and tablename <> 'alembic_version'"))]
        if tables:
            c.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, migrated database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'perfbot.db'}"
    url = request.getfixturevalue("pg_database")
    truncate_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'perfbot.db'}"


@pytest.fixture
def db(db_url) -> Database:
    d = open_database(db_url)
    yield d
    d.dispose()


# -- the bot ---------------------------------------------------------------------------------------
def make_settings(url: str, **policy) -> Settings:
    s = Settings()
    s.storage.url = url
    for k, v in policy.items():
        setattr(s.policy, k, v)
    return s


class Chat:
    """Transcript-style driver: ``await chat.say("帮助", as_="E101")`` returns what the bot showed."""

    def __init__(self, bot: PerfBot, terminal: TerminalChannel, clock: ManualClock) -> None:
        self.bot, self.terminal, self.clock = bot, terminal, clock

    async def say(self, text: str, as_: str) -> list[Shown]:
        await self.bot.dispatcher.submit(self.terminal.text_event(as_, text), wait=True)
        await self.bot.drain()
        return self.terminal.take(as_)

    async def press(self, as_: str, button: int, card: int | None = None,
                    tags: list[int] | None = None) -> list[Shown]:
        card = card or self.terminal.latest_card(as_)
        assert card is not None, f"{as_} has no open card"
        if tags is not None:
            self.terminal.select_tags(card, tags)
        await self.bot.dispatcher.submit(self.terminal.press_event(as_, card, button), wait=True)
        await self.bot.drain()
        return self.terminal.take(as_)

    def seen(self, as_: str) -> list[Shown]:
        return self.terminal.take(as_)

    async def run_job(self, name: str, at: datetime | None = None) -> str | None:
        from scheduler.runs import run_job

        detail = await run_job(self.bot.services, name, at or self.clock.now())
        await self.bot.drain()
        return detail


def import_team_group(db: Database, folder: Path, department: str, parent: str, head: str,
                      wecom_chat_id: str = "", dingtalk_conversation_id: str = "") -> None:
    """Set a department's team group the way an operator does: a departments.csv through the importer."""

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "departments.csv").write_text(
        "department,parent,head_id,wecom_chat_id,dingtalk_conversation_id\n"
        f"{department},{parent},{head},{wecom_chat_id},{dingtalk_conversation_id}\n", encoding="utf-8")
    report = import_path(db, folder, TZ)
    assert report.errors == [], report.summary()


def texts(shown: list[Shown]) -> str:
    return "\n".join(s.text for s in shown)


@pytest.fixture
async def chat(sqlite_url):
    """A bot on the terminal channel, demo organisation loaded, clock at DEMO_NOW (SQLite)."""
    async for c in _chat_for(sqlite_url):
        yield c


@pytest.fixture
async def chat_any_db(db_url):
    """Like ``chat``, once on SQLite and once on PostgreSQL."""
    async for c in _chat_for(db_url):
        yield c


async def _chat_for(url: str):
    settings = make_settings(url)
    db = open_database(url)
    seed_demo(db, settings, today=DEMO_TODAY)
    clock = ManualClock(DEMO_NOW)
    terminal = TerminalChannel(out_dir=Path(url.rsplit("/", 1)[0].replace("sqlite:///", "")) / "files"
                               if url.startswith("sqlite") else Path("/tmp/perfbot-test-files"))
    bot = PerfBot(settings, clock=clock, channels=[terminal], db=db, scheduler=False)
    await bot.start(workers=False)
    try:
        yield Chat(bot, terminal, clock)
    finally:
        await bot.stop()
        db.dispose()


@asynccontextmanager
async def org_bot(tmp_path: Path, url: str, people: int, at: datetime, fanout_chunk: int | None = None,
                  ) -> AsyncIterator[PerfBot]:
    """A started bot on the terminal channel (scheduler off, clock at ``at``) over the benchmarks'
    organisation of ``people`` employees (tests.bench.org), imported with the real importer; stopped
    and its database disposed on exit. ``fanout_chunk``: the jobs' chunk size, when not the default."""
    write_org(tmp_path / "org", people, at.date())
    db = open_database(url)
    import_path(db, tmp_path / "org")
    settings = make_settings(url)
    if fanout_chunk is not None:
        settings.engine.fanout_chunk = fanout_chunk
    bot = PerfBot(settings, clock=ManualClock(at), channels=[TerminalChannel(out_dir=tmp_path / "files")],
                  db=db, scheduler=False)
    await bot.start(workers=False)
    try:
        yield bot
    finally:
        await bot.stop()
        db.dispose()


async def queue_cards_then_reply(bot: PerfBot, channel: str, cards: int) -> None:
    """Queue ``cards`` check-in cards to other people, then a reply to E101 (a delivery round's call
    order: the reply must not wait for the cards queued before it)."""
    from sqlalchemy import select

    from cards.model import Card
    from storage.models import Employee
    from storage.outbox import REPLY

    with bot.db.session() as s:
        people = [e.id for e in s.execute(select(Employee).where(Employee.active)).scalars()
                  if getattr(e, f"{channel}_userid") and e.id != "E101"]
    for i in range(cards):
        card = Card(title=f"本周复盘 {i}", body="请填写本周最重要成果")
        await bot.services.messenger.send_card(people[i % len(people)], card, f"test:card:{i}", f"test:{i}",
                                               channel=channel)
    await bot.services.messenger.send_text("E101", "你好，这是你的回答", "test:reply", channel=channel,
                                           priority=REPLY)
