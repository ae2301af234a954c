"""The fault suite: outages, late answers and poison input through the emulators, on SQLite and
PostgreSQL. Every scenario ends with the emulator's own count of what people received."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from bot.channels.wecom import WeComChannel
from handlers.menu import help_card
from storage import outbox as ob
from storage.models import CardRecord
from storage.outbox import NewMessage, enqueue_many
from tests.reliability.conftest import REPS
from tests.wecom.conftest import WeComRig

OUTAGE_SECONDS = 600  # "10 minutes" of 502s and time-outs, in emulator (ManualClock) time


async def warm_token(rig: WeComRig) -> None:
    """The bot fetched its access token before the outage began (gettoken fails during it)."""
    ch = rig.bot.channels["wecom"]
    if not isinstance(ch, WeComChannel):
        raise TypeError("the WeCom channel is expected here")
    await ch.api.token()


async def run_until_sent(rig: WeComRig, expected: int, step: float = 30, max_steps: int = 200) -> int:
    """Let time pass in ``step``-second ticks until ``expected`` rows are sent; returns the ticks."""
    for tick in range(max_steps):
        if ob.stats(rig.bot.db).get("sent", 0) >= expected:
            return tick
        rig.clock.advance(seconds=step)
        rig.bot.services.wake("wecom")
        await rig.settle()
    raise AssertionError(f"not all sent: {ob.stats(rig.bot.db)}")


def push_cards(rig: WeComRig, reps: list[str], tag: str) -> None:
    card = help_card("employee").to_dict()
    enqueue_many(rig.bot.db, [
        NewMessage(f"{tag}:{u}", "wecom", u, "card", {"card": card, "subject": f"{tag}:{u}"}) for u in reps
    ], rig.clock.now())
    rig.bot.services.wake("wecom")


async def test_ten_minute_outage_during_a_500_card_push_then_recovery(frig: WeComRig) -> None:
    emu, reps = frig.emulator, REPS
    await warm_token(frig)
    emu.set_outage(OUTAGE_SECONDS)  # 502, time-out, 502 after delivering, late answer, …
    push_cards(frig, reps, "push")
    await frig.settle()
    ticks = await run_until_sent(frig, len(reps))
    assert ticks * 30 >= OUTAGE_SECONDS  # it really spanned the outage
    assert all(emu.faulted[f] > 0 for f in ("502", "timeout", "502-after", "late")), emu.faulted
    cards = Counter(s.body["task_id"] for u in reps for s in emu.seen[u] if s.msgtype == "template_card")
    assert len(cards) == 500 and set(cards.values()) == {1}  # 500 delivered, 0 twice
    assert all(emu.deliveries(u, "template_card") == 1 for u in reps)
    assert ob.stats(frig.bot.db) == {"sent": 500}
    with frig.bot.db.session() as s:  # every card recorded, so it can be closed after a decision
        assert s.execute(select(func.count()).select_from(CardRecord)
                         .where(CardRecord.subject.like("push:%"))).scalar_one() == 500


async def test_identical_text_to_500_during_an_outage_goes_in_few_calls_and_once_each(frig: WeComRig) -> None:
    emu, reps = frig.emulator, REPS
    text = "【绩效助手】本周五 16:00 前请完成周复盘，谢谢！"
    await warm_token(frig)
    emu.set_outage(OUTAGE_SECONDS)
    enqueue_many(frig.bot.db, [NewMessage(f"notice:{u}", "wecom", u, "text", {"text": text}) for u in reps],
                 frig.clock.now())
    frig.bot.services.wake("wecom")
    await frig.settle()
    await run_until_sent(frig, len(reps))
    assert [emu.texts(u).count(text) for u in reps] == [1] * 500  # 500 delivered, 0 twice
    sends = [b for path, b in emu.api_calls if path == "message/send"]
    assert max(len(b["touser"].split("|")) for b in sends) == 500  # one call for everyone
    assert len(sends) < 40  # attempts during the outage, not one call per person
    assert sum(len(v) for v in emu.duplicates.values()) > 0  # late answers were resent, WeCom dropped them


async def test_answers_after_the_bots_time_out_duplicate_nothing_and_record_every_card(frig: WeComRig) -> None:
    emu = frig.emulator
    users = REPS[:5]
    emu.faults = ["late"] * 10  # every call is carried out, but answered after the bot gave up
    m = frig.bot.services.messenger
    for i, u in enumerate(users):
        await m.send_raw("wecom", u, "text", {"text": f"第 {i} 条通知"}, key=f"late:text:{u}")
    await frig.settle()
    push_cards(frig, users, "late:card")
    await frig.settle()
    await run_until_sent(frig, 10)
    assert all(emu.texts(u).count(f"第 {i} 条通知") == 1 for i, u in enumerate(users))  # 0 duplicate texts
    assert all(emu.deliveries(u, "template_card") == 1 for u in users)
    with frig.bot.db.session() as s:
        recorded = s.execute(select(CardRecord.recipient).where(CardRecord.subject.like("late:card:%"))).scalars()
        assert sorted(recorded) == sorted(users)  # every card recorded
    assert ob.stats(frig.bot.db) == {"sent": 10}
