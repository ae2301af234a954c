"""Issue 13, small things: the HRBP's check-in notice says what really happened to the employee's reminder."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import TZ, texts

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
MONDAY_4PM = datetime(2026, 11, 30, 16, 0, tzinfo=TZ)
TUESDAY_4PM = datetime(2026, 12, 1, 16, 0, tzinfo=TZ)


async def scan_at(chat, when: datetime) -> None:
    chat.clock.set(when)
    await chat.run_job("escalation_scan")


async def test_reminder_sent_earlier_is_named_with_its_time(chat) -> None:
    chat.clock.set(FRIDAY)
    await chat.run_job("checkin_push")
    await scan_at(chat, MONDAY_4PM)  # the reminder (24 workday hours)
    chat.seen("E003")
    await scan_at(chat, TUESDAY_4PM)  # the HRBP step (48 workday hours)
    hr = texts(chat.seen("E003"))
    assert "· 张伟（E101，11月30日 16:00 已提醒本人）" in hr and "已提醒过本人" not in hr


async def test_reminder_in_the_same_run_is_not_called_earlier(chat) -> None:
    chat.bot.settings.policy.hrbp_escalation_hours = 24  # both steps fall due together
    chat.clock.set(FRIDAY)
    await chat.run_job("checkin_push")
    await scan_at(chat, MONDAY_4PM)
    hr = texts(chat.seen("E003"))
    assert "· 张伟（E101，本次已同时提醒本人）" in hr and "已提醒过本人" not in hr
