"""Approver side, on SQLite and PostgreSQL: approve, reject with a reason, refusals, double clicks,
replays, the audit trail and the numbers other features read after the change."""

from __future__ import annotations

import asyncio
import threading

from bot.events import CardAction
from handlers.adjust import store as adj
from handlers.common.goals import alignment, attainment, format_progress
from storage import conversations
from storage.models import Goal
from tests.adjust.util import REQUEST, audits, click, goal, requests
from tests.conftest import texts


async def _requested(chat) -> int:
    await chat.say(REQUEST, as_="E101")
    chat.seen("E101")
    assert chat.seen("E100")[0].kind == "card"  # above 5%: the manager approves first (issue 13) …
    await chat.press("E100", 1)
    chat.seen("E100"), chat.seen("E101")
    assert chat.seen("E090")[0].kind == "card"  # … then the director decides
    [req] = requests(chat)
    assert req.approver_id == "E090"
    return req.id


async def test_approve_changes_target_atomically_with_audit_and_closes_cards(chat_any_db):
    chat = chat_any_db
    rid = await _requested(chat)
    shown = await chat.press("E090", 1)  # 批准
    assert [s.kind for s in shown] == ["update_card", "text"]
    closed = shown[0].card
    assert closed is not None and closed.buttons == [] and closed.state.startswith("已批准 · 陈刚 · 11-24 10:00")
    assert "调整：18 → 17 家（-5.6%）" in shown[0].text  # the outcome card keeps the evidence
    assert "已通知张伟" in shown[1].text
    g = goal(chat)
    assert (g.target, g.version) == (17, 2)
    [req] = requests(chat)
    assert (req.status, req.decided_by) == ("approved", "E090")
    assert req.decided_at == chat.clock.now()
    [a] = audits(chat)
    assert (a.field, a.old_value, a.new_value, a.actor_id, a.request_id) == ("target", "18", "17", "E090", rid)
    assert a.reason == "XX医院招标推迟到明年一季度" and a.at == chat.clock.now()
    note = texts(chat.seen("E101"))
    assert "已获陈刚批准" in note and "新客户签约数：12/17 家（71%）" in note
    assert "你的工作对齐公司目标：2026年营收增长30%（贡献度 7.8%）" in note
    # check-in cards and Q&A read handlers.common.goals: they see the new target
    assert format_progress(g) == "新客户签约数：12/17 家（71%）"
    assert abs(attainment(g) - 12 / 17) < 1e-9
    a_text = alignment(chat.bot.db, "G-E101").text()
    assert a_text.startswith("你的工作对齐公司目标：2026年营收增长30%（贡献度 7.8%）")


async def test_reject_asks_the_approver_for_a_reason(chat_any_db):
    chat = chat_any_db
    await _requested(chat)
    said = texts(await chat.press("E090", 2))  # 驳回
    assert "请回复驳回原因" in said
    assert requests(chat)[0].status == "pending" and chat.seen("E101") == []
    shown = await chat.say("本季度还有华南的大单，先保持原目标", as_="E090")
    assert shown[0].kind == "update_card" and shown[0].card.state.startswith("已驳回 · 陈刚")
    assert "驳回原因：本季度还有华南的大单，先保持原目标" in shown[0].text
    assert "已把原因转告张伟" in texts(shown)
    [req] = requests(chat)
    assert (req.status, req.decision_reason) == ("rejected", "本季度还有华南的大单，先保持原目标")
    assert goal(chat).target == 18 and goal(chat).version == 1 and audits(chat) == []
    note = texts(chat.seen("E101"))
    assert "未获批准" in note and "原因：本季度还有华南的大单，先保持原目标" in note


async def test_only_the_designated_approver_counts(chat_any_db):
    chat = chat_any_db
    rid = await _requested(chat)
    for intruder in ("E100", "E101", "E102"):  # the manager (not the approver here), the requester, a peer
        said = await click(chat, intruder, "approve", rid)
        assert "需由陈刚审批，你的操作未生效" in said
        said = await click(chat, intruder, "reject", rid)
        assert "需由陈刚审批" in said
    assert requests(chat)[0].status == "pending" and goal(chat).target == 18 and audits(chat) == []
    assert chat.seen("E090") == [] and chat.seen("E101") == []


async def test_double_click_and_duplicate_delivery_change_nothing_twice(chat_any_db):
    chat = chat_any_db
    rid = await _requested(chat)
    said = await click(chat, "E090", "approve", rid, key="dup-1")
    assert "已批准" in said
    again = CardAction(channel="terminal", sender="E090", key="dup-1", action=f"adj:approve:{rid}:v1")
    assert await chat.bot.dispatcher.submit(again, wait=True) is False  # the platform delivers it again
    said = await click(chat, "E090", "approve", rid)  # a second, real click
    assert "这条申请已经处理过了：已批准（陈刚" in said
    said = await click(chat, "E090", "reject", rid)  # a click on the other button of an old card
    assert "已经处理过了" in said
    assert goal(chat).target == 17 and goal(chat).version == 2 and len(audits(chat)) == 1
    assert len([t for t in chat.seen("E101") if "批准" in t.text]) == 1  # the requester is told once


async def test_click_after_the_request_was_rejected(chat_any_db):
    chat = chat_any_db
    rid = await _requested(chat)
    await chat.press("E090", 2)
    await chat.say("先保持原目标", as_="E090")
    said = await click(chat, "E090", "approve", rid)
    assert "已经处理过了：已驳回" in said
    assert goal(chat).target == 18 and audits(chat) == []


async def test_concurrent_decisions_have_exactly_one_winner(chat_any_db):
    """Two workers decide the same request at the same moment: the conditional UPDATE lets one win."""
    chat = chat_any_db
    rid = await _requested(chat)
    db, now = chat.bot.db, chat.clock.now()
    barrier = threading.Barrier(2)

    def decide(approve: bool) -> str:
        barrier.wait()
        return adj.decide(db, rid, "E090", approve, now, None if approve else "重复操作").outcome

    outcomes = await asyncio.gather(asyncio.to_thread(decide, True), asyncio.to_thread(decide, True))
    assert sorted(outcomes) == ["approved", "not_pending"]
    assert goal(chat).target == 17 and goal(chat).version == 2 and len(audits(chat)) == 1


async def test_goal_edited_before_approval_makes_the_request_lapse(chat_any_db):
    chat = chat_any_db
    await _requested(chat)
    with chat.bot.db.session() as s:  # e.g. HR re-imported the goal with a new target
        g = s.get(Goal, "G-E101")
        g.target, g.version = 20, g.version + 1
        s.add(g)
    said = texts(await chat.press("E090", 1))
    assert "申请已失效" in said
    assert goal(chat).target == 20 and audits(chat) == [] and requests(chat)[0].status == "cancelled"
    assert "已失效" in texts(chat.seen("E101"))


async def test_approve_after_pressing_reject_ends_the_reason_flow(chat):
    rid = await _requested(chat)
    await chat.press("E090", 2)
    await click(chat, "E090", "approve", rid)
    assert conversations.get(chat.bot.db, "E090") is None
    assert goal(chat).target == 17
