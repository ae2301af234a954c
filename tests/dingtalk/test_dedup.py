"""Exactly-once inbound: redelivered frames and repeated clicks are processed once, across restarts."""

from __future__ import annotations

from tests.emulators.dingtalk import until


def cards_seen(emu, user: str) -> int:
    return sum(1 for s in emu.api.seen.get(user, []) if s.kind == "card")


async def test_redelivered_frame_is_processed_once(emu, make_bot):
    bot = await make_bot()
    frame = emu.bot_message("dt_e101", "帮助")
    await emu.acked(await emu.push(frame))
    await emu.acked(await emu.push(frame))  # same messageId and msgId (field-reported redelivery)
    again = emu.bot_message("dt_e101", "帮助", msg_id=frame_msg_id(frame))  # re-push: new messageId
    await emu.acked(await emu.push(again))
    await bot.drain()
    await until(lambda: cards_seen(emu, "dt_e101") >= 1)
    await bot.drain()
    assert cards_seen(emu, "dt_e101") == 1


async def test_two_real_messages_in_the_same_second_are_both_answered(emu, make_bot):
    bot = await make_bot()
    await emu.acked(await emu.say("dt_e102", "帮助"))
    await emu.acked(await emu.say("dt_e102", "帮助"))
    await until(lambda: cards_seen(emu, "dt_e102") == 2)
    await bot.drain()
    assert cards_seen(emu, "dt_e102") == 2


async def test_redelivery_without_ack_and_across_a_restart(emu, make_bot):
    bot = await make_bot()
    frame = emu.bot_message("dt_e103", "帮助")
    await emu.acked(await emu.push(frame))
    await until(lambda: cards_seen(emu, "dt_e103") == 1)
    await bot.stop()
    bot2 = await make_bot()  # same SQLite file, fresh process state
    await emu.acked(await emu.push(frame))
    await bot2.drain()
    assert cards_seen(emu, "dt_e103") == 1


async def test_unacked_frames_are_redelivered_by_the_emulator(emu, make_bot):
    """With redelivery on, a frame whose ACK got lost is pushed again; the bot processes it once."""
    emu.redeliver_unacked = 0.2
    bot = await make_bot()
    emu.lose_acks = 1
    mid = await emu.say("dt_e104", "帮助")
    await emu.acked(mid)  # the ACK of the redelivery
    assert sum(1 for f in emu.frames_sent if f["headers"]["messageId"] == mid) == 2
    await until(lambda: cards_seen(emu, "dt_e104") >= 1, what="the answer")
    await bot.drain()
    assert cards_seen(emu, "dt_e104") == 1


async def test_double_click_is_processed_once(emu, make_bot):
    bot = await make_bot()
    await emu.say("dt_e105", "帮助")
    await until(lambda: emu.api.card_of("dt_e105") is not None)
    await bot.drain()
    before = len(emu.api.seen["dt_e105"])
    card = emu.api.card_of("dt_e105")
    first = emu.click_frame("dt_e105", card, "我的积分")
    await emu.acked(await emu.push(first))
    await emu.acked(await emu.push(emu.click_frame("dt_e105", card, "我的积分")))  # second tap
    await emu.acked(await emu.push(first))  # redelivery
    await until(lambda: len(emu.api.seen["dt_e105"]) > before)
    await bot.drain()
    assert len(emu.api.seen["dt_e105"]) == before + 1


def frame_msg_id(frame) -> str:
    import json

    return json.loads(frame["data"])["msgId"]
