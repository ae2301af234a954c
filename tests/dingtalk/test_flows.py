"""Check-in, escalation and visit feedback end to end over DingTalk: Stream frames in (bot messages and
card callbacks), the OpenAPI calls the emulator recorded out, jobs run with ``run_job`` on the bot's
ManualClock."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.app import PerfBot
from handlers.checkin import store
from handlers.visit import store as vstore
from scheduler.runs import run_job
from storage.models import Department, Employee, PointsEntry, VisitFeedback
from tests.conftest import TZ, import_team_group
from tests.emulators.dingtalk import DingTalkEmulator, until
from tests.emulators.dingtalk_api import CardState, card_buttons, card_text, card_title

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
MONDAY_DUE = datetime(2026, 11, 30, 16, 0, tzinfo=TZ)  # Friday 16:00 + 24 workday hours
WEEK = "2026-W48"
REMINDER = "周复盘还没填"


async def job(bot: PerfBot, name: str, at: datetime) -> str | None:
    bot.services.clock.set(at)
    detail = await run_job(bot.services, name, at)
    await bot.drain()
    return detail


def cards_titled(emu: DingTalkEmulator, user: str, prefix: str) -> list[CardState]:
    ids = [s.card_id for s in emu.api.seen.get(user, []) if s.kind == "card"]
    return [emu.api.cards[i] for i in ids if i and card_title(emu.api.cards[i]).startswith(prefix)]


def said(emu: DingTalkEmulator, user: str, fragment: str) -> int:
    return sum(fragment in t for t in emu.api.texts(user))


async def say(emu: DingTalkEmulator, user: str, text: str, expect: str) -> None:
    await emu.acked(await emu.say(user, text))
    await until(lambda: said(emu, user, expect), what=f"{expect!r} for {user}")


async def tap(emu: DingTalkEmulator, user: str, card: CardState, label: str) -> None:
    await emu.acked(await emu.push(emu.click_frame(user, card, label)))


# -- check-in ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rep", "manager", "name", "boss", "style"), [
    ("dt_e101", "dt_e100", "张伟", "王磊", "one_by_one"),
    ("dt_e111", "dt_e110", "马超", "黄丽", "all_in_one"),
])
async def test_friday_checkin_to_manager_seen(emu, make_bot, rep, manager, name, boss, style):
    bot = await make_bot()
    assert "pushed" in str(await job(bot, "checkin_push", FRIDAY))
    [card] = cards_titled(emu, rep, "周复盘 · 2026-W48")
    assert [b["text"] for b in card_buttons(card)] == ["开始填写", "本周休假，跳过"]

    await tap(emu, rep, card, "开始填写")
    await until(lambda: said(emu, rep, "1/3 本周最重要成果"), what="the first question")
    if style == "one_by_one":
        await say(emu, rep, "签下仁和医院首单，金额 80 万", "2/3 遇到的主要障碍")
        await say(emu, rep, "报价审批流程太慢", "3/3 下周关键行动")
        await say(emu, rep, "推动华山医院进入商务谈判", "周复盘已提交")
        answers = ("签下仁和医院首单，金额 80 万", "报价审批流程太慢", "推动华山医院进入商务谈判")
    else:
        await say(emu, rep, "成果：签下仁和医院首单 障碍：报价审批流程太慢 行动：推动华山医院进入商务谈判", "周复盘已提交")
        answers = ("签下仁和医院首单", "报价审批流程太慢", "推动华山医院进入商务谈判")
    assert said(emu, rep, "2/3") == (1 if style == "one_by_one" else 0)
    await until(lambda: card.versions >= 2, what="the push card closed")
    assert card_buttons(card) == [] and "已提交" in card_text(card)

    await until(lambda: cards_titled(emu, manager, f"{name} 的周复盘"), what="the manager's review card")
    [review] = cards_titled(emu, manager, f"{name} 的周复盘 · {WEEK}")
    assert [b["text"] for b in card_buttons(review)] == ["已阅👍", "写反馈"]
    assert f"成果：{answers[0]}" in card_text(review)

    await tap(emu, manager, review, "已阅")
    await until(lambda: said(emu, rep, f"{boss} 已阅你 {WEEK} 的周复盘"), what="the employee told")
    await until(lambda: review.versions >= 2, what="the review card updated")
    await bot.drain()
    assert card_buttons(review) == [] and "已阅👍" in card_text(review)
    assert review.versions == 2
    assert said(emu, rep, "已阅你") == 1
    # The manager's confirmation is a separate send: wait for it rather than racing the worker.
    await until(lambda: said(emu, manager, f"已标记为已阅：{name}"), what="the manager's confirmation")
    assert said(emu, manager, f"已标记为已阅：{name}") == 1

    ci = store.for_week(bot.db, rep.replace("dt_", "").upper(), WEEK)
    assert ci is not None and ci.status == "submitted"
    assert (ci.achievement, ci.obstacle, ci.next_action) == answers
    assert ci.submitted_at == FRIDAY and ci.manager_seen_at == FRIDAY


# -- escalation --------------------------------------------------------------------------------------
async def test_unanswered_checkin_gets_exactly_one_reminder(emu, make_bot):
    bot = await make_bot()
    await job(bot, "checkin_push", FRIDAY)
    assert cards_titled(emu, "dt_e101", "周复盘")
    before = len(emu.api.seen["dt_e101"])
    await job(bot, "escalation_scan", datetime(2026, 11, 30, 15, 50, tzinfo=TZ))
    assert len(emu.api.seen["dt_e101"]) == before
    await job(bot, "escalation_scan", MONDAY_DUE)
    assert said(emu, "dt_e101", REMINDER) == 1
    reminder = next(s for s in emu.api.seen["dt_e101"] if REMINDER in s.text)
    assert reminder.kind == "text" and reminder.via == "robot" and "填写周复盘" in reminder.text
    after = len(emu.api.seen["dt_e101"])
    await job(bot, "escalation_scan", MONDAY_DUE)
    await job(bot, "escalation_scan", datetime(2026, 11, 30, 16, 10, tzinfo=TZ))
    assert len(emu.api.seen["dt_e101"]) == after and said(emu, "dt_e101", REMINDER) == 1
    ci = store.for_week(bot.db, "E101", WEEK)
    assert ci is not None and ci.reminded_at == MONDAY_DUE
    assert not emu.api.group_calls  # no group configured


async def test_group_reminder_names_the_late_employee(emu, make_bot, tmp_path):
    cid = "cidHuaDongSales0001=="
    bot = await make_bot()
    import_team_group(bot.db, tmp_path / "in", "华东销售组", "销售部", "E100", dingtalk_conversation_id=cid)
    await job(bot, "checkin_push", FRIDAY)
    for user in ("dt_e100", "dt_e102", "dt_e103", "dt_e104", "dt_e105"):  # everyone else is on leave
        await say(emu, user, "本周休假", "已跳过")
    await job(bot, "escalation_scan", MONDAY_DUE)
    await job(bot, "escalation_scan", datetime(2026, 11, 30, 16, 10, tzinfo=TZ))
    assert len(emu.api.group_calls) == 1
    call = emu.api.group_calls[0]
    assert call["openConversationId"] == cid and call["msgKey"] in ("sampleText", "sampleMarkdown")
    [shown] = emu.api.seen[f"group:{cid}"]
    assert shown.via == "group" and "@张伟" in shown.text and "2026-W48 周复盘还未填写" in shown.text and shown.text.count("张伟") == 1
    assert "张伟" in json.loads(call["msgParam"]).get("content", json.loads(call["msgParam"]).get("text", ""))
    assert said(emu, "dt_e101", REMINDER) == 1


# -- visit feedback ----------------------------------------------------------------------------------
async def test_visit_feedback_tags_note_and_a_point(emu, make_bot):
    bot = await make_bot()
    before = vstore.points_balance(bot.db, "E101")
    await emu.acked(await emu.say("dt_e101", "拜访结束 仁和医院"))
    await until(lambda: cards_titled(emu, "dt_e101", "拜访反馈 · 仁和医院"), what="the visit card")
    await bot.drain()  # the worker has recorded the card it sent (taps look it up)
    [card] = cards_titled(emu, "dt_e101", "拜访反馈 · 仁和医院")
    labels = [b["text"] for b in card_buttons(card)]
    assert labels[:4] == ["沟通质量好", "需求洞察深", "价格异议", "竞品威胁"] and labels[-1] == "提交"
    for label, version in (("沟通质量好", 2), ("竞品威胁", 3)):
        await tap(emu, "dt_e101", card, label)
        await until(lambda v=version: card.versions == v, what=f"the card to show the tap on {label}")
    assert {"✅ 沟通质量好", "✅ 竞品威胁"} <= {b["text"] for b in card_buttons(card)}
    await tap(emu, "dt_e101", card, "提交")
    await until(lambda: said(emu, "dt_e101", "已记下：沟通质量好、竞品威胁"), what="the request for the note")
    assert said(emu, "dt_e101", "不超过 20 字") == 1
    await until(lambda: card_buttons(card) == [], what="the visit card closed")
    assert "已选：沟通质量好、竞品威胁" in card_text(card)

    long_note = "客户非常关注交付周期并要求我们下周提供完整竞品对比"
    assert len(long_note) == 25
    await say(emu, "dt_e101", long_note, "超过了 20 字")
    assert said(emu, "dt_e101", "请精简后重新发送") == 1
    with bot.db.session() as s:
        fb = s.execute(select(VisitFeedback).where(VisitFeedback.employee_id == "E101",
                                                   VisitFeedback.visit_id.like("C%"))).scalar_one()
        assert fb.tags == ["沟通质量好", "竞品威胁"] and fb.note is None and not fb.complete
        assert s.execute(select(PointsEntry).where(PointsEntry.ref == f"visit:{fb.visit_id}")).first() is None
    assert vstore.points_balance(bot.db, "E101") == before

    await say(emu, "dt_e101", "竞品报价低两成", "+1 积分")
    await bot.drain()
    assert said(emu, "dt_e101", f"当前积分 {before + 1}") == 1
    with bot.db.session() as s:
        fb = s.execute(select(VisitFeedback).where(VisitFeedback.visit_id == fb.visit_id)).scalar_one()
        assert fb.complete and fb.note == "竞品报价低两成" and fb.tags == ["沟通质量好", "竞品威胁"]
        points = list(s.execute(select(PointsEntry).where(PointsEntry.ref == f"visit:{fb.visit_id}")).scalars())
    assert [p.delta for p in points] == [1]
    assert vstore.points_balance(bot.db, "E101") == before + 1


async def test_group_the_robot_is_not_in_fails_visibly_and_the_personal_reminder_still_goes(emu, make_bot):
    from storage.models import OutboxMessage

    emu.api.groups = {"cidSomeOtherGroup=="}
    bot = await make_bot()
    with bot.db.session() as s:
        dept = s.execute(select(Department).join(Employee, Employee.department_id == Department.id)
                         .where(Employee.id == "E101")).scalar_one()
        dept.dingtalk_conversation_id = "cidRobotNotHere=="
        s.add(dept)
    await job(bot, "checkin_push", FRIDAY)
    await job(bot, "escalation_scan", MONDAY_DUE)
    assert said(emu, "dt_e101", REMINDER) == 1 and not emu.api.group_calls
    with bot.db.session() as s:
        rows = list(s.execute(select(OutboxMessage).where(OutboxMessage.kind == "group_text")).scalars())
    assert rows and {r.status for r in rows} == {"failed"} and "resource.not.found" in str(rows[0].last_error)
