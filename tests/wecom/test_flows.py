"""Check-in, escalation and visit feedback end to end over WeCom: encrypted callbacks in, the API calls
the emulator recorded out, jobs run with ``run_job`` on the bot's ManualClock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from handlers.checkin import store
from handlers.visit import store as vstore
from scheduler.runs import run_job
from storage.models import PointsEntry, VisitFeedback
from tests.conftest import TZ, import_team_group
from tests.wecom.conftest import WeComRig, until

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
MONDAY_DUE = datetime(2026, 11, 30, 16, 0, tzinfo=TZ)  # Friday 16:00 + 24 workday hours
WEEK = "2026-W48"
REMINDER = "周复盘还没填"


async def job(rig: WeComRig, name: str, at: datetime) -> str | None:
    rig.clock.set(at)
    detail = await run_job(rig.bot.services, name, at)
    await rig.settle()
    return detail


def cards_titled(rig: WeComRig, user: str, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """(task_id, card as currently shown) for every card ``user`` got whose title starts with ``prefix``."""
    out = []
    for s in rig.emulator.seen[user]:
        if s.msgtype == "template_card" and s.body["main_title"]["title"].startswith(prefix):
            tid = s.body["task_id"]
            out.append((tid, rig.emulator.card_for(user, tid)))
    return out


def key_of(card: dict[str, Any], text: str) -> str:
    return next(b["key"] for b in card["button_list"] if b["text"] == text)


def said(rig: WeComRig, user: str, fragment: str) -> int:
    return sum(fragment in t for t in rig.emulator.texts(user))


async def say(rig: WeComRig, user: str, text: str, expect: str) -> None:
    assert await rig.driver.push(rig.driver.text_xml(user, text)) == [200]
    await until(lambda: said(rig, user, expect), f"{expect!r} for {user}")


# -- check-in ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rep", "manager", "name", "boss", "style"), [
    ("wx_e101", "wx_e100", "张伟", "王磊", "one_by_one"),
    ("wx_e111", "wx_e110", "马超", "黄丽", "all_in_one"),
])
async def test_friday_checkin_to_manager_seen(rig: WeComRig, rep: str, manager: str, name: str, boss: str,
                                              style: str) -> None:
    assert "pushed" in str(await job(rig, "checkin_push", FRIDAY))
    [(task_id, card)] = cards_titled(rig, rep, "周复盘 · 2026-W48")
    assert card["card_type"] == "button_interaction"
    assert [b["text"] for b in card["button_list"]] == ["开始填写", "本周休假，跳过"]

    assert await rig.driver.push(rig.driver.click_xml(rep, key_of(card, "开始填写"), task_id)) == [200]
    await until(lambda: said(rig, rep, "1/3 本周最重要成果"), "the first question")
    if style == "one_by_one":
        await say(rig, rep, "签下仁和医院首单，金额 80 万", "2/3 遇到的主要障碍")
        await say(rig, rep, "报价审批流程太慢", "3/3 下周关键行动")
        await say(rig, rep, "推动华山医院进入商务谈判", "周复盘已提交")
        answers = ("签下仁和医院首单，金额 80 万", "报价审批流程太慢", "推动华山医院进入商务谈判")
    else:
        await say(rig, rep, "成果：签下仁和医院首单 障碍：报价审批流程太慢 行动：推动华山医院进入商务谈判", "周复盘已提交")
        answers = ("签下仁和医院首单", "报价审批流程太慢", "推动华山医院进入商务谈判")
    assert said(rig, rep, "2/3") == (1 if style == "one_by_one" else 0)
    # the employee's push card is closed with the click's fresh response_code
    await until(lambda: rig.emulator.card_for(rep, task_id).get("replace_text"), "the push card closed")
    assert rig.emulator.card_for(rep, task_id)["replace_text"] == "已提交"

    await until(lambda: cards_titled(rig, manager, f"{name} 的周复盘"), "the manager's review card")
    [(review_id, review)] = cards_titled(rig, manager, f"{name} 的周复盘 · {WEEK}")
    assert review["card_type"] == "button_interaction"
    assert [b["text"] for b in review["button_list"]] == ["已阅👍", "写反馈"]
    assert f"成果：{answers[0]}" in review["sub_title_text"]

    await rig.driver.push(rig.driver.click_xml(manager, key_of(review, "已阅👍"), review_id), deliveries=2)
    await until(lambda: said(rig, rep, f"{boss} 已阅你 {WEEK} 的周复盘"), "the employee told")
    await until(lambda: rig.emulator.card_for(manager, review_id).get("replace_text"), "the review card closed")
    await rig.settle()
    shown = rig.emulator.card_for(manager, review_id)
    assert shown["replace_text"] == "已阅👍" and shown["main_title"]["desc"] == "已阅👍"
    assert [u["users"] for u in rig.emulator.updates if u["task_id"] == review_id] == [[manager]]
    assert said(rig, rep, "已阅你") == 1  # the retried click was processed once
    assert said(rig, manager, f"已标记为已阅：{name}") == 1

    emp = rep.replace("wx_", "").upper()
    ci = store.for_week(rig.bot.db, emp, WEEK)
    assert ci is not None and ci.status == "submitted"
    assert (ci.achievement, ci.obstacle, ci.next_action) == answers
    assert ci.submitted_at == FRIDAY and ci.manager_seen_at == FRIDAY


# -- escalation --------------------------------------------------------------------------------------
async def test_unanswered_checkin_gets_exactly_one_reminder(rig: WeComRig) -> None:
    await job(rig, "checkin_push", FRIDAY)
    assert cards_titled(rig, "wx_e101", "周复盘")
    before = len(rig.emulator.seen["wx_e101"])
    await job(rig, "escalation_scan", datetime(2026, 11, 30, 15, 50, tzinfo=TZ))  # 23 h 50 workday minutes
    assert len(rig.emulator.seen["wx_e101"]) == before
    detail = await job(rig, "escalation_scan", MONDAY_DUE)
    assert "reminders=" in str(detail)
    assert said(rig, "wx_e101", REMINDER) == 1
    reminder = next(s for s in rig.emulator.seen["wx_e101"] if REMINDER in s.text)
    assert reminder.msgtype == "text" and "填写周复盘" in reminder.text
    after = len(rig.emulator.seen["wx_e101"])
    await job(rig, "escalation_scan", MONDAY_DUE)
    await job(rig, "escalation_scan", datetime(2026, 11, 30, 16, 10, tzinfo=TZ))
    assert len(rig.emulator.seen["wx_e101"]) == after and said(rig, "wx_e101", REMINDER) == 1
    ci = store.for_week(rig.bot.db, "E101", WEEK)
    assert ci is not None and ci.reminded_at == MONDAY_DUE
    assert not [c for c in rig.emulator.api_calls if c[0] == "appchat/send"]  # no group configured


async def test_group_reminder_names_the_late_employee_in_the_app_chat(rig: WeComRig, tmp_path) -> None:
    chat_id = "wrkSFfCgAALFgnrSsWU38puA"
    rig.emulator.add_chat(chat_id, "华东销售组", owner="wx_e100",
                          members=[f"wx_e{n}" for n in (100, 101, 102, 103, 104, 105)])
    import_team_group(rig.bot.db, tmp_path / "in", "华东销售组", "销售部", "E100", wecom_chat_id=chat_id)
    await job(rig, "checkin_push", FRIDAY)
    for user in ("wx_e100", "wx_e102", "wx_e103", "wx_e104", "wx_e105"):  # everyone else is on leave
        await say(rig, user, "本周休假", "已跳过")
    await job(rig, "escalation_scan", MONDAY_DUE)
    await job(rig, "escalation_scan", datetime(2026, 11, 30, 16, 10, tzinfo=TZ))
    sends = [body for path, body in rig.emulator.api_calls if path == "appchat/send"]
    assert len(sends) == 1 and sends[0]["chatid"] == chat_id and sends[0]["msgtype"] == "text"
    [msg] = rig.emulator.chat_messages[chat_id]
    assert msg["text"]["content"].startswith("@张伟 ") and "2026-W48 周复盘还未填写" in msg["text"]["content"] and msg["text"]["content"].count("张伟") == 1
    assert said(rig, "wx_e101", REMINDER) == 1


async def test_appchat_send_is_validated_like_wecom(rig: WeComRig) -> None:
    """The emulator's appchat/send refuses what WeCom refuses (and the bot gives such rows up)."""
    api = rig.bot.channels["wecom"].api
    from bot.channels.wecom.api import WeComError

    for body, code in (({"msgtype": "text", "text": {"content": "x"}}, 86001),
                       ({"chatid": "nope", "msgtype": "text", "text": {"content": "x"}}, 86003)):
        with pytest.raises(WeComError) as exc:
            await api.call("appchat/send", body)
        assert exc.value.errcode == code
    m = rig.bot.services.messenger
    assert await m.send_raw("wecom", "nope", "group_text", {"text": "提醒", "mentions": ["wx_e101"]}, "t:group")
    await rig.settle()
    from storage.models import OutboxMessage

    with rig.bot.db.session() as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.key == "t:group")).scalar_one()
    assert row.status == "failed" and "86003" in str(row.last_error)


# -- visit feedback ----------------------------------------------------------------------------------
async def test_visit_feedback_tags_note_and_a_point(rig: WeComRig) -> None:
    before = vstore.points_balance(rig.bot.db, "E101")
    assert await rig.driver.push(rig.driver.text_xml("wx_e101", "拜访结束 仁和医院")) == [200]
    await until(lambda: cards_titled(rig, "wx_e101", "拜访反馈 · 仁和医院"), "the visit card")
    [(task_id, card)] = cards_titled(rig, "wx_e101", "拜访反馈 · 仁和医院")
    assert card["card_type"] == "vote_interaction"
    box = card["checkbox"]
    assert box["question_key"] == "tags" and box["mode"] == 1
    assert [o["text"] for o in box["option_list"]][:4] == ["沟通质量好", "需求洞察深", "价格异议", "竞品威胁"]
    picked = [box["option_list"][0]["id"], box["option_list"][3]["id"]]
    click = rig.driver.click_xml("wx_e101", card["submit_button"]["key"], task_id, selected={"tags": picked})
    assert await rig.driver.push(click) == [200]
    await until(lambda: said(rig, "wx_e101", "已记下：沟通质量好、竞品威胁"), "the request for the note")
    assert said(rig, "wx_e101", "不超过 20 字") == 1
    await until(lambda: rig.emulator.card_for("wx_e101", task_id).get("replace_text"), "the visit card closed")
    assert rig.emulator.card_for("wx_e101", task_id)["main_title"]["desc"] == "已选：沟通质量好、竞品威胁"

    long_note = "客户非常关注交付周期并要求我们下周提供完整竞品对比"
    assert len(long_note) == 25
    await say(rig, "wx_e101", long_note, "超过了 20 字")
    assert said(rig, "wx_e101", "请精简后重新发送") == 1
    with rig.bot.db.session() as s:
        # the visit said in chat (id "C…"; the demo's imported visits are "V…")
        fb = s.execute(select(VisitFeedback).where(VisitFeedback.employee_id == "E101",
                                                   VisitFeedback.visit_id.like("C%"))).scalar_one()
        assert fb.tags == ["沟通质量好", "竞品威胁"] and fb.note is None and not fb.complete
        assert s.execute(select(PointsEntry).where(PointsEntry.ref == f"visit:{fb.visit_id}")).first() is None
    assert vstore.points_balance(rig.bot.db, "E101") == before

    await say(rig, "wx_e101", "竞品报价低两成", "+1 积分")
    await rig.settle()
    assert said(rig, "wx_e101", f"当前积分 {before + 1}") == 1
    with rig.bot.db.session() as s:
        fb = s.execute(select(VisitFeedback).where(VisitFeedback.visit_id == fb.visit_id)).scalar_one()
        assert fb.complete and fb.note == "竞品报价低两成" and fb.tags == ["沟通质量好", "竞品威胁"]
        points = list(s.execute(select(PointsEntry).where(PointsEntry.ref == f"visit:{fb.visit_id}")).scalars())
    assert [p.delta for p in points] == [1]
    assert vstore.points_balance(rig.bot.db, "E101") == before + 1
