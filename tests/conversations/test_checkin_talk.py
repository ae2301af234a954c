"""Issue 13 in the terminal: the weekly check-in as people really type it (items 1 and 2)."""

from __future__ import annotations

from datetime import datetime

import pytest

from handlers.checkin import store
from storage.models import CheckIn
from tests.conftest import TZ, texts

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
WEEK = "2026-W48"


async def push(chat) -> None:  # type: ignore[no-untyped-def]
    chat.clock.set(FRIDAY)
    await chat.run_job("checkin_push")


def checkin(chat, emp: str = "E101") -> CheckIn:  # type: ignore[no-untyped-def]
    ci = store.for_week(chat.bot.db, emp, WEEK)
    assert ci is not None
    return ci


# -- item 2: one-message formats ------------------------------------------------------------------------
@pytest.mark.parametrize(("press_first", "message", "parts"), [
    (True, "1、完成华山医院demo 2、客户那边预算卡住了 3、下周跟进预算审批",
     ("完成华山医院demo", "客户那边预算卡住了", "下周跟进预算审批")),
    (False, "本周成果\n签下华山\n障碍\n预算卡住\n下周\n跟进预算", ("签下华山", "预算卡住", "跟进预算")),
    (False, "成果：签下华山 障碍：预算卡住 下周：跟进预算审批", ("签下华山", "预算卡住", "跟进预算审批")),
    (False, "成果：签下华山\n困难：预算卡住\n计划：跟进预算审批", ("签下华山", "预算卡住", "跟进预算审批")),
    (False, "done: 签下华山\nblocker: 预算卡住\nnext: 跟进预算审批", ("签下华山", "预算卡住", "跟进预算审批")),
])
async def test_one_message_formats_people_use(chat, press_first: bool, message: str, parts: tuple[str, ...]) -> None:
    await push(chat)
    if press_first:
        await chat.press("E101", 1)
    out = texts(await chat.say(message, as_="E101"))
    assert "周复盘已提交" in out
    ci = checkin(chat)
    assert (ci.achievement, ci.obstacle, ci.next_action) == parts  # 下周 never left inside 障碍
