"""Cards on DingTalk: tag toggles with a running selection, template cards, approval through a card."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import PerfBot
from cards.model import Button, Card, TagChoice, TagOption
from storage import cardstore
from storage.models import InboundEvent, OutboxMessage
from tests.adjust.util import recorded_cards
from tests.emulators.dingtalk import DingTalkEmulator, until
from tests.emulators.dingtalk_api import CardState, card_buttons, card_text

REQUEST = "申请把新客户签约数目标从18调到17，原因：XX医院招标推迟到明年一季度"


def visit_card() -> Card:
    opts = [TagOption("t1", "沟通质量好"), TagOption("t2", "价格异议"), TagOption("t3", "竞品威胁")]
    return Card(title="拜访反馈", body="刚才拜访了 XX 医院，选几个标签吧", tags=TagChoice(
        "visit_tags", opts, max_selected=2, submit=Button("提交", "visit:tags:V0001:v1")))


async def sent_visit_card(bot: PerfBot, emu: DingTalkEmulator, visit: str) -> CardState:
    """Send E101 the visit card of ``visit``; the card as the emulator shows it, once the bot recorded it."""
    await bot.services.messenger.send_card("E101", visit_card(), key=f"visit:{visit}:card", subject=f"visit:{visit}")
    await until(lambda: emu.api.card_of("dt_e101") is not None)
    await until(lambda: delivered(bot, f"visit:{visit}"), what="the worker to record the card it sent")
    return emu.api.card_of("dt_e101")


def delivered(bot: PerfBot, subject: str) -> bool:
    return any(r.delivered_at is not None for r in cardstore.for_subject(bot.db, subject))


@pytest.mark.parametrize("bot_db_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_card_tapped_and_updated_while_its_send_is_in_flight_is_updated_once_it_lands(emu, make_bot):
    """The person sees a card as soon as DingTalk has it, before the send call returns (a round of
    20 cards, a slow answer): a tap then, and an update then, both reach the card."""
    bot = await make_bot()
    emu.api.hold_card_answers = True
    await bot.services.messenger.send_card("E101", visit_card(), key="visit:V0003:card", subject="visit:V0003")
    await until(lambda: emu.api.card_answer_held.is_set(), what="the card shown, its send still waiting")
    card = emu.api.card_of("dt_e101")
    await emu.acked(await emu.click("dt_e101", "沟通质量好"))  # a tag tap on the card in flight
    await bot.services.messenger.update_cards("visit:V0003", visit_card().closed("已提交"), key="visit:V0003:done")
    await until(lambda: outbox_kinds(bot, "pending") >= {"update_card"}, what="the updates queued")
    assert card.versions == 1 and not delivered(bot, "visit:V0003")
    emu.api.card_answer_release.set()
    await until(lambda: "已提交" in card_text(card), what="the update, once the card landed")
    await bot.drain()
    # The tap's redraw is older than the update: it goes first or not at all, never over it.
    assert "已提交" in card_text(card) and card_buttons(card) == [] and card.versions in (2, 3)
    assert delivered(bot, "visit:V0003")
    assert outbox_kinds(bot, "failed") == set() and outbox_kinds(bot, "pending") == set()


async def test_an_update_to_a_card_that_was_never_delivered_fails_with_the_reason(emu, make_bot):
    bot = await make_bot()
    emu.api.invalid_users = {"dt_e101"}  # DingTalk refuses the card: the record written at claim stays undelivered
    await bot.services.messenger.send_card("E101", visit_card(), key="visit:V0004:card", subject="visit:V0004")
    await bot.drain()
    assert cardstore.for_subject(bot.db, "visit:V0004") and not delivered(bot, "visit:V0004")
    assert await bot.services.messenger.update_cards("visit:V0004", visit_card().closed("已提交"), key="done") == 1
    await bot.drain()
    with bot.db.session() as s:
        [row] = s.execute(select(OutboxMessage).where(OutboxMessage.kind == "update_card")).scalars().all()
    assert row.status == "failed" and "never delivered (failed)" in (row.last_error or "")


def outbox_kinds(bot: PerfBot, status: str) -> set[str]:
    with bot.db.session() as s:
        return set(s.execute(select(OutboxMessage.kind).where(OutboxMessage.status == status)).scalars())


async def test_tags_toggle_one_tap_at_a_time_then_submit_with_the_selection(emu, make_bot):
    bot = await make_bot()
    card = await sent_visit_card(bot, emu, "V0001")
    for label, version in (("沟通质量好", 2), ("价格异议", 3), ("竞品威胁", 4), ("价格异议", 5)):
        await emu.acked(await emu.click("dt_e101", label))
        await until(lambda v=version: card.versions == v, what=f"the card to show the tap on {label}")
    # max 2: 竞品威胁 was refused while two were chosen; 价格异议 was toggled off again
    assert "已选：沟通质量好" in card_text(card) and "✅ 沟通质量好" in [b["text"] for b in card_buttons(card)]
    await emu.acked(await emu.click("dt_e101", "提交"))
    await bot.drain()
    with bot.db.session() as s:
        events = [e.payload for e in s.execute(select(InboundEvent)).scalars() if e.payload.get("kind") == "CardAction"]
    assert events[-1]["action"] == "visit:tags:V0001:v1"
    assert events[-1]["selected"] == {"visit_tags": ["t1"]}


async def test_template_card_create_deliver_click_and_update(emu, make_bot):
    bot = await make_bot(card_template_id="perfbot-card.schema")
    await emu.say("dt_e102", "帮助")
    await until(lambda: emu.api.card_of("dt_e102") is not None)
    card = emu.api.card_of("dt_e102")
    assert card.mode == "template" and all(isinstance(v, str) for v in card.data.values())
    before = len(emu.api.seen["dt_e102"])
    await emu.acked(await emu.click("dt_e102", "我的积分"))
    await until(lambda: len(emu.api.seen["dt_e102"]) > before, what="the answer to the click")
    await bot.services.messenger.update_cards("help:E102", Card(title="帮助").closed("已关闭"), key="close")
    await until(lambda: card.versions == 2)
    assert card.data["state"] == "已关闭" and card.data["buttons"] == "[]"


async def test_approve_an_adjustment_on_dingtalk(emu, make_bot):
    bot = await make_bot()
    await emu.acked(await emu.say("dt_e101", REQUEST))
    # above 5%: the manager approves first, then the director (issue 13)
    await until(lambda: emu.api.card_of("dt_e100") is not None, what="the approval card for the manager")
    await emu.acked(await emu.click("dt_e100", "批准"))
    await until(lambda: emu.api.card_of("dt_e090") is not None, what="the approval card for the director")
    await until(lambda: recorded_cards(bot.db) == 2, what="both approval cards recorded")
    card = emu.api.card_of("dt_e090")
    assert any("批准" in b["text"] for b in card_buttons(card))
    await emu.acked(await emu.click("dt_e090", "批准"))
    await until(lambda: card.versions >= 2, what="the approval card to close")
    assert card_buttons(card) == [] and "已批准" in card_text(card)
    await until(lambda: any("已获陈刚批准" in t for t in emu.api.texts("dt_e101")), what="the requester's note")


@pytest.mark.parametrize("bot_db_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_redelivered_tap_toggles_once_and_leaves_one_redraw_and_no_pending_row(emu, make_bot):
    bot = await make_bot()
    card = await sent_visit_card(bot, emu, "V0002")
    frame = emu.click_frame("dt_e101", card, "沟通质量好")
    await emu.acked(await emu.push(frame))
    await emu.acked(await emu.push(frame))  # the same frame again (same messageId): not a second tap
    await bot.drain()
    await until(lambda: card.versions == 2, what="one redraw of the card")
    assert "✅ 沟通质量好" in [b["text"] for b in card_buttons(card)]  # toggled on once, not on and off
    with bot.db.session() as s:
        taps = [e for e in s.execute(select(InboundEvent)).scalars() if e.key.startswith("dingtalk:frame:")]
        redraws = s.execute(select(OutboxMessage).where(OutboxMessage.kind == "update_card")).scalars().all()
    assert [t.status for t in taps] == ["done"]
    assert len(redraws) == 1 and redraws[0].key == f"{taps[0].key}:show"
