"""Issue 13, item 14: managers write check-in feedback by text; adjustment escalation counts workday hours."""

from __future__ import annotations

from tests.conftest import texts

SBI = "周三给仁和医院的方案汇报中，你提前准备了竞品对比，客户当场同意进入商务谈判"


async def test_feedback_in_one_message(chat) -> None:
    said = texts(await chat.say(f"给张伟写反馈：{SBI}", as_="E100"))
    assert "已发送给 张伟 ✅" in said
    got = texts(chat.seen("E101"))
    assert "王磊 对你 2026-W47 周复盘的反馈" in got and SBI in got


async def test_write_feedback_then_the_text_and_vague_feedback_gets_the_sbi_hint(chat) -> None:
    said = texts(await chat.say("写反馈 李娜", as_="E100"))
    assert "请写下给 李娜 的反馈（2026-W47）" in said
    assert "已发送给 李娜" in texts(await chat.say(SBI, as_="E100"))
    assert "试试 SBI 的写法" in texts(await chat.say("给刘洋写反馈：不错", as_="E100"))
    assert "已发送给 刘洋" in texts(await chat.say("就这样", as_="E100"))
    assert "不错" in texts(chat.seen("E103"))


async def test_feedback_only_for_direct_reports(chat) -> None:
    assert "马超不是你的直属下属" in texts(await chat.say(f"给马超写反馈：{SBI}", as_="E100"))
    assert chat.seen("E111") == []


async def test_adjustment_escalation_counts_workday_hours(chat) -> None:
    from datetime import datetime

    from tests.conftest import TZ

    chat.clock.set(datetime(2026, 11, 27, 16, 0, tzinfo=TZ))  # Friday 16:00
    await chat.say("申请把新客户签约数从24调到23，原因：华山医院采购预算冻结到明年", as_="E103")
    chat.clock.set(datetime(2026, 11, 28, 16, 0, tzinfo=TZ))  # 24 wall-clock hours: a Saturday
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 0"
    chat.clock.set(datetime(2026, 11, 30, 15, 50, tzinfo=TZ))
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 0"
    chat.clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=TZ))  # 8 h on Friday + 16 h on Monday
    assert await chat.run_job("adjust_escalation") == "escalated 1, reminded 0"
