from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import select

from storage import inbox
from storage.models import OutboxMessage
from tests.conftest import texts


async def test_help_shows_a_card_with_buttons(chat):
    shown = await chat.say("帮助", as_="E101")
    assert len(shown) == 1 and shown[0].kind == "card"
    assert "绩效助手" in shown[0].text and "[1] 我的任务" in shown[0].text


async def test_help_works_on_both_databases(chat_any_db):
    shown = await chat_any_db.say("  帮助！ ", as_="E100")
    assert shown[0].kind == "card"
    assert "作为主管" in shown[0].text  # managers see what they can do for their team


async def test_unknown_employee_gets_polite_message_and_nothing_else(chat):
    bot = chat.bot
    event = chat.terminal.text_event("E999", "我压力好大想离职")
    await bot.dispatcher.submit(event, wait=True)
    await bot.drain()
    assert "没有在通讯录中找到你的账号" in texts(chat.terminal.take("E999"))
    with bot.db.session() as s:
        from storage.models import ReplyAnalysis

        assert s.execute(select(ReplyAnalysis)).first() is None


async def test_duplicate_delivery_is_processed_once(chat):
    bot = chat.bot
    event = chat.terminal.text_event("E101", "帮助")
    assert await bot.dispatcher.submit(event, wait=True) is True
    assert await bot.dispatcher.submit(event, wait=True) is False
    await bot.drain()
    assert len(chat.terminal.take("E101")) == 1
    assert inbox.status_of(bot.db, event.key) == "done"


async def test_button_press_by_number_runs_the_action(chat):
    await chat.say("帮助", as_="E101")
    shown = await chat.press("E101", 1)
    assert shown, "pressing a menu button must answer"


async def test_unparseable_button_payload_gets_a_friendly_answer(chat):
    from bot.events import CardAction

    ev = CardAction(channel="terminal", sender="E101", key="terminal:bad1", action="garbage")
    await chat.bot.dispatcher.submit(ev, wait=True)
    await chat.bot.drain()
    assert "按钮已失效或无法识别" in texts(chat.terminal.take("E101"))


async def test_a_30_digit_id_in_a_button_payload_is_a_bad_payload_not_a_crash(chat):
    from bot.events import CardAction

    ev = CardAction(channel="terminal", sender="E090", key="terminal:big1",
                    action="adj:approve:123456789012345678901234567890:v1")
    await chat.bot.dispatcher.submit(ev, wait=True)
    await chat.bot.drain()
    answer = texts(chat.terminal.take("E090"))
    assert answer and "出了点问题" not in answer  # a polite "this button is stale", not the error reply


async def test_pending_inbound_event_is_replayed_after_restart(chat):
    bot = chat.bot
    event = chat.terminal.text_event("E101", "帮助")
    # The process "died" right after accepting the event: it is in the inbox, still pending.
    assert inbox.accept(bot.db, event.key, event.channel, event.to_dict(), chat.clock.now())
    assert await bot.dispatcher.replay_pending() == 1
    await bot.drain()
    assert chat.terminal.take("E101")[0].kind == "card"
    assert await bot.dispatcher.replay_pending() == 0


async def test_a_pending_row_that_is_no_event_does_not_block_the_replay_of_the_others(chat):
    bot = chat.bot
    # A DingTalk tag toggle interrupted between its accept and finish leaves its own payload behind.
    assert inbox.accept(bot.db, "dingtalk:frame:m1", "dingtalk", {"toggle": "t1", "card": "c1"}, chat.clock.now())
    event = chat.terminal.text_event("E101", "帮助")
    assert inbox.accept(bot.db, event.key, event.channel, event.to_dict(), chat.clock.now())
    assert await bot.dispatcher.replay_pending() == 1
    await bot.drain()
    assert chat.terminal.take("E101")[0].kind == "card"  # the real event is answered
    assert inbox.status_of(bot.db, "dingtalk:frame:m1") == "failed"  # closed, never replayed again
    assert await bot.dispatcher.replay_pending() == 0


async def test_long_text_is_split_not_cut(chat):
    body = "\n".join(f"第{i}行：" + "很长的内容" * 20 for i in range(40))
    await chat.bot.services.messenger.send_text("E101", body, key="t:long")
    await chat.bot.drain()
    parts = chat.terminal.take("E101")
    assert len(parts) > 1
    assert "\n".join(p.text for p in parts).replace("\n", "") == body.replace("\n", "")
    with chat.bot.db.session() as s:
        keys = [r.key for r in s.execute(select(OutboxMessage).where(OutboxMessage.key.like("t:long%"))).scalars()]
    assert all(k.startswith("t:long#") for k in keys)


async def test_venting_is_read_and_answered_with_care(chat):
    from storage.models import ReplyAnalysis, RiskFlag

    out = texts(await chat.say("最近压力好大，天天加班到凌晨，有点想离职了", as_="E101"))
    assert "我已请主管王磊以关怀的方式" in out
    with chat.bot.db.session() as s:
        row = s.execute(select(ReplyAnalysis).where(ReplyAnalysis.employee_id == "E101")).scalar_one()
        assert row.source == "chat" and "attrition" in {r["category"] for r in row.risks}
        assert s.execute(select(RiskFlag).where(RiskFlag.employee_id == "E101",
                                                RiskFlag.category == "attrition")).scalar() is not None
    assert any(s.kind == "card" for s in chat.seen("E100"))  # the manager gets a care card
    assert "没太明白" in texts(await chat.say("今天天气怎么样呀", as_="E101"))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_on_postgresql_only_stale_pending_events_are_replayed_once(chat_any_db):
    chat = chat_any_db
    bot = chat.bot
    young = chat.terminal.text_event("E101", "帮助")
    assert inbox.accept(bot.db, young.key, young.channel, young.to_dict(), chat.clock.now())
    assert await bot.dispatcher.replay_pending() == 0  # a live node may be handling it right now
    chat.clock.advance(minutes=6)
    other = type(bot.dispatcher)(bot.services, bot.dispatcher.routers,  # a second process sweeping too
                                 classify=bot.dispatcher.routing.classifier)
    counts = await asyncio.gather(bot.dispatcher.replay_pending(), other.replay_pending())
    assert sorted(counts) == [0, 1]
    await bot.drain()
    assert [s.kind for s in chat.terminal.take("E101")] == ["card"]
    assert inbox.status_of(bot.db, young.key) == "done"


async def test_time_without_argument_shows_the_clock(chat, capsys):
    from bot.chat import ChatSession

    session = ChatSession(chat.bot, chat.terminal, chat.clock, "E101")
    assert await session.handle("/time")
    out = capsys.readouterr().out
    assert "当前时间：2026-11-24 周二 10:00（Asia/Shanghai）" in out and "未知命令" not in out


async def test_card_numbers_continue_and_old_cards_stay_pressable_after_a_restart(chat):
    from bot.app import PerfBot
    from bot.channels.terminal import TerminalChannel
    from tests.conftest import TZ

    chat.clock.set(datetime(2026, 11, 27, 16, 0, tzinfo=TZ))
    await chat.run_job("checkin_push")
    old = chat.terminal.latest_card("E101")
    assert old is not None and "开始填写" in texts(chat.seen("E101"))
    highest = max(chat.terminal.cards)
    # `python -m bot chat` restarted on the same database: a fresh terminal, nothing in memory.
    terminal = TerminalChannel(out_dir=chat.terminal.out_dir)
    bot = PerfBot(chat.bot.settings, clock=chat.clock, channels=[terminal], db=chat.bot.db, scheduler=False)
    await bot.start(workers=False)
    try:
        await bot.dispatcher.submit(terminal.text_event("E102", "帮助"), wait=True)
        await bot.drain()
        shown = terminal.take("E102")
        assert shown[0].card_no == highest + 1 and f"卡片 #{highest + 1}" in shown[0].text
        assert terminal.latest_card("E101") == old  # `/1` finds the card shown before the restart
        await bot.dispatcher.submit(terminal.press_event("E101", old, 1), wait=True)
        await bot.drain()
        assert "1/3" in texts(terminal.take("E101"))  # 开始填写 asks the first question
    finally:
        await bot.stop()
