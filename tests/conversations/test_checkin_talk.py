"""Issue 13 in the terminal: the weekly check-in as people really type it (items 1 and 2)."""

from __future__ import annotations

from datetime import datetime

import pytest

from handlers.checkin import store
from storage.models import CheckIn
from tests.conftest import TZ, texts

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
WEEK = "2026-W48"


async def push(chat) -> None:
    chat.clock.set(FRIDAY)
    await chat.run_job("checkin_push")


def checkin(chat, emp: str = "E101") -> CheckIn:
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


# -- item 1: a question mid-check-in is answered, then the pending question is asked again -------------
async def test_questions_mid_checkin_are_answered_not_saved(chat) -> None:
    await push(chat)
    assert "1/3 本周最重要成果" in texts(await chat.press("E101", 1))
    out = texts(await chat.say("本月还有哪些任务没完成", as_="E101"))
    assert "还有 2 项任务未完成" in out and out.rstrip().endswith("（继续周复盘）1/3 本周最重要成果？")
    assert checkin(chat).achievement is None
    assert "2/3" in texts(await chat.say("签下华山医院首单", as_="E101"))
    out = texts(await chat.say("我的KPI进度", as_="E101"))
    assert "新客户签约数：12/18 家" in out and out.rstrip().endswith("（继续周复盘）2/3 遇到的主要障碍？（没有也可以写「无」）")
    out = texts(await chat.say("对了我的积分多少？", as_="E101"))
    assert "当前积分" in out and "（继续周复盘）2/3" in out
    # commands let through (帮助, 我的积分) no longer lose the pending question
    shown = await chat.say("帮助", as_="E101")
    assert shown[0].kind == "card" and "（继续周复盘）2/3" in texts(shown)
    assert "（继续周复盘）2/3" in texts(await chat.say("我的积分", as_="E101"))
    assert checkin(chat).obstacle is None
    await chat.say("预算审批卡住了", as_="E101")
    assert "周复盘已提交" in texts(await chat.say("下周跟进预算审批", as_="E101"))
    ci = checkin(chat)
    assert (ci.achievement, ci.obstacle, ci.next_action) == ("签下华山医院首单", "预算审批卡住了", "下周跟进预算审批")
    # the manager got the real answers, never the questions
    manager = texts(chat.seen("E100"))
    assert "预算审批卡住了" in manager and "KPI" not in manager and "积分" not in manager


async def test_when_unsure_the_bot_asks_whether_it_is_an_answer(chat) -> None:
    await push(chat)
    await chat.press("E101", 1)
    await chat.say("签下华山医院首单", as_="E101")
    shown = await chat.say("目标定得太高了", as_="E101")
    [card] = [s for s in shown if s.kind == "card"]
    assert "「目标定得太高了」" in card.text and "这是对第 2 题（障碍）的回答吗？" in card.text
    assert checkin(chat).obstacle is None
    out = texts(await chat.press("E101", 1))  # 是，记为回答
    assert "3/3 下周关键行动" in out and checkin(chat).obstacle == "目标定得太高了"
    # 「不是」 answers it as a question instead (here: not understood), then asks again
    shown = await chat.say("客户为什么不签？", as_="E101")
    assert any(s.kind == "card" for s in shown)
    out = texts(await chat.say("不是", as_="E101"))
    assert "（继续周复盘）3/3 下周关键行动？" in out and checkin(chat).next_action is None


async def test_question_while_revising_is_answered_then_revision_continues(chat) -> None:
    await push(chat)
    await chat.say("成果：签下华山 障碍：预算卡住 行动：跟进预算", as_="E101")
    await chat.say("修改周复盘", as_="E101")
    out = texts(await chat.say("我的KPI进度", as_="E101"))
    assert "新客户签约数：12/18 家" in out and "（继续修改周复盘）请告诉我要改哪一项" in out
    assert checkin(chat).obstacle == "预算卡住"
    assert "周复盘已修改" in texts(await chat.say("障碍：预算审批卡住了", as_="E101"))
