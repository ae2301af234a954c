"""Identical content that becomes due over several outbox rounds goes out in one call: a round
claims, along with the rows it picked, the due rows with the same content (texts, shared cards),
within its lane and never a row that is not due or held by another worker."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

from handlers.menu import help_card
from storage import outbox as ob
from storage.outbox import NewMessage, enqueue_many
from tests.reliability.conftest import REPS
from tests.wecom.conftest import WeComRig

SAME = "你本月没有未完成的任务，继续保持！"


def _text(key: str, user: str, text: str, priority: int = ob.REPLY, not_before=None) -> NewMessage:
    return NewMessage(key, "wecom", user, "text", {"text": text}, None, not_before=not_before, priority=priority)


async def test_a_round_takes_the_due_rows_with_the_same_content_along(frig: WeComRig) -> None:
    db, now = frig.bot.db, frig.clock.now()
    await _stop(frig)
    enqueue_many(db, [_text(f"a:{u}", u, SAME) for u in REPS[:3]], now)
    enqueue_many(db, [_text(f"b:{u}", u, f"你的积分：{i}") for i, u in enumerate(REPS[3:8])], now)
    enqueue_many(db, [_text(f"c:{u}", u, SAME) for u in REPS[8:12]], now)  # due later in the queue
    enqueue_many(db, [_text("later", REPS[12], SAME, not_before=now + timedelta(minutes=5)),
                      _text("bulk", REPS[13], SAME, priority=ob.NORMAL)], now)

    got = ob.claim_due(db, "wecom", "node-a", now, limit=2, lane="replies", along=100)
    assert sorted(c.key for c in got) == sorted([f"a:{u}" for u in REPS[:3]] + [f"c:{u}" for u in REPS[8:12]])
    # without along: only what was picked
    rest = ob.claim_due(db, "wecom", "node-b", now, limit=2, lane="replies")
    assert [c.key for c in rest] == [f"b:{REPS[3]}", f"b:{REPS[4]}"]
    # not due yet, and of the other lane: left alone (the reply lane finds only the other answers)
    assert {c.key for c in ob.claim_due(db, "wecom", "node-c", now, limit=10, lane="replies", along=100)} == {
        f"b:{u}" for u in REPS[5:8]}
    assert {c.key for c in ob.claim_due(db, "wecom", "node-c", now, limit=10, lane="bulk", along=100)} == {"bulk"}
    assert ob.get(db, "later").status == "pending"


async def test_identical_answers_due_in_different_rounds_share_one_call(frig: WeComRig) -> None:
    """Twenty people get the same answer and five others their own: the round that picks the first
    of the twenty takes the rest along, so the twenty cost one message/send, each person once."""
    db, now = frig.bot.db, frig.clock.now()
    await _stop(frig)
    people = REPS[:20]
    enqueue_many(db, [_text(f"same:{u}", u, SAME) for u in people[:2]], now)
    enqueue_many(db, [_text(f"own:{u}", u, f"你的积分：{i}") for i, u in enumerate(REPS[20:25])], now)
    enqueue_many(db, [_text(f"same:{u}", u, SAME) for u in people[2:]], now)
    worker = frig.bot.services.workers["wecom"]
    while await worker.drain_once(limit=3):
        pass
    same_calls = [b for p, b in frig.emulator.api_calls if p == "message/send" and b.get("text", {}).get("content") == SAME]
    assert len(same_calls) == 1 and sorted(same_calls[0]["touser"].split("|")) == sorted(people)
    assert [len([t for t in frig.emulator.texts(u) if t == SAME]) for u in people] == [1] * 20
    assert all(ob.get(db, f"same:{u}").status == "sent" for u in people)


async def test_shared_cards_for_different_people_come_along_as_one_card(frig: WeComRig) -> None:
    db, now = frig.bot.db, frig.clock.now()
    await _stop(frig)
    card = help_card("employee").to_dict()
    msgs = [NewMessage(f"help:{u}", "wecom", u, "card", {"card": card, "subject": f"help:R{u[-4:]}", "shared": True},
                       "R" + u[-4:], priority=ob.REPLY) for u in REPS[:8]]
    enqueue_many(db, msgs, now)
    got = ob.claim_due(db, "wecom", "node-a", now, limit=1, lane="replies", along=100)
    assert len(got) == 8


async def _stop(rig: WeComRig) -> None:
    for w in rig.bot.services.workers.values():
        await w.stop()


async def test_answers_due_during_the_gap_after_a_round_share_the_next_call(frig: WeComRig) -> None:
    """After a round that sent something, the lane waits ``ROUND_GAP_SECONDS`` before its next round:
    two people who get the same answer in separate commits meanwhile share one call, instead of the
    first one's commit starting a round of its own."""
    db, now = frig.bot.db, frig.clock.now()
    await _stop(frig)
    worker = frig.bot.services.workers["wecom"]
    worker.ROUND_GAP_SECONDS = 30.0  # far longer than this test takes: the gap cannot end on its own
    wake = asyncio.Event()
    lane = asyncio.create_task(worker._run(wake, worker._reply_lane_round))
    try:
        enqueue_many(db, [_text("first", REPS[0], "收到，马上处理。")], now)
        wake.set()
        for _ in range(500):  # until the first round has sent it (bounded: a failure must not hang the suite)
            if frig.emulator.texts(REPS[0]):
                break
            await asyncio.sleep(0.01)
        assert frig.emulator.texts(REPS[0]) == ["收到，马上处理。"]
        for u in REPS[1:3]:  # two commits, each waking the lane, with time for a round between them
            enqueue_many(db, [_text(f"same:{u}", u, SAME)], now)
            wake.set()
            await asyncio.sleep(0.05)
        assert [frig.emulator.texts(u) for u in REPS[1:3]] == [[], []]  # the lane is in its gap
    finally:
        lane.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lane
    await worker.drain_once()
    same_calls = [b for p, b in frig.emulator.api_calls if p == "message/send" and b.get("text", {}).get("content") == SAME]
    assert len(same_calls) == 1 and sorted(same_calls[0]["touser"].split("|")) == sorted(REPS[1:3])


async def test_a_round_claims_no_more_contents_than_calls_fit(frig: WeComRig) -> None:
    """With room for two calls, a round claims the rows of the first two contents in queue order (and
    their identical rows due later, which share those calls); the rest stay pending for the next."""
    db, now = frig.bot.db, frig.clock.now()
    await _stop(frig)
    enqueue_many(db, [_text(f"a:{u}", u, SAME) for u in REPS[:3]], now)
    enqueue_many(db, [_text(f"b:{u}", u, f"你的积分：{i}") for i, u in enumerate(REPS[3:6])], now)
    enqueue_many(db, [_text(f"c:{u}", u, SAME) for u in REPS[6:9]], now)
    got = ob.claim_due(db, "wecom", "node-a", now, limit=10, lane="replies", along=100, calls=2)
    assert sorted(c.key for c in got) == sorted(
        [f"a:{u}" for u in REPS[:3]] + [f"b:{REPS[3]}"] + [f"c:{u}" for u in REPS[6:9]])
    assert [ob.get(db, f"b:{u}").status for u in REPS[4:6]] == ["pending", "pending"]
    assert ob.claim_due(db, "wecom", "node-a", now, limit=10, lane="replies", along=100, calls=0) == []
    assert [c.key for c in ob.claim_due(db, "wecom", "node-b", now, limit=10, lane="replies", calls=5)] == [
        f"b:{u}" for u in REPS[4:6]]


async def test_answers_due_while_the_budget_is_spent_go_out_together_when_it_turns(frig: WeComRig) -> None:
    """The app's call budget for this second is spent; meanwhile ten people get the same answer in
    three commits. Nothing is claimed into calls that would only wait: when the window turns, the ten
    go out in one message/send, each person once (claimed as they came, it took a call per round)."""
    db, now = frig.bot.db, frig.clock.now()
    limiter = frig.bot.channels["wecom"].limiter
    assert limiter is not None
    await asyncio.sleep(1 - time.time() % 1 + 0.02)  # just after a window turned (1-second windows)
    await limiter.take(limiter.limit, urgent=True)  # another sender spends the whole window
    assert limiter.room(limiter.room_basis(urgent=True))[0] == 0
    people = REPS[:10]
    for batch in (people[:3], people[3:6], people[6:]):
        enqueue_many(db, [_text(f"same:{u}", u, SAME) for u in batch], now)
        frig.bot.services.wake("wecom")
        await asyncio.sleep(0.1)
    assert [frig.emulator.texts(u) for u in people] == [[]] * 10  # nothing sent in the spent window
    await frig.settle()
    same_calls = [b for p, b in frig.emulator.api_calls if p == "message/send" and b.get("text", {}).get("content") == SAME]
    assert len(same_calls) == 1 and sorted(same_calls[0]["touser"].split("|")) == sorted(people)
    assert [frig.emulator.texts(u) for u in people] == [[SAME]] * 10
    assert all(ob.get(db, f"same:{u}").status == "sent" for u in people)


async def test_the_lanes_keep_sending_round_after_round(frig: WeComRig) -> None:
    """The running lanes (no drain): each answer goes out after the one before it was sent, round
    after round, gap after gap."""
    db = frig.bot.db
    for i, u in enumerate(REPS[:4]):
        enqueue_many(db, [_text(f"next:{i}", u, f"第{i + 1}条回复")], frig.clock.now())
        frig.bot.services.wake("wecom")
        for _ in range(500):  # bounded: a lane that stopped must fail the test, not hang the suite
            if frig.emulator.texts(u):
                break
            await asyncio.sleep(0.01)
        assert frig.emulator.texts(u) == [f"第{i + 1}条回复"]


async def test_a_lane_waits_longer_between_rounds_while_inbound_events_queue(frig: WeComRig) -> None:
    """While at least ``BACKLOG_EVENTS`` inbound events wait for a worker the gap after a round
    stretches (their answers wait for processing anyway, and fewer rounds merge more of them); it ends
    as soon as the backlog is below the mark."""
    db, now = frig.bot.db, frig.clock.now()
    await _stop(frig)
    worker = frig.bot.services.workers["wecom"]
    worker.BACKLOG_EVENTS = 0  # the empty queue counts as a backlog: the gap stretches
    worker.BACKLOG_GAP_SECONDS = 30.0
    wake = asyncio.Event()
    lane = asyncio.create_task(worker._run(wake, worker._reply_lane_round))
    try:
        enqueue_many(db, [_text("first", REPS[0], "收到，马上处理。")], now)
        wake.set()
        for _ in range(500):
            if frig.emulator.texts(REPS[0]):
                break
            await asyncio.sleep(0.01)
        enqueue_many(db, [_text("second", REPS[1], SAME)], now)
        wake.set()
        await asyncio.sleep(0.5)  # five ordinary gaps
        assert frig.emulator.texts(REPS[1]) == []  # still in the stretched gap
        worker.BACKLOG_EVENTS = 100  # the backlog is gone
        for _ in range(500):
            if frig.emulator.texts(REPS[1]):
                break
            await asyncio.sleep(0.01)
        assert frig.emulator.texts(REPS[1]) == [SAME]
    finally:
        lane.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lane
