"""Holiday calendar coverage: years chinesecalendar lacks fall back to the fixed-date statutory
holidays with a warning, and operators add holidays and make-up days in ``[calendar]``."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from bot.app import PerfBot
from bot.channels.terminal import TerminalChannel
from bot.clock import ManualClock
from bot.config import ConfigError, load_settings
from storage.db import open_database
from tests.conftest import TZ, make_settings, texts
from tests.core.test_cli import _config, run


async def push(chat, at):
    chat.clock.set(at)
    return await chat.run_job("checkin_push")


async def test_new_years_day_2027_is_a_holiday_without_library_data(chat):
    # 2027-01-01 is a Friday; chinesecalendar (data up to 2026) does not know it.
    detail = await push(chat, datetime(2027, 1, 1, 16, 0, tzinfo=TZ))
    assert "check-in day: 2026-12-31" in detail
    assert "no data for 2027" in detail and "extra_holidays" in detail
    assert chat.seen("E101") == []
    assert "pushed" in await push(chat, datetime(2026, 12, 31, 16, 0, tzinfo=TZ))
    assert "2026-W53" in texts(chat.seen("E101"))


async def test_national_day_and_labour_day_fall_back_to_fixed_dates(chat):
    # 2027-10-01 is a Friday: the week's check-in moves to Thursday 09-30.
    assert "check-in day: 2027-09-30" in await push(chat, datetime(2027, 10, 1, 16, 0, tzinfo=TZ))
    assert "pushed" in await push(chat, datetime(2027, 9, 30, 16, 0, tzinfo=TZ))
    assert "2027-W39" in texts(chat.seen("E101"))


async def test_operator_holidays_and_makeup_days_win_and_silence_the_warning(chat):
    cal = chat.bot.settings.calendar
    cal.extra_holidays = ["2027-02-12"]          # a Friday off (春节)
    cal.extra_workdays = ["2027-02-20"]          # the next week's make-up Saturday
    detail = await push(chat, datetime(2027, 2, 12, 16, 0, tzinfo=TZ))
    assert "check-in day: 2027-02-11" in detail and "no data" not in detail
    assert "pushed" in await push(chat, datetime(2027, 2, 11, 16, 0, tzinfo=TZ))
    assert "2027-W06" in texts(chat.seen("E101"))
    assert "not a check-in moment" in await push(chat, datetime(2027, 2, 19, 16, 0, tzinfo=TZ))
    assert "pushed" in await push(chat, datetime(2027, 2, 20, 16, 0, tzinfo=TZ))  # 调休 Saturday
    assert "2027-W07" in texts(chat.seen("E102"))


async def test_start_up_warns_about_an_uncovered_year(sqlite_url, caplog):
    settings = make_settings(sqlite_url)
    db = open_database(sqlite_url)
    bot = PerfBot(settings, clock=ManualClock(datetime(2027, 3, 1, 9, 0, tzinfo=TZ)),
                  channels=[TerminalChannel()], db=db, scheduler=False)
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await bot.start(workers=False)
    await bot.stop()
    db.dispose()
    assert any("no data for 2027" in r.getMessage() for r in caplog.records)


def test_calendar_config_is_checked(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[calendar]\nextra_holidays = ["2027-02-12"]\nextra_workdays = ["2027/02/20"]\n',
                 encoding="utf-8")
    with pytest.raises(ConfigError, match="calendar.extra_workdays: expected dates as YYYY-MM-DD"):
        load_settings(p, env={})
    p.write_text('[calendar]\nextra_holidays = ["2027-02-12"]\nextra_workdays = ["2027-02-20"]\n',
                 encoding="utf-8")
    s = load_settings(p, env={})
    assert [str(d) for d in s.calendar.holidays()] == ["2027-02-12"]


def test_jobs_run_in_an_uncovered_year_warns_the_operator(tmp_path):
    cfg = _config(tmp_path)
    assert run(["demo", "--no-chat"], cfg).returncode == 0
    r = run(["jobs", "run", "checkin_push", "--at", "2027-01-01T16:00"], cfg)
    assert r.returncode == 0, r.stderr
    assert "this week's check-in day: 2026-12-31" in r.stdout
    assert "chinesecalendar has no data for 2027" in r.stderr
