"""Outbound reliability against the emulator: tokens, error mapping, pacing, in-doubt resends."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.channels.wecom import WeComChannel
from handlers.menu import help_card
from storage import outbox as ob
from storage.models import OutboxMessage
from tests.wecom.conftest import WeComRig, until


def channel(rig: WeComRig) -> WeComChannel:
    ch = rig.bot.channels["wecom"]
    assert isinstance(ch, WeComChannel)
    return ch


async def later(rig: WeComRig, seconds: float = 61) -> None:
    rig.clock.advance(seconds=seconds)
    rig.bot.services.wake("wecom")
    await rig.settle()


async def test_token_expired_mid_run_is_refreshed_once(rig: WeComRig) -> None:
    m = rig.bot.services.messenger
    await m.send_text("E101", "第一条", key="t:1")
    await until(lambda: rig.emulator.seen["wx_e101"], "first message")
    rig.emulator.expire_tokens()
    await m.send_text("E101", "第二条", key="t:2")
    await until(lambda: len(rig.emulator.seen["wx_e101"]) == 2, "second message")
    assert rig.emulator.gettoken_calls == 2
    # The emulator has the message; the worker records the outcome right after: wait for that.
    await until(lambda: ob.get(rig.bot.db, "t:2").status == "sent", "t:2 recorded as sent")


async def test_concurrent_sends_fetch_the_token_once(rig: WeComRig) -> None:
    m = rig.bot.services.messenger
    for i in range(1, 6):
        await m.send_text(f"E10{i}", "你好", key=f"t:c{i}")
    await rig.settle()
    assert sum(len(rig.emulator.seen[f"wx_e10{i}"]) for i in range(1, 6)) == 5
    assert rig.emulator.gettoken_calls == 1


async def test_token_always_rejected_is_bounded(rig: WeComRig) -> None:
    rig.emulator.always_invalid_token = True
    await rig.bot.services.messenger.send_text("E101", "你好", key="t:loop")
    await rig.settle()
    row = ob.get(rig.bot.db, "t:loop")
    assert row.status == "pending" and "token" in row.last_error
    assert rig.emulator.token_rejections == 2  # the call and exactly one retry after one refresh
    for _ in range(300):  # backoff up to the cap, then parked after a day of retries
        row = ob.get(rig.bot.db, "t:loop")
        if row.status != "pending":
            break
        rig.clock.set(row.next_attempt_at)
        rig.bot.services.wake("wecom")
        await rig.settle()
    row = ob.get(rig.bot.db, "t:loop")
    assert row.status == "parked" and "token" in row.last_error and row.attempts <= 200
    with rig.bot.db.session() as s:  # the admins' parking notice was tried too (same broken token)
        attempts = sum(s.execute(select(OutboxMessage.attempts)).scalars())
    assert rig.emulator.gettoken_calls <= 2 * attempts
    assert rig.emulator.token_rejections == 2 * attempts
    assert not rig.emulator.seen["wx_e101"]


async def test_invalid_user_fails_permanently_and_is_reported(rig: WeComRig) -> None:
    rig.emulator.users.discard("wx_e104")
    await rig.bot.services.messenger.send_text("E104", "你好", key="t:gone")
    await rig.settle()
    row = ob.get(rig.bot.db, "t:gone")
    assert row.status == "failed" and "81013" in row.last_error
    assert [f.key for f in ob.failures(rig.bot.db)] == ["t:gone"]


async def test_busy_45009_is_retried_later(rig: WeComRig) -> None:
    rig.emulator.fail_next = [45009]
    await rig.bot.services.messenger.send_text("E101", "稍后送达", key="t:busy")
    await rig.settle()
    row = ob.get(rig.bot.db, "t:busy")
    assert row.status == "pending" and "45009" in row.last_error
    assert not rig.emulator.seen["wx_e101"]
    await later(rig)
    assert rig.emulator.texts("wx_e101") == ["稍后送达"]


async def test_a_minute_blocked_by_wecom_is_retried_not_lost(rig: WeComRig) -> None:
    """A platform refusing calls beyond a minute's cap with 45009 and blocking the API for a minute
    (another app's traffic, a stricter tenant): the refused messages wait, then go out once each."""
    rig.emulator.send_calls_per_minute = 2
    people = ["E101", "E102", "E103", "E104"]
    for i, who in enumerate(people):  # different texts: one call each
        await rig.bot.services.messenger.send_text(who, f"第 {i} 号通知", key=f"t:minute:{i}")
    await rig.settle()
    inboxes = [f"wx_{who.lower()}" for who in people]
    assert sum(len(rig.emulator.seen[u]) for u in inboxes) == 2 and rig.emulator.frequency_errors >= 1
    waiting = [ob.get(rig.bot.db, f"t:minute:{i}") for i in range(4)]
    assert sorted(r.status for r in waiting) == ["pending", "pending", "sent", "sent"]
    await later(rig)
    await later(rig)
    assert [rig.emulator.texts(u) for u in inboxes] == [[f"第 {i} 号通知"] for i in range(4)]


async def test_per_user_pacing_stays_under_wecom_limits(rig: WeComRig) -> None:
    m = rig.bot.services.messenger
    for i in range(30):
        await m.send_text("E102", f"第 {i} 条", key=f"t:burst:{i}")
    await rig.settle()
    assert len(rig.emulator.seen["wx_e102"]) == rig.settings.wecom.per_user_per_minute
    await later(rig)
    assert len(rig.emulator.seen["wx_e102"]) == 30
    assert not rig.emulator.dropped["wx_e102"]


async def stop_workers(rig: WeComRig) -> None:
    for w in rig.bot.services.workers.values():
        await w.stop()


async def _die_mid_send(rig: WeComRig, key: str) -> None:
    """A worker claims the row and delivers it, then dies before recording the result."""
    rows = ob.claim_due(rig.bot.db, "wecom", "dead-worker", rig.clock.now())
    assert [r.key for r in rows] == [key]
    [res] = await channel(rig).deliver(rows)
    assert res.status == "sent"


async def test_in_doubt_text_resend_is_dropped_by_duplicate_check(rig: WeComRig) -> None:
    await stop_workers(rig)  # we play the worker that dies
    await rig.bot.services.messenger.send_text("E101", "只应看到一次", key="t:doubt")
    await _die_mid_send(rig, "t:doubt")
    rig.clock.advance(seconds=121)
    await rig.bot.drain()  # reclaims the stale row as in doubt
    assert ob.get(rig.bot.db, "t:doubt").status == "sent"
    assert rig.emulator.texts("wx_e101") == ["只应看到一次"]
    assert len(rig.emulator.duplicates["wx_e101"]) == 1
    resend = rig.emulator.api_calls[-1][1]
    assert resend["enable_duplicate_check"] == 1 and resend["duplicate_check_interval"] <= 4 * 3600


async def test_in_doubt_card_resend_keeps_one_card(rig: WeComRig) -> None:
    await stop_workers(rig)
    await rig.bot.services.messenger.send_card("E101", help_card("employee"), key="t:card", subject="s:1")
    await _die_mid_send(rig, "t:card")
    rig.clock.advance(seconds=121)
    await rig.bot.drain()
    assert ob.get(rig.bot.db, "t:card").status == "sent"
    assert [s.msgtype for s in rig.emulator.seen["wx_e101"]] == ["template_card"]


async def test_interactive_card_needs_a_callback_url(rig: WeComRig) -> None:
    rig.emulator.callback_url = None
    await rig.bot.services.messenger.send_card("E101", help_card("employee"), key="t:nocb", subject="s:2")
    await rig.settle()
    row = ob.get(rig.bot.db, "t:nocb")
    assert row.status == "failed" and "48002" in row.last_error


async def test_emulator_echoes_invalid_users_and_keeps_valid_ones(rig: WeComRig) -> None:
    api = channel(rig).api
    body = await api.send({"touser": "wx_e101|nobody|ghost", "msgtype": "text", "text": {"content": "hi"}})
    assert sorted(body["invaliduser"].split("|")) == ["ghost", "nobody"]
    assert rig.emulator.texts("wx_e101") == ["hi"]
    for i in range(31):
        await api.send({"touser": "wx_e105", "msgtype": "text", "text": {"content": f"{i}"}})
    assert len(rig.emulator.seen["wx_e105"]) == 30 and len(rig.emulator.dropped["wx_e105"]) == 1
    await asyncio.gather(*(api.token() for _ in range(10)))
    assert rig.emulator.gettoken_calls == 1
