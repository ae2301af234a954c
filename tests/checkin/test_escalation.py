"""The check-in escalation chain: each step once, never after the thing is done, across restarts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.app import PerfBot
from handlers.checkin import store
from tests.conftest import TZ, texts

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)


class SmtpStub:
    """A tiny SMTP server on 127.0.0.1 that records the messages it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rcpts: list[str] = []

        async def say(line: str) -> None:
            writer.write((line + "\r\n").encode())
            await writer.drain()

        await say("220 stub")
        while line := await reader.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                await say("250 stub")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip("<> "))
                await say("250 ok")
            elif verb == "DATA":
                await say("354 go")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += await reader.readline()
                self.messages.append((rcpts, data.decode("utf-8", "replace")))
                await say("250 queued")
            elif verb == "QUIT":
                await say("221 bye")
                break
            else:
                await say("250 ok")
        writer.close()


async def scan_at(chat, when: datetime) -> str:
    chat.clock.set(when)
    return await chat.run_job("escalation_scan")


async def test_escalation_chain_each_step_once(chat):
    smtp = SmtpStub()
    await smtp.start()
    s = chat.bot.settings.smtp
    s.host, s.port, s.sender = "127.0.0.1", smtp.port, "perfbot@example.com"
    try:
        chat.clock.set(FRIDAY)
        await chat.run_job("checkin_push")
        chat.clock.set(FRIDAY + timedelta(minutes=30))
        await chat.say("成果：签单 障碍：无 行动：跟进", as_="E101")  # answered on time
        await chat.press("E102", 2)  # on leave
        for who in ("E100", "E101", "E102", "E103", "E104", "E105", "E003"):
            chat.seen(who)

        # 24 h counted on workdays: Friday 16:00 → Monday 16:00 (the weekend does not count).
        await scan_at(chat, datetime(2026, 11, 30, 15, 50, tzinfo=TZ))
        assert chat.seen("E103") == []
        chat.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=TZ))
        await chat.say("1. 完成演示\n2. 无\n3. 投标", as_="E104")  # answers before the reminder
        await scan_at(chat, datetime(2026, 11, 30, 16, 0, tzinfo=TZ))
        assert "周复盘还没填" in texts(chat.seen("E103"))
        assert "周复盘还没填" in texts(chat.seen("E105"))
        for who in ("E101", "E102", "E104"):
            assert "还没填" not in texts(chat.seen(who)), who
        await scan_at(chat, datetime(2026, 11, 30, 16, 10, tzinfo=TZ))
        assert chat.seen("E103") == []  # once

        # E105 answers after the reminder, before the HRBP step.
        chat.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
        await chat.say("成果：回款 障碍：无 行动：拜访", as_="E105")
        chat.seen("E100")

        # Restart mid-chain: a new process on the same database continues the chain.
        await chat.bot.stop()
        bot2 = PerfBot(chat.bot.settings, clock=chat.clock, channels=[chat.terminal], db=chat.bot.db,
                       scheduler=False)
        await bot2.start(workers=False)
        chat.bot = bot2

        await scan_at(chat, datetime(2026, 12, 1, 16, 0, tzinfo=TZ))
        hr = texts(chat.seen("E003"))
        assert "刘洋" in hr and "未填写" in hr
        for name in ("张伟", "李娜", "赵敏", "孙浩"):
            assert f"· {name}" not in hr.split("主管仍未反馈")[0], name
        assert sorted(r[0] for r, _ in smtp.messages) == ["e002@example.com", "e003@example.com"]  # two HRBPs
        # each mail's Message-ID comes from its notice's outbox key (a resend would be the same mail)
        ids = [line for _, data in smtp.messages for line in data.splitlines() if line.startswith("Message-ID:")]
        assert len(ids) == 2 and len(set(ids)) == 2 and all(i.endswith("@example.com>") for i in ids)
        # Manager feedback missing 48 work hours after Friday 16:30's submission → reminder to E100.
        assert "等你的反馈" not in texts(chat.seen("E100"))
        await scan_at(chat, datetime(2026, 12, 1, 16, 30, tzinfo=TZ))
        mgr = texts(chat.seen("E100"))
        assert "张伟 的 2026-W48 周复盘" in mgr and "等你的反馈" in mgr
        await scan_at(chat, datetime(2026, 12, 1, 16, 40, tzinfo=TZ))
        assert chat.seen("E003") == [] and chat.seen("E100") == [] and len(smtp.messages) == 2

        # E104's manager gives feedback before the 72 h HRBP step; E101's does not.
        ci104 = store.for_week(chat.bot.db, "E104", "2026-W48")
        assert ci104 is not None
        await chat.bot.dispatcher.submit(chat.terminal.press_event(
            "E100", next(no for no, (o, c) in chat.terminal.cards.items()
                         if o == "E100" and c.title.startswith("赵敏") and not c.state), 1), wait=True)
        await chat.bot.drain()
        await scan_at(chat, datetime(2026, 12, 2, 16, 30, tzinfo=TZ))
        hr = texts(chat.seen("E003"))
        assert "主管仍未反馈" in hr and "张伟 → 主管 王磊" in hr and "赵敏" not in hr
        assert "刘洋" not in hr  # already escalated yesterday
        await scan_at(chat, datetime(2026, 12, 3, 16, 0, tzinfo=TZ))
        assert chat.seen("E003") == []
        assert "还没填" not in texts(chat.seen("E102"))  # skipped never escalates
    finally:
        await smtp.stop()


async def test_no_escalation_once_answered_or_seen(chat):
    chat.clock.set(FRIDAY)
    await chat.run_job("checkin_push")
    await chat.say("成果：签单 障碍：无 行动：跟进", as_="E101")
    await chat.press("E100", 1, card=chat.terminal.latest_card("E100"))  # 已阅👍
    for who in ("E100", "E101", "E003"):
        chat.seen(who)
    for day in range(3, 10):
        await scan_at(chat, FRIDAY + timedelta(days=day))
    assert "还没填" not in texts(chat.seen("E101"))
    assert "张伟" not in texts(chat.seen("E100"))
    assert "张伟" not in texts(chat.seen("E003"))
