"""The Stream connection's failure modes (spec §B12), each through the emulator."""

from __future__ import annotations

import asyncio

from bot.config import load_settings
from storage.outbox import NewMessage, enqueue_many
from tests.dingtalk.conftest import stream_of
from tests.emulators.dingtalk import until


async def test_disconnect_then_reconnect_without_losing_a_message(emu, make_bot):
    bot = await make_bot()
    stream = stream_of(bot)
    await emu.disconnect()
    mid = await emu.say("dt_e104", "帮助")  # pushed while the bot is between connections
    await emu.acked(mid)
    await until(lambda: emu.api.card_of("dt_e104") is not None, what="the message after reconnect")
    assert stream.connections == 2 and len(emu.gateway_calls) == 2  # a fresh ticket, once


async def test_dropped_socket_reconnects_quickly(emu, make_bot, caplog):
    bot = await make_bot()
    await emu.drop()
    await until(lambda: stream_of(bot).connections == 2, what="a reconnect")
    assert "reconnecting in" in caplog.text
    mid = await emu.say("dt_e101", "帮助")
    await emu.acked(mid)


async def test_clean_close_does_not_storm_the_gateway(emu, make_bot):
    emu.close_on_connect = True
    bot = await make_bot(connect=False)
    stream = stream_of(bot)
    # below the cap, jittered delays of consecutive attempts cannot overlap ([0.5, 1]× of a doubling)
    stream.backoff_max = 5.0
    await until(lambda: len(emu.gateway_calls) >= 6, what="several attempts")
    delays = stream.delays[:5]
    # exponential backoff: each delay at least the previous one (jitter stays within [0.5, 1]×)
    assert all(b >= a for a, b in zip(delays, delays[1:], strict=False)), delays
    assert delays[-1] >= 8 * stream.backoff_base * 0.5
    # one gateway call per connection attempt, never a burst
    assert len(emu.gateway_calls) <= len(stream.delays) + 1


async def test_stop_really_stops(emu, make_bot):
    bot = await make_bot()
    stream = stream_of(bot)
    await bot.stop()
    assert not stream.running
    calls = len(emu.gateway_calls)
    await until(lambda: not emu.connections, what="the socket to close")
    # nothing reconnects afterwards: a later push stays queued
    await emu.say("dt_e101", "帮助")
    assert len(emu.gateway_calls) == calls and emu._pending


async def test_gateway_hang_times_out_without_blocking_the_loop(emu, make_bot):
    emu.gateway_hang = 1
    bot = await make_bot(connect=False)
    stream = stream_of(bot)
    stream.gateway_timeout = 0.2
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    t = asyncio.create_task(ticker())
    await until(lambda: stream.connected.is_set(), what="connection after the hung gateway call")
    t.cancel()
    assert len(emu.gateway_calls) == 2 and ticks > 1


async def test_gateway_answer_without_endpoint_is_survived(emu, make_bot):
    emu.gateway_bad = 2  # 200 without endpoint/ticket (the SDK's AttributeError path, §B12.6)
    bot = await make_bot(connect=False)
    await until(lambda: stream_of(bot).connected.is_set(), what="connection after bad gateway answers")
    assert len(emu.gateway_calls) == 3


async def test_malformed_frame_does_not_break_the_connection(emu, make_bot):
    bot = await make_bot()
    await emu.send_raw("{not json")
    bad = emu.frame("CALLBACK", "/v1.0/im/bot/messages/get", {})
    bad["data"] = "{broken"
    ack = await emu.acked(await emu.push(bad))
    assert ack["code"] == 400
    mid = await emu.say("dt_e101", "帮助")
    await emu.acked(mid)
    await until(lambda: emu.api.card_of("dt_e101") is not None)
    assert stream_of(bot).connections == 1 and len(emu.gateway_calls) == 1


async def test_silent_connection_is_dropped_by_the_watchdog(emu, make_bot):
    bot = await make_bot()
    stream = stream_of(bot)
    stream.liveness_timeout = 0.3  # production: 90 s; DingTalk pings far more often
    emu.mute()
    await until(lambda: stream.connections == 2, what="the watchdog to reconnect")
    mid = await emu.say("dt_e105", "帮助")
    await emu.acked(mid)


async def test_server_pings_keep_a_quiet_connection_alive(emu, make_bot):
    """DingTalk pings a live connection regularly: a quiet hour is not a dead socket, so the watchdog
    must not reconnect (before the emulator pinged, a long benchmark saw one reconnect every 90 s)."""
    emu.ping_interval = 0.05
    bot = await make_bot()
    stream = stream_of(bot)
    stream.liveness_timeout = 0.3
    conns = stream.connections

    def pings_acked() -> int:
        return sum(1 for f in emu.frames_sent if f["headers"]["topic"] == "ping" and emu.acks.get(f["headers"]["messageId"]))

    await until(lambda: pings_acked() >= 20, what="20 pings answered (three watchdog windows)")
    assert stream.connections == conns and not emu.ping_errors
    mid = await emu.say("dt_e106", "帮助")
    await emu.acked(mid)


async def test_ticket_is_single_use(emu, make_bot):
    import aiohttp

    bot = await make_bot()
    assert stream_of(bot).connections == 1
    async with aiohttp.ClientSession() as s:
        async with s.post(emu.base + "/v1.0/gateway/connections/open",
                          json={"clientId": emu.client_id, "clientSecret": emu.client_secret}) as r:
            conn = await r.json()
        ws_url = conn["endpoint"] + "?ticket=" + conn["ticket"].replace("+", "%2B")
        async with s.ws_connect(ws_url):
            pass
        try:
            async with s.ws_connect(ws_url):
                raise AssertionError("a used ticket was accepted")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 401


async def test_a_send_only_node_never_opens_the_stream_but_sends(emu, make_bot, tmp_path):
    """``[dingtalk] stream = false``: for several machines on one database, the nodes that should not
    listen still send their share of the queue; messages reach the node that listens, once."""
    listener = await make_bot()
    sender = await make_bot(connect=False, stream=False)
    await asyncio.sleep(0.3)  # long enough for a Stream to have asked the gateway for a ticket
    assert len(emu.gateway_calls) == 1 and len(emu.connections) == 1  # the listener's only
    health = sender.channels["dingtalk"].health()
    assert health["listens"] is False and health["connected"] is False and health["connections"] == 0
    await listener.services.workers["dingtalk"].stop()  # only the send-only node delivers now
    enqueue_many(sender.db, [NewMessage("notice:dt_e101", "dingtalk", "dt_e101", "text", {"text": "周五记得填周复盘"})],
                 sender.services.now())
    await sender.drain()
    assert emu.api.texts("dt_e101") == ["周五记得填周复盘"]
    mid = await emu.say("dt_e104", "帮助")  # arrives through the listener's Stream
    await emu.acked(mid)
    await sender.drain()
    await until(lambda: emu.api.card_of("dt_e104") is not None, what="the answer to a message")
    # the key, from a file and from the environment
    node, plain = tmp_path / "node.toml", tmp_path / "plain.toml"
    node.write_text('[dingtalk]\nclient_id = "a"\nclient_secret = "b"\nstream = false\n', encoding="utf-8")
    plain.write_text('[dingtalk]\nclient_id = "a"\nclient_secret = "b"\n', encoding="utf-8")
    assert load_settings(node, env={}).dingtalk.stream is False
    assert load_settings(plain, env={}).dingtalk.stream is True
    assert load_settings(plain, env={"PERFBOT_DINGTALK_STREAM": "false"}).dingtalk.stream is False
