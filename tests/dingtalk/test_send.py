"""Outbound through the OpenAPI: token refresh, batching, per-user results, throttling, groups."""

from __future__ import annotations

from storage import outbox
from storage.outbox import NewMessage, enqueue_many


async def quiet(bot):
    """Stop the background worker so the test drives delivery with bot.drain()."""
    await bot.services.workers["dingtalk"].stop()
    return bot


def fan_out(bot, users: list[str], text: str, key: str) -> None:
    enqueue_many(bot.db, [NewMessage(f"{key}:{u}", "dingtalk", u, "text", {"text": text}) for u in users],
                 bot.services.now())


async def test_token_expiry_refreshes_once(emu, make_bot):
    bot = await quiet(await make_bot())
    fan_out(bot, ["dt_e101"], "第一条", "t1")
    await bot.drain()
    assert emu.api.token_calls == 1
    emu.api.expire_tokens()  # revoked early: the next call gets 400 InvalidAuthentication
    fan_out(bot, ["dt_e101"], "第二条", "t2")
    await bot.drain()
    assert emu.api.token_calls == 2
    assert emu.api.texts("dt_e101") == ["第一条", "第二条"]


async def test_batches_of_at_most_twenty_grouped_by_payload(emu, make_bot):
    bot = await quiet(await make_bot())
    users = [f"u{i:03}" for i in range(45)]
    fan_out(bot, users, "本周五 16:00 记得填写周复盘", "weekly")
    fan_out(bot, users[:3], "另一条通知", "other")
    await bot.drain()
    sizes = sorted(len(c) for c in emu.api.batch_calls)
    assert sizes == [3, 5, 20, 20]
    assert all(emu.api.texts(u).count("本周五 16:00 记得填写周复盘") == 1 for u in users)


async def test_invalid_ids_fail_and_flow_control_retries_only_those_users(emu, make_bot):
    bot = await quiet(await make_bot())
    emu.api.invalid_users = {"ghost"}
    emu.api.flow_control = {"u2": 1}
    fan_out(bot, ["u1", "u2", "ghost"], "通知", "n")
    await bot.drain()
    assert outbox.get(bot.db, "n:u1").status == "sent"
    assert outbox.get(bot.db, "n:ghost").status == "failed"
    assert outbox.get(bot.db, "n:u2").status == "pending"
    bot.services.clock.advance(minutes=2)
    await bot.drain()
    assert outbox.get(bot.db, "n:u2").status == "sent"
    assert emu.api.batch_calls[-1] == ["u2"]
    assert emu.api.texts("u1") == emu.api.texts("u2") == ["通知"] and emu.api.texts("ghost") == []


async def test_throttling_is_retried_with_backoff(emu, make_bot):
    bot = await quiet(await make_bot())
    emu.api.throttle_next = 2
    fan_out(bot, ["u1"], "稍后送达", "thr")
    await bot.drain()
    row = outbox.get(bot.db, "thr:u1")
    assert row.status == "pending" and "Throttling" in row.last_error
    for _ in range(3):
        bot.services.clock.advance(seconds=5)
        await bot.drain()
    assert outbox.get(bot.db, "thr:u1").status == "sent" and emu.api.texts("u1") == ["稍后送达"]


async def test_per_user_pacing_defers_rather_than_drops(emu, make_bot):
    bot = await quiet(await make_bot(per_user_per_minute=2))
    enqueue_many(bot.db, [NewMessage(f"p{i}", "dingtalk", "u9", "text", {"text": f"第{i}条"}) for i in range(3)],
                 bot.services.now())
    await bot.drain()
    assert len(emu.api.texts("u9")) == 2
    bot.services.clock.advance(minutes=1, seconds=5)
    await bot.drain()
    assert emu.api.texts("u9") == ["第0条", "第1条", "第2条"]


async def test_group_message_and_markdown(emu, make_bot):
    bot = await quiet(await make_bot())
    await bot.services.messenger.send_raw("dingtalk", "group:cidTEAM==", "markdown",
                                          {"title": "周报", "text": "**本周** 已全部提交"}, "g1")
    await bot.drain()
    assert emu.api.texts("group:cidTEAM==") == ["周报\n**本周** 已全部提交"]


async def test_in_doubt_rows_with_a_recorded_process_query_key_are_not_resent(emu, make_bot):
    """The worker died after DingTalk accepted the batch but before marking: no second send."""
    bot = await quiet(await make_bot())
    fan_out(bot, ["u1", "u2"], "只发一次", "once")
    ch = bot.channels["dingtalk"]
    claimed = outbox.claim_due(bot.db, "dingtalk", "dead-worker", bot.services.now())
    results = await ch.deliver(claimed)  # delivered, but the dead worker never records it
    assert {r.status for r in results} == {"sent"}
    bot.services.clock.advance(minutes=5)  # past the 120 s reclaim delay
    await bot.drain()
    assert outbox.get(bot.db, "once:u1").status == "sent"
    assert emu.api.texts("u1") == emu.api.texts("u2") == ["只发一次"] and len(emu.api.batch_calls) == 1


async def test_in_doubt_card_is_the_same_card(emu, make_bot):
    bot = await quiet(await make_bot())
    from cards.model import Button, Card

    card = Card(title="测试卡片", body="正文", buttons=[Button("好的", "menu:ask:points:v1")])
    await bot.services.messenger.send_card("E101", card, key="card-once", subject="test:1")
    claimed = outbox.claim_due(bot.db, "dingtalk", "dead-worker", bot.services.now())
    await bot.channels["dingtalk"].deliver(claimed)
    bot.services.clock.advance(minutes=5)  # past the 120 s reclaim delay: resent as in-doubt
    await bot.drain()
    assert sum(1 for s in emu.api.seen["dt_e101"] if s.kind == "card") == 1
    assert outbox.get(bot.db, "card-once").status == "sent"


async def test_a_reply_in_a_round_of_cards_goes_before_the_cards(emu, make_bot):
    """A reply queued after many cards goes first: its batchSend is the first call (DingTalk calls go one
    after another: a reply sent after a round's 40 cards waited for all of them under load). The 41
    calls span three windows of the app's 20 calls a second."""
    from tests.conftest import queue_cards_then_reply

    bot = await quiet(await make_bot())
    await queue_cards_then_reply(bot, "dingtalk", 40)
    await bot.services.workers["dingtalk"].drain()
    sends = [path for _method, path in emu.api.calls if "accessToken" not in path]
    assert len(sends) == 41 and emu.api.texts("dt_e101") == ["你好，这是你的回答"]
    assert sends[0].endswith("/batchSend"), f"the reply was call {sends.index('/v1.0/robot/oToMessages/batchSend') + 1}"
