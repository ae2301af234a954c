"""Weekly check-in end to end through the terminal channel."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import PerfBot
from handlers.checkin import store
from handlers.common.calendar import checkin_day
from storage.models import CheckIn, Feedback, OutboxMessage
from tests.conftest import TZ, texts

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
WEEK = "2026-W48"


async def push(chat, at=FRIDAY):
    chat.clock.set(at)
    return await chat.run_job("checkin_push")


def checkin(chat, emp="E101", week=WEEK) -> CheckIn:
    ci = store.for_week(chat.bot.db, emp, week)
    assert ci is not None
    return ci


async def test_friday_push_card_with_goals_and_buttons(chat):
    assert "not a check-in moment" in await push(chat, FRIDAY - timedelta(days=1))
    detail = await push(chat)
    assert "pushed" in detail
    shown = chat.seen("E101")
    assert len(shown) == 1 and shown[0].kind == "card"
    card = shown[0].text
    assert "周复盘 · 2026-W48（11/23–11/29）" in card and "新客户签约数" in card
    assert "[1] 开始填写" in card and "[2] 本周休假，跳过" in card
    # Running again (a second process, a retry) sends nothing new.
    await push(chat)
    assert chat.seen("E101") == []
    assert checkin(chat).pushed_at == FRIDAY


def test_holiday_friday_and_makeup_saturday_move_the_check_in():
    assert checkin_day(date(2026, 10, 2)) == date(2026, 9, 30)  # National Day Friday → Wednesday
    assert checkin_day(date(2026, 2, 12)) == date(2026, 2, 14)  # 调休 Saturday is the week's last workday
    assert checkin_day(date(2026, 11, 24)) == date(2026, 11, 27)


async def test_holiday_week_pushes_on_the_last_workday(chat):
    assert "not a check-in moment" in await push(chat, datetime(2026, 10, 2, 16, 0, tzinfo=TZ))
    assert chat.seen("E101") == []
    assert "pushed" in await push(chat, datetime(2026, 9, 30, 16, 0, tzinfo=TZ))
    assert "2026-W40" in texts(chat.seen("E101"))
    assert "not a check-in moment" in await push(chat, datetime(2026, 2, 13, 16, 0, tzinfo=TZ))
    assert "pushed" in await push(chat, datetime(2026, 2, 14, 16, 0, tzinfo=TZ))
    assert "2026-W07" in texts(chat.seen("E102"))


async def test_three_questions_in_turn_then_manager_card(chat):
    await push(chat)
    chat.seen("E101")
    out = texts(await chat.press("E101", 1))
    assert "本周最重要成果" in out
    assert "主要障碍" in texts(await chat.say("签下仁和医院首单，金额 80 万", as_="E101"))
    assert "下周关键行动" in texts(await chat.say("报价审批流程太慢", as_="E101"))
    out = texts(await chat.say("推动华山医院进入商务谈判", as_="E101"))
    assert "周复盘已提交" in out
    ci = checkin(chat)
    assert ci.status == "submitted" and ci.obstacle == "报价审批流程太慢"
    mgr = chat.seen("E100")
    assert mgr and mgr[-1].kind == "card" and "张伟 的周复盘" in mgr[-1].text and "已阅👍" in mgr[-1].text


async def test_answers_typed_with_their_question_number_keep_only_the_content(chat):
    await push(chat)
    chat.seen("E101")
    await chat.press("E101", 1)
    await chat.say("1. 签下仁和医院首单", as_="E101")
    await chat.say("2、无", as_="E101")
    await chat.say("（3）跟进华山医院", as_="E101")
    ci = checkin(chat)
    assert (ci.achievement, ci.obstacle, ci.next_action) == ("签下仁和医院首单", "无", "跟进华山医院")


async def test_all_three_in_one_message_labelled_or_numbered(chat):
    await push(chat)
    out = texts(await chat.say("成果：签下仁和医院 障碍：报价审批慢 行动：推进华山医院", as_="E101"))
    assert "周复盘已提交" in out
    assert checkin(chat).next_action == "推进华山医院"
    await chat.press("E102", 1)
    out = texts(await chat.say("1. 完成两场演示\n2. 竞品降价\n3. 准备投标材料", as_="E102"))
    assert "周复盘已提交" in out
    assert checkin(chat, "E102").obstacle == "竞品降价"


async def test_non_answer_gets_one_request_to_elaborate(chat):
    await push(chat)
    await chat.press("E101", 1)
    assert "具体说说" in texts(await chat.say("👍", as_="E101"))
    out = texts(await chat.say("👍", as_="E101"))  # the second time it is accepted
    assert "主要障碍" in out
    assert checkin(chat).achievement == "👍"


async def test_revision_until_manager_has_seen_it(chat):
    await push(chat)
    await chat.say("成果：签下仁和医院 障碍：报价审批慢 行动：推进华山医院", as_="E101")
    chat.seen("E100")
    assert "请发送要修改的部分" in texts(await chat.say("修改周复盘", as_="E101"))
    out = texts(await chat.say("障碍：其实是人手不够", as_="E101"))
    assert "已修改" in out
    ci = checkin(chat)
    assert ci.obstacle == "其实是人手不够" and ci.achievement == "签下仁和医院" and ci.revised_at is not None
    assert "修改了" in texts(chat.seen("E100"))
    await chat.press("E100", 1, card=chat.terminal.latest_card("E100"))  # 已阅👍
    assert "已阅" in texts(chat.seen("E101"))
    assert "不能再修改" in texts(await chat.say("修改周复盘", as_="E101"))


async def test_skip_and_late_answer(chat):
    await push(chat)
    out = texts(await chat.press("E101", 2))
    assert "已跳过" in out and checkin(chat).status == "skipped"
    await chat.press("E102", 1)
    assert "已跳过" in texts(await chat.say("跳过", as_="E102"))
    # E103 answers late, on Monday, without pressing the card.
    chat.clock.set(FRIDAY + timedelta(days=3))
    assert "2026-W48" in texts(await chat.say("填写周复盘", as_="E103"))
    await chat.say("1. 完成演示\n2. 无\n3. 跟进", as_="E103")
    assert checkin(chat, "E103").status == "submitted"


async def test_manager_feedback_with_sbi_hint(chat):
    await push(chat)
    await chat.say("成果：签下仁和医院 障碍：报价审批慢 行动：推进华山医院", as_="E101")
    chat.seen("E101")
    card = chat.terminal.latest_card("E100")
    assert "请写下给 张伟 的反馈" in texts(await chat.press("E100", 2, card=card))
    assert "SBI" in texts(await chat.say("不错，继续加油", as_="E100"))
    out = texts(await chat.say("周三仁和医院的方案汇报里你提前准备了竞品对比，客户当场同意进入商务谈判，很棒", as_="E100"))
    assert "已发送给 张伟" in out
    got = texts(chat.seen("E101"))
    assert "王磊 对你 2026-W48 周复盘的反馈" in got and "竞品对比" in got
    with chat.bot.db.session() as s:
        fb = s.execute(select(Feedback).where(Feedback.checkin_id == checkin(chat).id)).scalar_one()
    assert fb.author_id == "E100" and checkin(chat).feedback_at is not None


async def test_vague_feedback_sent_as_is_when_confirmed(chat):
    await push(chat)
    await chat.say("成果：签下仁和医院 障碍：报价审批慢 行动：推进华山医院", as_="E101")
    await chat.press("E100", 2, card=chat.terminal.latest_card("E100"))
    await chat.say("不错", as_="E100")
    assert "已发送" in texts(await chat.say("就这样", as_="E100"))
    assert "不错" in texts(chat.seen("E101"))


async def test_several_submissions_within_the_window_become_one_digest(chat):
    await push(chat)
    chat.seen("E100")  # the manager's own check-in card
    await chat.say("成果：签单 障碍：无 行动：跟进", as_="E101")
    assert len([s for s in chat.seen("E100") if s.kind == "card"]) == 1
    chat.clock.advance(minutes=5)
    await chat.say("成果：演示 障碍：审批慢 行动：投标", as_="E102")
    chat.clock.advance(minutes=5)
    await chat.say("成果：回款 障碍：竞品 行动：拜访", as_="E103")
    assert chat.seen("E100") == []
    chat.clock.advance(minutes=25)
    await chat.run_job("escalation_scan")
    shown = chat.seen("E100")
    assert len(shown) == 1 and "团队周复盘汇总（2 份）" in shown[0].text
    out = texts(await chat.press("E100", 1, card=shown[0].card_no))  # 全部已阅
    assert "李娜" in out and "刘洋" in out


async def test_conversation_survives_a_restart(chat, sqlite_url):
    await push(chat)
    await chat.press("E101", 1)
    await chat.say("签下仁和医院首单", as_="E101")
    await chat.bot.stop()
    bot2 = PerfBot(chat.bot.settings, clock=chat.clock, channels=[chat.terminal], db=chat.bot.db, scheduler=False)
    await bot2.start(workers=False)
    chat.bot = bot2
    assert "下周关键行动" in texts(await chat.say("报价审批慢", as_="E101"))
    assert "已提交" in texts(await chat.say("推进华山医院", as_="E101"))
    assert checkin(chat).achievement == "签下仁和医院首单"


async def test_export_growth_archive(chat):
    await push(chat)
    await chat.say("成果：签下仁和医院 障碍：报价审批慢 行动：推进华山医院", as_="E101")
    shown = await chat.say("导出我的周复盘", as_="E101")
    files = [s for s in shown if s.kind == "file"]
    assert files and files[0].path
    body = await asyncio.to_thread(Path(files[0].path).read_text, encoding="utf-8")
    assert "2026-W48" in body and "签下仁和医院" in body and "主管反馈" in body  # demo history has feedback
    with chat.bot.db.session() as s:
        assert s.execute(select(OutboxMessage).where(OutboxMessage.kind == "file")).first()


async def test_answers_and_feedback_reach_the_analysis_hook(chat):
    import pytest

    from handlers import risk
    from storage.models import ReplyAnalysis

    if not hasattr(risk, "record_reply"):
        pytest.skip("handlers.risk.record_reply not available yet")
    await push(chat)
    await chat.say("成果：签下仁和医院 障碍：人手不够，每天加班到十点 行动：推进华山医院", as_="E101")
    await chat.press("E100", 2, card=chat.terminal.latest_card("E100"))
    await chat.say("周三方案汇报准备充分，客户当场认可，下次提前同步报价底线", as_="E100")
    with chat.bot.db.session() as s:
        refs = {r.ref: r.source for r in s.execute(select(ReplyAnalysis)).scalars()}
    ci = checkin(chat)
    assert refs.get(f"checkin:{ci.id}:obstacle") == "checkin"
    assert any(src == "manager" for src in refs.values())


async def test_a_one_message_check_in_is_stored_whole_on_both_databases(chat_any_db):
    """The check-in row is created or found in one upsert and the answers and the submission are one
    update: what the employee wrote is what is stored, once per week, on SQLite and PostgreSQL."""
    chat = chat_any_db
    out = await chat.say("成果：签下仁和医院首单 障碍：报价审批太慢 行动：推动华山医院谈判", as_="E101")
    assert any("周复盘已提交" in s.text for s in out)
    with chat.bot.db.session() as s:
        rows = list(s.execute(select(CheckIn).where(CheckIn.employee_id == "E101",
                                                   CheckIn.achievement == "签下仁和医院首单")).scalars())
    assert len(rows) == 1 and rows[0].status == "submitted"
    ci = rows[0]
    assert (ci.achievement, ci.obstacle, ci.next_action) == ("签下仁和医院首单", "报价审批太慢", "推动华山医院谈判")
    assert ci.submitted_at is not None
    again = store.ensure(chat.bot.db, "E101", ci.week)  # the existing row, unchanged, no second row
    assert (again.id, again.status, again.achievement) == (ci.id, "submitted", "签下仁和医院首单")
    fresh = store.ensure(chat.bot.db, "E101", "2030-W01")
    assert fresh.status == "pending" and fresh.id != ci.id
