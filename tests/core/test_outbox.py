from __future__ import annotations

from datetime import timedelta

from bot.channels.base import Channel, Delivery
from bot.clock import ManualClock
from bot.sender import OutboxWorker
from bot.services import Services
from storage import outbox as ob
from tests.conftest import DEMO_NOW, make_settings


class Recorder(Channel):
    name = "rec"
    batch_size = 5
    per_user_per_minute = 3

    def __init__(self, script=None):
        super().__init__()
        self.sent: list[str] = []
        self.script = script or {}

    def recipient_for(self, employee):
        return employee.id

    async def deliver(self, items):
        out = []
        for it in items:
            verdict = self.script.get(it.recipient, "sent")
            if verdict == "sent":
                self.sent.append(it.key)
            out.append(Delivery(verdict, error=None if verdict == "sent" else f"{verdict} for {it.recipient}"))
        return out


def worker(db, channel, clock):
    services = Services(settings=make_settings(db.url), db=db, clock=clock)
    return OutboxWorker(services, channel)


def msgs(n, recipient=None):
    return [ob.NewMessage(f"k{i}", "rec", recipient or f"u{i}", "text", {"text": "hi"}) for i in range(n)]


async def test_enqueue_is_idempotent_per_key(db):
    now = DEMO_NOW
    assert ob.enqueue_many(db, msgs(10), now) == 10
    assert ob.enqueue_many(db, msgs(12), now) == 2
    assert ob.stats(db) == {"pending": 12}


async def test_each_key_delivered_once_even_with_two_workers(db):
    clock = ManualClock(DEMO_NOW)
    ch = Recorder()
    ob.enqueue_many(db, msgs(40), clock.now())
    w1, w2 = worker(db, ch, clock), worker(db, ch, clock)
    w2.owner += "-2"
    await w1.drain_once(limit=25)
    await w2.drain()
    await w1.drain()
    assert sorted(ch.sent) == sorted(f"k{i}" for i in range(40))
    assert ob.stats(db) == {"sent": 40}


async def test_crashed_claim_is_recovered_once_and_flagged_in_doubt(db):
    clock = ManualClock(DEMO_NOW)
    ob.enqueue_many(db, msgs(3), clock.now())
    claimed = ob.claim_due(db, "rec", "dead-worker", clock.now())
    assert len(claimed) == 3 and not any(c.in_doubt for c in claimed)
    assert ob.claim_due(db, "rec", "other", clock.now()) == []  # claimed rows are not handed out twice
    clock.advance(minutes=5)
    again = ob.claim_due(db, "rec", "new-worker", clock.now())
    assert len(again) == 3 and all(c.in_doubt for c in again)
    # the dead worker cannot overwrite the new owner's outcome
    assert not ob.mark_sent(db, again[0].id, "dead-worker", clock.now())


async def test_per_user_pacing_defers_not_drops(db):
    clock = ManualClock(DEMO_NOW)
    ch = Recorder()
    ob.enqueue_many(db, msgs(5, recipient="same"), clock.now())
    w = worker(db, ch, clock)
    await w.drain()
    assert len(ch.sent) == 3  # the channel's per-minute budget
    assert ob.stats(db) == {"sent": 3, "pending": 2}
    clock.advance(seconds=61)
    await w.drain()
    assert len(ch.sent) == 5


async def test_permanent_failures_are_recorded_and_retries_back_off(db):
    clock = ManualClock(DEMO_NOW)
    ch = Recorder({"bad": "failed", "flaky": "retry"})
    ob.enqueue_many(db, [ob.NewMessage("a", "rec", "bad", "text", {"text": "x"}),
                         ob.NewMessage("b", "rec", "flaky", "text", {"text": "x"})], clock.now())
    w = worker(db, ch, clock)
    await w.drain()
    assert ob.get(db, "a").status == "failed" and "failed for bad" in ob.get(db, "a").last_error
    row = ob.get(db, "b")
    assert row.status == "pending" and row.next_attempt_at > clock.now()
    waits = []
    for _ in range(200):  # a real outage: keep retrying, waits growing up to the cap, for a day
        waits.append((ob.get(db, "b").next_attempt_at - clock.now()).total_seconds())
        clock.set(ob.get(db, "b").next_attempt_at)
        await w.drain()
        if ob.get(db, "b").status != "pending":
            break
    row = ob.get(db, "b")
    assert row.status == "parked" and "parked after 24 h of retries" in row.last_error  # visibly
    assert clock.now() - DEMO_NOW >= timedelta(hours=24)
    assert waits[0] <= 2 and max(waits) <= 900 and waits[-1] > 300
    assert [f.key for f in ob.failures(db)] == ["b", "a"]
    assert ob.requeue_parked(db) == [row.id]
    assert ob.get(db, "b").status == "pending" and ob.get(db, "b").failing_since is None


async def test_due_time_respected(db):
    clock = ManualClock(DEMO_NOW)
    ob.enqueue(db, ob.NewMessage("later", "rec", "u", "text", {"text": "x"},
                                 not_before=clock.now() + timedelta(hours=1)), clock.now())
    assert ob.claim_due(db, "rec", "w", clock.now()) == []
    clock.advance(hours=1)
    assert len(ob.claim_due(db, "rec", "w", clock.now())) == 1


async def test_a_batch_of_outcomes_is_recorded_row_by_row_and_spares_rows_taken_over(db):
    """Many sends recorded together keep each row's own result (its platform msgid), retries keep
    their own error and schedule, and a row another worker reclaimed meanwhile is left to it."""
    clock = ManualClock(DEMO_NOW)
    ob.enqueue_many(db, msgs(6), clock.now())
    mine = ob.claim_due(db, "rec", "me", clock.now())
    clock.advance(minutes=5)
    [taken] = [c for c in ob.claim_due(db, "rec", "other", clock.now(), busy=[c.id for c in mine[:5]])]
    now = clock.now()
    outcomes = [ob.Outcome(c.id, ob.finish_values("sent", now, result={"msgid": f"m-{c.key}"})) for c in mine[:3]]
    outcomes += [ob.Outcome(c.id, ob.finish_values("retry", now, error=f"down {c.key}", failing=True,
                                                   at=now + timedelta(seconds=9 + n))) for n, c in enumerate(mine[3:])]
    outcomes[1].values["result"] = {"msgid": "m-k1", "note": "已送达\n\"引号\""}  # one JSON batch carries it as is
    assert ob.record_batch(db, "me", outcomes) == 5
    assert [ob.get(db, f"k{i}").result for i in range(3)] == [
        {"msgid": "m-k0"}, {"msgid": "m-k1", "note": "已送达\n\"引号\""}, {"msgid": "m-k2"}]
    assert [(r.status, r.last_error, r.failing_since, r.next_attempt_at, r.attempts)
            for r in (ob.get(db, "k3"), ob.get(db, "k4"))] == [
        ("pending", "down k3", now, now + timedelta(seconds=9), 1),
        ("pending", "down k4", now, now + timedelta(seconds=10), 1)]
    row = ob.get(db, taken.key)
    assert row.status == "sending" and row.claimed_by == "other" and row.result == {}


async def test_a_reply_claimed_in_a_bulk_round_goes_before_the_rounds_notifications(db):
    """A bulk round takes replies too when it has room; it used to deliver in id order, so a reply
    queued after hundreds of notifications waited for all of them (bench_wecom found replies
    claimed at once and sent 12 s later). Within a round, replies now go first."""
    clock = ManualClock(DEMO_NOW)
    ch = Recorder()
    ch.per_user_per_minute = 0
    ob.enqueue_many(db, msgs(12), clock.now())
    ob.enqueue(db, ob.NewMessage("note", "rec", "writer", "text", {"text": "your card, closed"}), clock.now())
    ob.enqueue(db, ob.NewMessage("reply", "rec", "writer", "text", {"text": "answer"}, priority=ob.REPLY), clock.now())
    assert await worker(db, ch, clock).drain_once() == 14
    assert ch.sent[:2] == ["note", "reply"]  # the writer's own rows first, in the order they were queued
    assert sorted(ch.sent[2:]) == sorted(f"k{i}" for i in range(12))


async def test_replies_queued_in_a_unit_of_work_go_in_when_it_commits_and_not_if_it_rolls_back(db):
    """Rows queued with enqueue_at_commit are written together just before the unit of work commits,
    in the order queued, a key already there skipped; a unit that rolls back leaves none of them."""
    clock = ManualClock(DEMO_NOW)
    now = clock.now()
    ob.enqueue_many(db, [ob.NewMessage("r1", "rec", "u1", "text", {"text": "早"})], now)
    with db.unit_of_work():
        assert ob.enqueue_at_commit(db, [ob.NewMessage("r0", "rec", "u0", "text", {"text": "你好"}, priority=ob.REPLY)],
                                    now) == 1
        assert ob.enqueue_at_commit(db, [ob.NewMessage("r1", "rec", "u1", "text", {"text": "又一条"}),
                                         ob.NewMessage("r2", "rec", "u2", "card", {"card": {"title": "卡片"},
                                                                                   "subject": "s:2"})], now) == 2
        assert ob.get(db, "r0") is None  # not written yet, not even for the unit's own reads
    rows = [ob.get(db, k) for k in ("r0", "r1", "r2")]
    assert all(r is not None for r in rows)
    assert rows[0].id < rows[2].id and rows[1].payload == {"text": "早"}  # the known key kept its row
    assert (rows[0].priority, rows[0].payload, rows[2].payload["card"], rows[2].card_key) == (
        ob.REPLY, {"text": "你好"}, {"title": "卡片"}, "r2")
    assert rows[0].next_attempt_at == now and rows[0].status == "pending"
    try:
        with db.unit_of_work():
            ob.enqueue_at_commit(db, [ob.NewMessage("r3", "rec", "u3", "text", {"text": "不该留下"})], now)
            raise RuntimeError("handler bug")
    except RuntimeError:
        pass
    assert ob.get(db, "r3") is None
    assert ob.enqueue_at_commit(db, [ob.NewMessage("r4", "rec", "u4", "text", {"text": "单独"})], now) == 1
    assert ob.get(db, "r4") is not None  # outside a unit of work: at once
