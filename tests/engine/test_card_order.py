"""Updates of one card go out in order across processes: the claim itself (storage/outbox.py
``claim_due``) hands out a card's update only when no earlier row for that card (the card itself,
or an earlier update) is still pending or sending, whoever claimed it. Two owners here stand for
two bot processes sharing one database."""

from __future__ import annotations

import asyncio
import threading

from bot.channels.base import Channel, Delivery
from bot.clock import ManualClock
from bot.sender import OutboxWorker
from bot.services import Services
from storage import cardstore
from storage import outbox as ob
from storage.db import Database, open_database
from tests.conftest import DEMO_NOW, make_settings, truncate_pg


class Platform(Channel):
    """Records what lands on the platform, in order; a send can be held mid-call (``hold``)."""

    name = "rec"
    batch_size = 1

    def __init__(self) -> None:
        super().__init__()
        self.landed: list[str] = []
        self.shows: dict[str, str | None] = {}  # recipient → the state their card shows
        self.hold: dict[str, asyncio.Event] = {}  # outbox key → released when set
        self.calling: dict[str, asyncio.Event] = {}  # outbox key → set once its call started

    def recipient_for(self, employee):
        return employee.id

    async def deliver(self, items):
        for it in items:
            self.calling.setdefault(it.key, asyncio.Event()).set()
            if it.key in self.hold:
                await self.hold[it.key].wait()
            self.landed.append(it.key)
            self.shows[it.recipient] = it.payload["card"].get("state")
        return [Delivery("sent", handle={"n": len(self.landed)}) for _ in items]


def worker(db: Database, channel: Channel, clock: ManualClock, owner: str) -> OutboxWorker:
    w = OutboxWorker(Services(settings=make_settings(db.url), db=db, clock=clock), channel)
    w.owner = owner  # another process
    return w


def card(key: str, subject: str, recipient: str = "u1") -> ob.NewMessage:
    return ob.NewMessage(key, "rec", recipient, "card", {"card": {"title": "拜访反馈", "state": None},
                                                         "subject": subject})


def update(key: str, record_id: int, state: str, recipient: str = "u1") -> ob.NewMessage:
    return ob.NewMessage(key, "rec", recipient, "update_card",
                         {"record_id": record_id, "card": {"title": "拜访反馈", "state": state}, "subject": "s"},
                         priority=ob.REPLY)


def record_id(db: Database, subject: str) -> int:
    [rec] = cardstore.for_subject(db, subject)
    return rec.id


async def test_an_update_waits_for_the_earlier_one_another_process_is_still_sending(db):
    """Process A is sending the first update (the call has not returned); process B must not send
    the second one meanwhile, or the older state could land last and the person sees a stale card."""
    clock = ManualClock(DEMO_NOW)
    platform = Platform()
    a, b = worker(db, platform, clock, "node-a"), worker(db, platform, clock, "node-b")
    ob.enqueue(db, card("visit:V1:card", "visit:V1"), clock.now())
    assert await a.drain() == 1
    rid = record_id(db, "visit:V1")

    platform.hold["tap:1"] = asyncio.Event()
    ob.enqueue(db, update("tap:1", rid, "已选：沟通质量好"), clock.now())
    first = asyncio.create_task(a.drain_once())
    await platform.calling.setdefault("tap:1", asyncio.Event()).wait()  # A's call is in flight
    ob.enqueue(db, update("close:1", rid, "已提交"), clock.now())
    claimed_meanwhile = await b.drain_once()
    platform.hold["tap:1"].set()
    assert await first == 1
    await b.drain()
    await a.drain()

    assert platform.landed == ["visit:V1:card", "tap:1", "close:1"]
    assert platform.shows["u1"] == "已提交"
    assert claimed_meanwhile == 0
    assert ob.stats(db) == {"sent": 3}


async def test_an_update_is_not_claimed_while_its_card_is_still_on_its_way(db):
    """The card's own row is the first of its target: another process does not claim an update of it
    until the card's send has returned."""
    clock = ManualClock(DEMO_NOW)
    ob.enqueue(db, card("visit:V2:card", "visit:V2"), clock.now())
    [c] = ob.claim_due(db, "rec", "node-a", clock.now())  # records the card (not yet delivered)
    ob.enqueue(db, update("close:2", record_id(db, "visit:V2"), "已提交"), clock.now())
    assert ob.claim_due(db, "rec", "node-b", clock.now()) == []
    assert ob.claim_due(db, "rec", "node-b", clock.now(), lane="replies") == []
    assert ob.mark_sent(db, c.id, "node-a", clock.now())
    assert [u.key for u in ob.claim_due(db, "rec", "node-b", clock.now())] == ["close:2"]


async def test_one_update_of_a_card_at_a_time_in_id_order_whoever_claims(db):
    clock = ManualClock(DEMO_NOW)
    ob.enqueue_many(db, [card("visit:V3:card", "visit:V3"), card("visit:V4:card", "visit:V4")], clock.now())
    for c in ob.claim_due(db, "rec", "node-a", clock.now()):
        assert ob.mark_sent(db, c.id, "node-a", clock.now())
    r3, r4 = record_id(db, "visit:V3"), record_id(db, "visit:V4")
    ob.enqueue_many(db, [update(f"v3:{i}", r3, f"第{i}次") for i in range(3)]
                    + [update("v4:0", r4, "已提交", recipient="u2")], clock.now())
    # Even one claimer with room for all takes only the first update of each card.
    got = ob.claim_due(db, "rec", "node-a", clock.now(), limit=10)
    assert sorted(c.key for c in got) == ["v3:0", "v4:0"]
    assert ob.claim_due(db, "rec", "node-b", clock.now(), limit=10) == []
    for c in got:
        assert ob.mark_sent(db, c.id, "node-a", clock.now())
    assert [c.key for c in ob.claim_due(db, "rec", "node-b", clock.now(), limit=10)] == ["v3:1"]


async def test_failed_and_parked_earlier_rows_do_not_block_a_stale_sending_one_goes_first(db):
    clock = ManualClock(DEMO_NOW)
    ob.enqueue(db, card("visit:V5:card", "visit:V5"), clock.now())
    [c] = ob.claim_due(db, "rec", "node-a", clock.now())
    assert ob.mark_sent(db, c.id, "node-a", clock.now())
    rid = record_id(db, "visit:V5")
    ob.enqueue_many(db, [update(f"v5:{i}", rid, f"第{i}次") for i in range(4)], clock.now())

    [u0] = ob.claim_due(db, "rec", "node-a", clock.now())
    assert ob.mark_failed(db, u0.id, "node-a", "invalid card", clock.now())  # a dead row: no block
    [u1] = ob.claim_due(db, "rec", "node-a", clock.now())
    assert u1.key == "v5:1"
    parked = ob.Outcome(u1.id, ob.finish_values("parked", clock.now(), error="parked after 24 h of retries"))
    assert ob.record_batch(db, "node-a", [parked]) == 1  # parked until an operator requeues it: no block
    [u2] = ob.claim_due(db, "rec", "node-a", clock.now())
    assert u2.key == "v5:2"

    # node-a dies mid-send: its row is reclaimed once stale, and still goes before the next update.
    assert ob.claim_due(db, "rec", "node-b", clock.now()) == []
    clock.advance(minutes=5)
    [again] = ob.claim_due(db, "rec", "node-b", clock.now(), limit=10)
    assert again.key == "v5:2" and again.in_doubt
    assert ob.mark_sent(db, again.id, "node-b", clock.now())
    assert [c.key for c in ob.claim_due(db, "rec", "node-b", clock.now(), limit=10)] == ["v5:3"]


def test_concurrent_claimers_never_hold_two_updates_of_one_card(pg_database):
    """Four claimers (four processes) racing on PostgreSQL (SKIP LOCKED): at no time do two of them
    hold updates of the same card, and each card's updates are claimed in the order they were made."""
    truncate_pg(pg_database)
    db = open_database(pg_database)
    try:
        now = DEMO_NOW
        cards, updates = 12, 5
        ob.enqueue_many(db, [card(f"c{n}:card", f"c{n}", recipient=f"u{n}") for n in range(cards)], now)
        while claimed := ob.claim_due(db, "rec", "setup", now):
            for c in claimed:
                assert ob.mark_sent(db, c.id, "setup", now)
        rids = {n: record_id(db, f"c{n}") for n in range(cards)}
        ob.enqueue_many(db, [update(f"c{n}:u{i}", rids[n], f"第{i}次", recipient=f"u{n}")
                             for n in range(cards) for i in range(updates)], now)  # a card's updates side by side

        lock = threading.Lock()
        start = threading.Barrier(4)
        holding: dict[int, str] = {}  # record id → the claimer holding one of its updates
        overlaps: list[tuple[int, str, str]] = []
        order: dict[int, list[int]] = {n: [] for n in rids.values()}
        errors: list[BaseException] = []

        def claimer(owner: str) -> None:
            try:
                start.wait()
                for _ in range(cards * updates * 4):  # bounded: the queue empties well before
                    got = ob.claim_due(db, "rec", owner, now, limit=3, lane="replies")
                    with lock:
                        for c in got:
                            rid = c.payload["record_id"]
                            if rid in holding:
                                overlaps.append((rid, holding[rid], owner))
                            holding[rid] = owner
                            order[rid].append(c.id)
                    if not got and ob.stats(db, "rec").get("pending", 0) == 0:
                        return
                    with lock:  # released before the row is finished: it still blocks until then
                        for c in got:
                            holding.pop(c.payload["record_id"], None)
                    for c in got:
                        assert ob.mark_sent(db, c.id, owner, now)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=claimer, args=(f"node-{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert overlaps == []
        assert all(ids == sorted(ids) and len(ids) == updates for ids in order.values()), order
        assert ob.stats(db, "rec") == {"sent": cards * (updates + 1)}
    finally:
        db.dispose()

