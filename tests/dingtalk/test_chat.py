"""End to end through the emulator: messages, card clicks, card updates, identity."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.channels.dingtalk.sdk import sdk_endpoints
from cards.model import Card
from storage import cardstore
from storage.models import Conversation
from tests.emulators.dingtalk import until
from tests.emulators.dingtalk_api import card_buttons, card_text


async def test_help_message_gets_the_help_card(emu, make_bot):
    bot = await make_bot()
    mid = await emu.say("dt_e101", "帮助")
    ack = await emu.acked(mid)
    assert ack["code"] == 200 and ack["headers"]["messageId"] == mid
    await until(lambda: emu.api.card_of("dt_e101") is not None, what="the help card")
    card = emu.api.card_of("dt_e101")
    assert "绩效助手" in card_text(card)
    assert [b["text"] for b in card_buttons(card)] == ["我的任务", "KPI 进度", "我的积分"]
    assert all(b["params"]["action"].startswith("menu:ask:") for b in card_buttons(card))
    # the subscription asked for exactly the two callback topics; every SDK copy points at us
    assert {s["topic"] for s in emu.subscriptions} == {"/v1.0/im/bot/messages/get", "/v1.0/card/instances/callback"}
    assert set(sdk_endpoints().values()) == {emu.base, emu.base + "/v1.0/gateway/connections/open"}
    assert bot.channels["dingtalk"].health()["connected"]


async def test_group_mention_is_answered_and_ping_is_echoed(emu, make_bot):
    await make_bot()
    ping = await emu.ping()
    await emu.acked(ping)
    assert emu.ping_errors == []
    await emu.say("dt_e102", "帮助", group=True)
    await until(lambda: emu.api.card_of("dt_e102") is not None, what="reply to the @-mention")


async def test_card_click_runs_the_handler(emu, make_bot):
    await make_bot()
    await emu.say("dt_e101", "帮助")
    await until(lambda: emu.api.card_of("dt_e101") is not None)
    before = len(emu.api.seen["dt_e101"])
    mid = await emu.click("dt_e101", "我的积分")
    ack = await emu.acked(mid)
    assert ack["code"] == 200
    await until(lambda: len(emu.api.seen["dt_e101"]) > before, what="the answer to the click")
    assert "积分" in "\n".join(emu.api.texts("dt_e101")[before:])


async def test_update_cards_replaces_buttons_with_the_outcome(emu, make_bot):
    bot = await make_bot()
    await emu.say("dt_e101", "帮助")
    await until(lambda: emu.api.card_of("dt_e101") is not None)
    card = emu.api.card_of("dt_e101")
    await until(lambda: cardstore.for_subject(bot.db, "help:E101"), what="the worker to record the card it sent")
    done = Card(title="绩效助手 · 帮助", body="本菜单已关闭").closed("已处理")
    await bot.services.messenger.update_cards("help:E101", done, key="test:close-help")
    await until(lambda: card.versions == 2, what="the card update")
    assert card_buttons(card) == [] and "已处理" in card_text(card)


async def test_unknown_staff_gets_a_polite_answer_and_nothing_is_stored(emu, make_bot):
    bot = await make_bot()
    await emu.say("dt_stranger", "帮助")
    await until(lambda: emu.api.texts("dt_stranger"), what="the polite answer")
    assert "没有在通讯录中找到你的账号" in emu.api.texts("dt_stranger")[0]
    with bot.db.session() as s:
        assert s.execute(select(func.count()).select_from(Conversation)).scalar() == 0


async def test_user_outside_the_org_is_answered_on_the_session_webhook(emu, make_bot):
    await make_bot()
    await emu.say(None, "帮助")
    await until(lambda: emu.api.texts("ext"), what="a session-webhook reply")
    assert emu.api.seen["ext"][0].via == "session"


async def test_frames_carry_strings_and_acks_echo_the_message_id(emu, make_bot):
    await make_bot()
    mid = await emu.say("dt_e103", "帮助")
    sent = next(f for f in emu.frames_sent if f["headers"]["messageId"] == mid)
    assert isinstance(sent["data"], str) and sent["headers"]["time"].isdigit()
    ack = await emu.acked(mid)
    assert isinstance(ack["data"], str) and json.loads(ack["data"]) == {"response": "OK"}
