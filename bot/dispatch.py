"""One dispatch path for every inbound event: dedup → identity → per-user lock → route."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.context import Ctx
from bot.engine import AcceptFirst, Backlogged, GroupAccept, WorkerPool
from bot.events import InboundEvent, SystemEvent, event_from_dict
from bot.router import Router
from bot.routing import Classifier, Routing
from bot.services import Services
from storage import inbox, locks
from storage.db import is_transient
from storage.identity import IdentityCache
from storage.models import Employee

if TYPE_CHECKING:
    from bot.event_process import Helper, ProcessWorker
    from storage.loop_accept import LoopAccept

log = logging.getLogger(__name__)
# PostgreSQL: inbound inserts in flight at once (SQLite has one writer at a time anyway)
ACCEPT_WRITERS = 2

STALE_INBOUND = timedelta(minutes=5)
OVERFLOW_PER_QUEUE_SLOT = 2  # events held in memory for queue room, per queue slot; beyond, only their keys
REFILL_POLL = 0.05  # seconds between tries to move held events into the queues
TRANSIENT_RETRIES = 5  # tries after the first on a dropped connection, serialization failure, busy DB
UNKNOWN_USER = "抱歉，没有在通讯录中找到你的账号，暂时无法使用绩效助手。请联系 HR 开通。"
ERROR_REPLY = "抱歉，处理你的消息时出了点问题，我们已记录。请稍后再试。"


class AlreadyProcessed(Exception):
    """The event was finished by another run of it (a replay, another process): roll this one back."""


class EventJob:
    """An inbound event as a worker job: alone (``job()``) or with the events queued behind it in
    one transaction (``group``, the worker's group runner; see :meth:`Dispatcher.process_group`)."""

    __slots__ = ("dispatcher", "event", "group")

    def __init__(self, dispatcher: Dispatcher, event: InboundEvent) -> None:
        self.dispatcher = dispatcher
        self.event = event
        self.group = dispatcher.group_runner

    async def __call__(self) -> None:
        try:
            await self.dispatcher.process(self.event)
        finally:
            self.dispatcher.forget(self.event.key)


class Dispatcher:
    def __init__(self, services: Services, routers: list[Router], classify: Classifier | None = None,
                 workers: int | None = None, queue_capacity: int | None = None, helpers: int = 0,
                 prespawned: list[Helper] | None = None) -> None:
        """``routers``: the feature routers in order (checked at once: a clash raises RoutingError);
        ``classify``: the intent classifier (e.g. ``nlp.intent.parse_question``); ``helpers``: event
        helper processes (PostgreSQL; bot.event_process), each one more worker of the pool."""
        self.services = services
        self.routers = routers
        self.routing = Routing(routers, classify)
        db = services.db
        engine = services.settings.engine
        self.identity = IdentityCache(db)
        self.accept_first = AcceptFirst(engine.accept_first_ms / 1000, engine.accept_first_linger_ms / 1000,
                                        engine.accept_first_burst)
        capacity = queue_capacity or engine.queue_per_worker
        self.helpers: list[ProcessWorker] = []
        if helpers and not db.is_sqlite:
            from bot.event_process import ProcessWorker, setup_line

            line = setup_line(services.settings, services.clock)
            early = list(prespawned or [])
            self.helpers = [ProcessWorker(f"events-helper-{i}", capacity, line, engine.event_process_nice,
                                          on_wake=services.wake_now, before=self.accept_first.wait,
                                          prespawned=early.pop(0) if early else None,
                                          in_burst=self.accept_first.busy)
                            for i in range(helpers)]
        self.pool = WorkerPool(
            "events", workers or (engine.sqlite_workers if db.is_sqlite else engine.event_workers),
            capacity, before=self.accept_first.wait, remote=list(self.helpers),
        )
        self.acceptance = GroupAccept(self._write_accepted, pressure=self.accept_first,
                                      writers=1 if db.is_sqlite else ACCEPT_WRITERS)
        # PostgreSQL with psycopg: the inserts go out from the serving loop itself (storage.loop_accept)
        self.loop_accept: LoopAccept | None = None
        if "+psycopg" in db.url:
            from storage.loop_accept import LoopAccept  # psycopg is imported only for PostgreSQL

            self.loop_accept = LoopAccept(db)
        self.backlogged = 0  # events that found their queue full (held in memory, or left to the sweeper)
        self.transient_retries = 0
        self.duplicates_skipped = 0  # runs rolled back because another run had finished the event
        # Events that found the queues full wait here, in arrival order, and move into the queues as
        # they drain (one sender's events keep their order: once something waits, new events queue
        # behind it). Beyond the bound they stay only in the durable inbox for the sweeper.
        self._overflow: collections.deque[InboundEvent] = collections.deque()
        self._overflow_cap = OVERFLOW_PER_QUEUE_SLOT * len(self.pool.workers) * (queue_capacity or engine.queue_per_worker)
        self._refill: asyncio.Task[None] | None = None
        self._known: set[str] = set()  # keys queued or held and not finished: a sweep does not run them again
        # Per running sweep, the keys that left the queues meanwhile: it may have read them as pending, but
        # they are done (or failed, and the next sweep takes them); see replay_pending. A list, not one slot:
        # a sweep called directly (tests, start-up) may overlap the periodic one.
        self._sweeps: list[set[str]] = []
        self._spilled: collections.deque[str] = collections.deque()  # keys beyond the bound, read back in order
        # Queued events worked off several to a transaction (process_group); 1 turns it off.
        self.batch_events = engine.batch_events
        self.batch_seconds = engine.batch_ms / 1000
        self.grouped_transactions = 0  # transactions that ran more than one event
        self.grouped_events = 0  # events they ran
        self.group_fallbacks = 0  # groups rolled back and run again one event at a time
        self.group_runner = self.process_group if self.batch_events > 1 else None  # one object: workers compare it

    # -- entry points ------------------------------------------------------------------------
    async def submit(self, event: InboundEvent, wait: bool = False) -> bool:
        """Accept an event durably (False if it is a duplicate), then process it on a worker thread.
        Channels call this before acknowledging the platform; the work happens after."""
        if not await self.acceptance.accept(event):
            log.info("duplicate inbound event %s ignored", event.key)
            return False
        fut = self.schedule(event, block=wait)
        if wait and fut is not None:
            await fut
        return True

    async def _write_accepted(self, events: list[InboundEvent]) -> set[str]:
        db = self.services.db
        items = [(e.key, e.channel, e.to_dict()) for e in events]
        if self.loop_accept is not None:
            return await self.loop_accept.accept_many(items, self.services.now())
        return await db.run_accept(inbox.accept_many, db, items, self.services.now())

    def schedule(self, event: InboundEvent, block: bool = False,
                 result: bool | None = None) -> asyncio.Future[None] | None:
        """Hand an accepted event to its worker (a future for its end with ``block``). When the queues
        are full, or events already wait for room, it waits in memory behind them and None is returned;
        beyond that bound it stays pending in the durable inbox and the sweeper replays it."""
        if event.key in self._known:
            return None  # already queued or held: a sweep found it pending
        if (self._overflow or self._spilled) and not block:
            self._hold(event)
            return None
        self._known.add(event.key)  # before the worker can run it: its end discards the key
        try:
            return self.pool.submit(self._key(event), self._job(event), block=block,
                                    result=block if result is None else result)
        except Backlogged:
            self._hold(event)
            return None

    def run_soon(self, event: InboundEvent) -> asyncio.Future[None]:
        """Queue an event handed over by the serving process (in an event helper process, whose own
        queues the serving process never fills): an awaitable for its end, waiting for room if need be."""
        fut = self.pool.submit(self._key(event), self._job(event), block=True)
        if fut is None:
            raise RuntimeError("the event pool gave no future")
        return fut

    @staticmethod
    def _key(event: InboundEvent) -> str:
        return f"{event.channel}:{event.sender}"

    def _job(self, event: InboundEvent) -> EventJob:
        return EventJob(self, event)

    def _hold(self, event: InboundEvent) -> None:
        self.backlogged += 1
        if not self._overflow:
            log.warning("event queues full: events wait for room in arrival order (%s first)", event.key)
        if len(self._overflow) >= self._overflow_cap or self._spilled:
            self._spilled.append(event.key)  # the event itself is in the durable inbox: read back later
        else:
            self._overflow.append(event)
        self._known.add(event.key)
        if self._refill is None or self._refill.done():
            self._refill = asyncio.get_running_loop().create_task(self._move_held())

    async def _move_held(self) -> None:
        """Move held events into the queues as they drain, oldest first, never blocking the loop;
        events beyond the memory bound are read back from the inbox, a page at a time, as room frees."""
        while self._overflow or self._spilled:
            while self._overflow:
                event = self._overflow[0]
                try:
                    self.pool.submit(self._key(event), self._job(event), result=False)
                except Backlogged:
                    break
                self._overflow.popleft()
            if self._spilled and len(self._overflow) < self._overflow_cap // 2:
                await self._read_back(self._overflow_cap - len(self._overflow))
            elif self._overflow:
                await asyncio.sleep(REFILL_POLL)

    async def _read_back(self, room: int) -> None:
        keys = [self._spilled.popleft() for _ in range(min(room, len(self._spilled)))]
        try:
            rows = {r.key: r for r in await self.services.db.run(inbox.pending_by_keys, self.services.db, keys)}
        except Exception:
            log.exception("reading held events back failed; the sweeper replays them")
            self._known.difference_update(keys)
            return
        for key in keys:
            row = rows.get(key)
            try:
                event = event_from_dict(row.payload) if row is not None else None
            except (KeyError, TypeError, ValueError):
                event = None
            if event is None:
                self._known.discard(key)  # finished meanwhile, or not replayable: the sweeper closes it
            else:
                self._overflow.append(event)

    def forget(self, key: str) -> None:
        """An event left the queues (finished, failed or rolled back): a sweep may run it again later."""
        self._known.discard(key)
        for left in self._sweeps:
            left.add(key)

    @property
    def held(self) -> int:
        """Events waiting for queue room (in memory, or beyond the bound as keys)."""
        return len(self._overflow) + len(self._spilled)

    @property
    def held_in_memory(self) -> int:
        """Of :attr:`held`, the events kept in memory (bounded; the rest are keys read back later)."""
        return len(self._overflow)

    async def replay_pending(self, min_age: timedelta | None = None) -> int:
        """Process events accepted but never finished (a crash, a full queue). On SQLite (one
        process) all of them; on PostgreSQL only those older than ``min_age`` (others may belong
        to a live node), each claimed by one process."""
        db = self.services.db
        if min_age is None:
            min_age = timedelta(0) if db.is_sqlite else STALE_INBOUND
        now = self.services.now()
        # An event queued here may finish between the moment its row is read as pending and the check of
        # the queued keys below; the keys that leave the queues meanwhile are collected and skipped.
        left: set[str] = set()
        self._sweeps.append(left)
        futs, held = [], 0
        try:
            if min_age:
                rows = await db.run(inbox.claim_stale, db, now, min_age)
            else:
                rows, after = [], 0
                while page := await db.run(inbox.pending, db, 500, after):
                    rows += page
                    after = page[-1].id
            for row in rows:
                try:
                    event = event_from_dict(row.payload)
                except (KeyError, TypeError, ValueError) as exc:
                    # Not an event (e.g. a tag-toggle row left by a version before toggles became one
                    # transaction): nothing to replay. Close it, so it never again stands in front of the others.
                    log.warning("pending inbound %s is not a replayable event (%r); marked failed", row.key, exc)
                    await db.run(inbox.finish, db, row.key, now, error=f"not replayable: {exc!r}"[:500])
                    continue
                if event.key in self._known or event.key in left:
                    continue  # queued or held here already, or finished since its row was read
                if (f := self.schedule(event, result=True)) is not None:  # never blocks the loop: held if full
                    futs.append(f)
                else:
                    held += 1
        finally:
            self._sweeps = [other for other in self._sweeps if other is not left]  # by identity: sets compare by value
        if futs:
            await asyncio.gather(*futs, return_exceptions=True)
        if held:
            await self.idle()
        if futs or held:
            log.info("replayed %d inbound events left pending", len(futs) + held)
        return len(futs) + held

    async def idle(self) -> None:
        """Wait until background processing has finished (tests, shutdown): the queues and the
        events held for room."""
        while True:
            await self.pool.idle()
            # ... and the refill task finished: it may hold keys it is reading back from the inbox
            # (neither queued nor held for that moment)
            if not self._overflow and not self._spilled and (self._refill is None or self._refill.done()):
                return
            await asyncio.sleep(REFILL_POLL)

    @property
    def busy(self) -> bool:
        return self.pool.in_flight > 0

    # -- processing (on a worker thread) -------------------------------------------------------
    def resolve(self, event: InboundEvent) -> Employee | None:
        if event.channel in ("terminal", "system"):
            return self.identity.lookup(None, event.sender)
        ch = self.services.channels.get(event.channel)
        attr = ch.employee_key() if ch else None
        if attr is None:
            return None
        return self.identity.lookup(attr, event.sender)

    async def process(self, event: InboundEvent) -> None:
        """One event, one transaction: identity, the per-employee lock, the handler's reads and
        writes, the replies it queues and marking the event done commit together. A transient
        database error retries the whole event; a handler bug fails it with a polite reply."""
        db = self.services.db
        for attempt in range(TRANSIENT_RETRIES + 1):
            try:
                with db.unit_of_work():
                    await self._process_once(event)
                return
            except AlreadyProcessed:
                self.duplicates_skipped += 1
                log.info("inbound %s was already processed; this run rolled back", event.key)
                return
            except Exception as exc:
                if is_transient(exc):
                    if attempt < TRANSIENT_RETRIES:
                        self.transient_retries += 1
                        log.warning("transient database error on %s (%s); retrying", event.key,
                                    exc.__class__.__name__)
                        await asyncio.sleep(min(5.0, 0.1 * 2**attempt))
                        continue
                    log.error("database unavailable for %s after %d tries; it stays pending and is replayed",
                              event.key, attempt + 1)
                    return
                log.exception("handler failed for %s", event.key)
                await self._fail(event, exc)
                return

    async def process_group(self, first: EventJob, more: Callable[[], EventJob | None]) -> None:
        """Several queued events in one transaction (the worker's group runner): after ``first``,
        further events already waiting in this worker's queue (``more``) join the same unit of work
        while it is young (``[engine] batch_ms``) and small (``batch_events``), so a backlog is worked
        off with one BEGIN/COMMIT, session and connection checkout per group instead of per event.
        (Not only when no callback is being accepted: under a steady stream of callbacks that left
        groups of one, and processing fell behind at 190 messages/s; the worker still waits for a
        calm moment before a group, ``AcceptFirst``, and ``batch_ms`` bounds how long SQLite's write
        gate is held.) Nothing waits for events to arrive: a quiet bot runs each
        event alone, as :meth:`process` does. If anything in the group fails, the whole transaction
        rolls back and each of its events runs again on its own (with :meth:`process`'s retries and
        error reply), so one bad event never costs the others anything but time."""
        events = [first.event]
        db, start = self.services.db, time.monotonic()
        try:
            try:
                with db.unit_of_work():
                    await self._process_once(events[0], finish=False)
                    while (len(events) < self.batch_events and time.monotonic() - start < self.batch_seconds
                           and (job := more()) is not None):
                        events.append(job.event)
                        await self._process_once(job.event, finish=False)
                    # All marked done at once; one finished meanwhile by another run rolls the group back.
                    keys = list(dict.fromkeys(e.key for e in events))
                    if inbox.finish_many(db, keys, self.services.now()) != len(keys):
                        raise AlreadyProcessed(",".join(keys))
            except Exception:
                if len(events) > 1:
                    self.group_fallbacks += 1
                    log.info("a group of %d events rolled back; running each on its own", len(events))
                for event in events:
                    await self.process(event)
                return
            if len(events) > 1:
                self.grouped_transactions += 1
                self.grouped_events += len(events)
        finally:
            for event in events:
                self.forget(event.key)

    async def _process_once(self, event: InboundEvent, finish: bool = True) -> None:
        """The event's work inside the active unit of work; with ``finish``, marking it done too
        (a group marks its events done together: :meth:`process_group`)."""
        employee = self.resolve(event)
        if employee is None:
            await self._unknown(event)
        else:
            locks.hold_for_transaction(self.services.db, employee.id)
            event.employee_id = employee.id
            await self._route(Ctx(self.services, employee, event), event)
        if finish and not inbox.finish(self.services.db, event.key, self.services.now()):
            raise AlreadyProcessed(event.key)  # rolls back everything this run did

    async def _fail(self, event: InboundEvent, exc: Exception) -> None:
        db = self.services.db
        try:
            with db.unit_of_work():
                if not inbox.finish(db, event.key, self.services.now(), error=repr(exc)[:500]):
                    return  # another run finished it: no error reply
                employee = self.resolve(event)
                if employee is not None and not isinstance(event, SystemEvent):
                    await Ctx(self.services, employee, event).reply(ERROR_REPLY)
        except Exception:
            log.exception("could not record the failure of %s; it stays pending", event.key)

    async def _unknown(self, event: InboundEvent) -> None:
        log.warning("message from unknown %s user %r: replied politely, nothing stored", event.channel, event.sender)
        if event.channel in self.services.channels and not isinstance(event, SystemEvent):
            await self.services.messenger.send_raw(event.channel, event.sender, "text", {"text": UNKNOWN_USER},
                                                   f"{event.key}:unknown")

    async def _route(self, ctx: Ctx, event: InboundEvent) -> None:
        await self.routing.route(ctx, event)
