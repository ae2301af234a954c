"""The outbox worker: claims due rows for one channel in batches, paces per user, delivers, records
each batch's results in one transaction. Every database call runs off the event loop (``db.run``).

Retry policy (README "Delivery"): a transient failure (platform unreachable, 5xx, time-out,
frequency limit) is retried with exponential backoff and jitter (``[outbox] first_backoff_seconds``
doubling up to ``max_backoff_seconds``, each wait 50–100 % of that). A row still failing
``park_after_hours`` after its first transient failure is ``parked`` with the reason; admins get
one notice per day (``outbox:parked:<employee>:<date>``) and ``python -m bot outbox retry``
requeues parked rows. A permanent error (unknown user, invalid card) fails the row at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import Channel, Delivery
from bot.redact import redact
from bot.services import Services
from storage import cardstore, employees
from storage import outbox as ob
from storage.models import Employee

log = logging.getLogger(__name__)
CARD_WAIT_SECONDS = 1.0  # an update to a card in flight elsewhere is looked at again after this
PARKED_NOTICE = (
    "【绩效助手】有消息在平台持续不可用 {hours} 小时后仍未送达，已暂停重试。请确认企业微信/钉钉恢复后，"
    "在服务器上运行 python -m bot outbox retry --all 重新发送（python -m bot outbox failures 可查看明细）。"
)


def backoff_seconds(attempt: int, first: float = 2.0, cap: float = 900.0) -> float:
    """The wait before retry number ``attempt`` (1-based): exponential, capped, 50–100 % jitter."""
    base = min(cap, first * 2 ** min(max(0, attempt - 1), 30))
    return base * random.uniform(0.5, 1.0)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class OutboxWorker:
    """Two lanes over one channel's rows: the bulk lane claims up to ``batch_size`` rows a round
    (replies first, then notifications and pushes, whose identical texts merge into multi-user
    calls); the reply lane claims only replies (``priority`` REPLY) and card updates, a few at a
    time, so the answer to someone who just wrote never waits for a bulk round of hundreds of
    rate-limited sends to finish. Both take their calls from the same app-wide limiter (the reply
    lane's rows on the replies' share: ``Claimed.urgent``)."""

    BULK_ROUND_LIMIT = 500
    REPLY_LANE_LIMIT = 50
    # Due rows with the same content as a round's rows come along (at most this many more): one call
    # takes identical content to many people, so answers that became due over several rounds of a
    # burst share calls, and the round makes no more calls than without them.
    ALONG_LIMIT = 1000
    # After a round that sent something, a lane waits this long before its next round, so the answers
    # that became due meanwhile go out together (identical ones in one call) instead of a round per
    # commit. Under a burst (bench_wecom, 2,000 people at once) that took 472-502 calls instead of
    # 513-581 on SQLite and 816 instead of 890 on PostgreSQL, and the reply p99 at half the bot's rate
    # fell from 0.58-0.68 s to 0.25-0.26 s (fewer calls, less waiting for the app budget). The gap
    # follows a round that sent something, never an idle lane: a reply waits at most this much longer.
    ROUND_GAP_SECONDS = 0.1
    # While this many inbound events wait for a worker, the gap stretches, a ROUND_GAP_SECONDS at a time, up
    # to BACKLOG_GAP_SECONDS: the replies of a backlog wait seconds for processing anyway, and fewer,
    # larger rounds leave the processing more of the CPU and merge more identical answers into one call.
    # It ends as soon as the backlog is below the mark, so the last replies do not wait for it.
    BACKLOG_EVENTS = 100
    BACKLOG_GAP_SECONDS = 0.3

    def __init__(self, services: Services, channel: Channel, poll_interval: float = 1.0) -> None:
        self.services = services
        self.channel = channel
        self.owner = f"{worker_id()}:{channel.name}"
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._reply_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[int] = set()  # claimed rows this process is still sending (never reclaimed)
        # Updates waiting for their card's send to return: row id → (card outbox key, until when
        # (monotonic) they are not claimed again; a card sent by another process frees them then).
        self._waiting: dict[int, tuple[str, float]] = {}
        self._landed: dict[str, float] = {}  # cards this process delivered in the last minute → when (monotonic)
        self._round = asyncio.Lock()
        self._reply_round = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()
        self._reply_wake.set()

    @property
    def woken(self) -> bool:
        """A wake-up is pending: a round of each lane that starts after this read follows (a
        lane's flag is cleared only as its round starts), so they see rows committed before the
        read and another wake-up is not needed. Safe to read from any thread."""
        return self._wake.is_set() and self._reply_wake.is_set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(self._wake, self._bulk_round), name=f"outbox-{self.channel.name}"),
            asyncio.create_task(self._run(self._reply_wake, self._reply_lane_round),
                                name=f"outbox-{self.channel.name}-replies"),
        ]

    async def stop(self, grace: float = 10.0) -> None:
        """Let the rounds in flight finish (up to ``grace`` seconds: their rows are recorded, not
        left ``sending`` until the stale reclaim), then stop both lanes."""
        held: list[asyncio.Lock] = []
        try:
            async with asyncio.timeout(grace):
                for lock in (self._round, self._reply_round):
                    await lock.acquire()
                    held.append(lock)
        except TimeoutError:
            log.warning("outbox worker %s: a round still in flight after %.0f s; stopping anyway",
                        self.channel.name, grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []
        for lock in held:
            lock.release()

    async def _run(self, wake: asyncio.Event, round_once: Callable[[], Awaitable[int]]) -> None:
        while True:
            # Clear BEFORE the round: a wake-up set from here on (``woken`` true) is always followed
            # by a round that starts after it, so a row committed during this round is never left
            # waiting for the poll interval (clearing after an empty round lost such wake-ups).
            wake.clear()
            try:
                n = await round_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker %s failed a round; retrying", self.channel.name)
                n = 0
            if n > 0:
                await self._gap()
                continue
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that arrives as the event is set (a wake-up from a worker thread), and stop() hangs.
            try:
                async with asyncio.timeout(self.poll_interval):
                    await wake.wait()
            except TimeoutError:
                pass

    async def _gap(self) -> None:
        """The wait after a round that sent something (ROUND_GAP_SECONDS, stretched under a backlog)."""
        waited, dispatcher = 0.0, self.services.dispatcher
        while True:
            await asyncio.sleep(self.ROUND_GAP_SECONDS)
            waited += self.ROUND_GAP_SECONDS
            if waited >= self.BACKLOG_GAP_SECONDS or dispatcher is None or dispatcher.pool.backlog < self.BACKLOG_EVENTS:
                return

    async def _bulk_round(self) -> int:
        await self.services.dispatcher.accept_first.wait_async()
        async with self._round:
            return await self._round_once(self.BULK_ROUND_LIMIT, "bulk")

    async def _reply_lane_round(self) -> int:
        await self.services.dispatcher.accept_first.wait_async()
        async with self._reply_round:
            return await self._round_once(self.REPLY_LANE_LIMIT, "replies")

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Deliver until nothing is due (tests, ``outbox drain``)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.drain_once()
            if n == 0:
                break
            total += n
        return total

    async def drain_once(self, limit: int = BULK_ROUND_LIMIT) -> int:
        """One round: claim up to ``limit`` due rows, deliver, record. Waits for both lanes' rounds
        in flight, so it never overlaps them (tests and ``outbox drain`` see a settled queue)."""
        async with self._round, self._reply_round:
            return await self._round_once(limit)

    async def _round_once(self, limit: int, lane: str | None = None) -> int:
        db = self.services.db
        now = self.services.now()
        mono = time.monotonic()
        self._waiting = {row: w for row, w in self._waiting.items() if w[1] > mono}
        limiter = self.channel.limiter
        while True:
            basis = limiter.room_basis(lane == "replies") if limiter is not None else None
            claimed, items, waiting, wait = await db.run(self._claim, now, limit, lane, set(self._inflight),
                                                         set(self._waiting), basis)
            if claimed is not None:
                break
            # The app's budget for this window is spent (by this lane, the other or another process):
            # what is due waits unclaimed for the next window and merges there with what becomes due
            # meanwhile, instead of being claimed into calls of its own that would only wait.
            await asyncio.sleep(wait)
            now = self.services.now()
        if not claimed:
            return 0
        self._inflight |= claimed
        try:
            return await self._deliver(items, waiting, now)
        finally:
            self._inflight -= claimed

    def _claim(self, now: datetime, limit: int, lane: str | None, busy: set[int], skip: set[int],
               basis: tuple[int, int, int] | None = None,
               ) -> tuple[set[int] | None, list[ob.Claimed], dict[int, str], float]:
        """Database thread: claim due rows, then :meth:`_prepare` them, in one hop from the loop.
        Returns the ids claimed, the rows to send now, the updates left waiting for their card, and
        when the app's budget for this window is spent (ids None, nothing claimed) the seconds until
        the next.
        With the limiter's ``basis``, no more distinct contents are claimed than calls fit now."""
        db, ch = self.services.db, self.channel
        calls = None
        if ch.limiter is not None and basis is not None:
            calls, wait = ch.limiter.room(basis)
            if not calls:
                return None, [], {}, wait
        items = ob.claim_due(db, ch.name, self.owner, now, limit=limit, busy=busy, lane=lane,
                             card_handle_key=ch.card_handle_key, skip=skip, along=self.ALONG_LIMIT, calls=calls)
        if not items:
            return set(), [], {}, 0.0
        return {i.id for i in items}, *self._prepare(items, now), 0.0

    async def _deliver(self, items: list[ob.Claimed], waiting: dict[int, str], now: datetime) -> int:
        db, ch = self.services.db, self.channel
        self._wait_for_cards(waiting)
        handled = parked = 0
        for i in range(0, len(items), max(1, ch.batch_size)):
            batch = items[i : i + ch.batch_size]
            try:
                results = await ch.deliver(batch)
            except Exception as exc:  # the channel could not even sort the batch: outcome unknown
                log.warning("%s delivery failed (%s); will retry", ch.name, redact(exc))
                results = [Delivery("retry", error=f"unreachable: {exc}", in_doubt=True) for _ in batch]
            now = self.services.now()
            parked += await db.run(self._record, batch, results, now)
            handled += len(batch)
            self._release_waiting({i.key for i, r in zip(batch, results, strict=True)
                                   if i.kind == "card" and r.status == "sent"})
        if parked:
            await self._notify_parked(parked, now)
        return handled

    def _wait_for_cards(self, waiting: dict[int, str]) -> None:
        """Leave updates unclaimed until their card lands (:meth:`_release_waiting`), at most
        CARD_WAIT_SECONDS (a card sent by another process), then look again. A card that landed
        while its update was being looked at does not keep the update waiting."""
        if not waiting:
            return
        until = time.monotonic() + CARD_WAIT_SECONDS
        self._waiting.update((row, (card, until)) for row, card in waiting.items() if card not in self._landed)
        asyncio.get_running_loop().call_later(CARD_WAIT_SECONDS, self.wake)
        if any(card in self._landed for card in waiting.values()):
            self.wake()

    def _release_waiting(self, delivered: set[str]) -> None:
        """Cards just delivered: the updates waiting for them may go now."""
        if not delivered:
            return
        mono = time.monotonic()  # a minute of landed cards is kept: enough to close the race above
        self._landed = {k: t for k, t in self._landed.items() if t > mono - 60} | dict.fromkeys(delivered, mono)
        freed = [row for row, (card, _) in self._waiting.items() if card in delivered]
        for row in freed:
            del self._waiting[row]
        if freed:
            self.wake()

    # -- pacing (database thread) -------------------------------------------------------------
    def _prepare(self, items: list[ob.Claimed], now: datetime) -> tuple[list[ob.Claimed], dict[int, str]]:
        """The claimed rows to send now (:meth:`_hold_updates`, then :meth:`_pace`), and the
        updates left waiting for their card."""
        items, waiting, held = self._hold_updates(items, now)
        items, paced = self._pace(items, now)
        ob.record_batch(self.services.db, self.owner, held + paced)  # one transaction, none when nothing is held
        return items, waiting

    def _pace(self, items: list[ob.Claimed], now: datetime) -> tuple[list[ob.Claimed], list[ob.Outcome]]:
        """Hold back rows for recipients at their per-minute/hour budget (platforms drop silently).
        Returns the rows to send and the outcomes of those held back."""
        ch, db = self.channel, self.services.db
        if not ch.per_user_per_minute:
            return items, []
        recipients = [i.recipient for i in items if i.kind != "update_card"]
        counts = ob.recent_send_counts(db, ch.name, recipients, now - timedelta(minutes=1),
                                       now - timedelta(hours=1) if ch.per_user_per_hour else None)
        minute = {r: m for r, (m, _) in counts.items()}
        hour = {r: h for r, (_, h) in counts.items()}
        keep: list[ob.Claimed] = []
        held: list[ob.Outcome] = []
        for item in items:
            if item.kind == "update_card":
                keep.append(item)
                continue
            m, h = minute.get(item.recipient, 0), hour.get(item.recipient, 0)
            if m >= ch.per_user_per_minute or (ch.per_user_per_hour and h >= ch.per_user_per_hour):
                at = now + timedelta(seconds=60 if m >= ch.per_user_per_minute else 600)
                held.append(ob.Outcome(item.id, ob.finish_values(
                    "retry", now, error="paced: per-user limit", at=at, undo_attempt=True)))
                continue
            minute[item.recipient] = m + 1
            hour[item.recipient] = h + 1
            keep.append(item)
        return keep, held

    def _hold_updates(self, items: list[ob.Claimed], now: datetime,
                      ) -> tuple[list[ob.Claimed], dict[int, str], list[ob.Outcome]]:
        """Updates to cards, before they go: one to a card whose send is still in flight (the person
        tapped it before the send call returned) waits for the card (only rows queued before
        migration 0005 gave them a card key: the claim holds the others back until their card and
        the earlier updates are done, in every process); one older than an update the card already
        shows is dropped (the newest wins); one to a card never delivered fails.
        Returns the rows to send, the rows left waiting → the outbox key of their card, and the
        outcomes of the rows not sent."""
        ids = [i.payload["record_id"] for i in items if i.kind == "update_card" and i.payload.get("record_id")]
        targets = cardstore.update_targets(self.services.db, ids) if ids else {}
        keep: list[ob.Claimed] = []
        done: list[ob.Outcome] = []
        waiting: dict[int, str] = {}
        newest: dict[int, int] = {}  # record id → the newest update for it in this round
        for item in items:
            if item.kind == "update_card" and item.payload.get("record_id") in targets:
                rid = item.payload["record_id"]
                newest[rid] = max(newest.get(rid, 0), targets[rid].last_update, item.id)
        for item in items:
            t = targets.get(item.payload.get("record_id")) if item.kind == "update_card" else None
            if t is None or (t.delivered and newest[item.payload["record_id"]] == item.id):
                keep.append(item)
            elif t.delivered:
                done.append(ob.Outcome(item.id, ob.finish_values(
                    "sent", now, result={"superseded_by": newest[item.payload["record_id"]]})))
            elif t.card_status in ("pending", "sending"):
                at = max(now, t.card_next_at or now) if t.card_status == "pending" else now
                done.append(ob.Outcome(item.id, ob.finish_values(
                    "retry", now, error="waiting: the card is still on its way", at=at, undo_attempt=True)))
                waiting[item.id] = t.card_key
            else:
                done.append(ob.Outcome(item.id, ob.finish_values(
                    "failed", now, error=f"the card was never delivered ({t.card_status or 'its outbox row is gone'})")))
        return keep, waiting, done

    # -- results (database thread, one transaction per batch) ---------------------------------
    def _record(self, batch: list[ob.Claimed], results: list[Delivery], now: datetime) -> int:
        """Record a batch's outcomes in one transaction; returns how many rows were parked."""
        pol = self.services.settings.outbox
        park_after = timedelta(hours=pol.park_after_hours)
        parked = 0
        outcomes: list[ob.Outcome] = []
        for item, res in zip(batch, results, strict=True):
            doubt = res.in_doubt or item.in_doubt
            if res.status == "sent":
                outcomes.append(ob.Outcome(item.id, ob.finish_values("sent", now, result=res.handle),
                                           card=_card_note(item, res, now)))
                continue
            error = redact(res.error or res.status)
            if res.status == "retry" and res.deferred:
                at = now + timedelta(seconds=res.retry_after or 1.0)
                values = ob.finish_values("retry", now, error=error, at=at, in_doubt=doubt, undo_attempt=True)
            elif res.status == "retry" and now - (item.failing_since or now) < park_after:
                delay = res.retry_after if res.retry_after is not None else backoff_seconds(
                    item.attempts, pol.first_backoff_seconds, pol.max_backoff_seconds)
                values = ob.finish_values("retry", now, error=error, at=now + timedelta(seconds=delay),
                                          in_doubt=doubt, failing=True)
            elif res.status == "retry":
                values = ob.finish_values("parked", now, in_doubt=doubt,
                                          error=f"parked after {pol.park_after_hours:g} h of retries: {error}")
                parked += 1
            else:
                log.error("outbox %s to %s on %s failed permanently: %s", item.key, item.recipient,
                          item.channel, error)
                values = ob.finish_values("failed", now, error=error, in_doubt=doubt)
            outcomes.append(ob.Outcome(item.id, values))
        ob.record_batch(self.services.db, self.owner, outcomes)
        return parked

    # -- parking notice -----------------------------------------------------------------------
    async def _notify_parked(self, n: int, now: datetime) -> None:
        log.warning("outbox: %d message(s) on %s parked after %g h of retries; once the platform is back run "
                    "`python -m bot outbox retry --all`", n, self.channel.name,
                    self.services.settings.outbox.park_after_hours)
        db = self.services.db
        msgs = await db.run(self._parked_notices, now)
        if msgs and await db.run(ob.enqueue_many, db, msgs, now):
            for ch in {m.channel for m in msgs}:
                self.services.wake(ch)

    def _parked_notices(self, now: datetime) -> list[ob.NewMessage]:
        """One notice per admin (role ``admin``, else ``hr``) per local day."""
        people: list[Employee] = []
        for role in ("admin", "hr"):
            people = employees.active_with_role(self.services.db, role)
            if people:
                break
        day = now.astimezone(self.services.tz).date().isoformat()
        text = PARKED_NOTICE.format(hours=f"{self.services.settings.outbox.park_after_hours:g}")
        msgs = []
        for emp in people:
            target = self.services.messenger.route(emp) if self.services.messenger else None
            if target is not None:
                msgs.append(ob.NewMessage(f"outbox:parked:{emp.id}:{day}", target[0], target[1], "text",
                                          {"text": text}, emp.id))
        return msgs



def _card_note(item: ob.Claimed, res: Delivery, now: datetime) -> dict[str, Any] | None:
    """What to note on the card record when a card (or a card update) was delivered."""
    if item.kind == "card" and item.payload.get("subject"):
        return {"op": "record", "subject": item.payload["subject"], "channel": item.channel,
                "recipient": item.recipient, "employee_id": item.employee_id, "outbox_key": item.key,
                "handle": res.handle, "card": item.payload["card"], "now": now, "handle_key": res.handle_key}
    if item.kind == "update_card" and item.payload.get("record_id"):
        return {"op": "update", "record_id": item.payload["record_id"], "now": now,
                "handle": {**res.handle, "last_update": item.id},  # older updates still queued are superseded
                "state": item.payload["card"].get("state"), "card": item.payload["card"]}
    return None
