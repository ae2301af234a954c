"""The engine under the dispatcher: a bounded pool of worker threads that runs inbound events (and
jobs) off the event loop.

Why threads and not async SQLAlchemy: every handler, store and job is written against one
synchronous data seam (``storage.db.Database.session()``), and CPU-heavy NLP must leave the loop
too. Running each event's whole unit of work on a worker thread with its own event loop moves both
off the serving loop with one change, keeps the handlers' code as it is, and lets one event be one
transaction (``Database.unit_of_work``). The serving loop only parses, verifies, accepts
(durably) and acknowledges. See docs/DEVELOPING.md, "The engine".

Ordering: events of one sender always go to the same worker (partitioned by channel and sender),
so they are processed in arrival order without a lock; across processes a PostgreSQL
transaction-level advisory lock per employee serialises them.

Back-pressure: each worker's queue is bounded. An event that does not fit stays ``pending`` in the
durable inbox (it was accepted before the platform got its acknowledgement) and the sweeper
replays it later, so a burst costs latency, never memory or messages.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Job = tuple[Callable[[], Awaitable[Any]], concurrent.futures.Future[Any]]
# A job factory may name a group runner (attribute ``group``): ``group(first, more)`` runs ``first``
# and may take further queued jobs of the same group with ``more()`` (the next one's factory, or None
# when the queue has none ready), e.g. several inbound events in one transaction (Dispatcher).
GroupRunner = Callable[[Any, Callable[[], Any]], Awaitable[None]]


class Worker(threading.Thread):
    """One thread with its own event loop, running submitted coroutines one at a time (or a group
    of queued ones together, when their factories name the same group runner)."""

    def __init__(self, name: str, capacity: int, before: Callable[[], None] | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.jobs: queue.Queue[Job | None] = queue.Queue(maxsize=capacity)
        self.busy = False
        self.before = before  # called on this thread before each job (AcceptFirst.wait)
        self._next: list[Job | None] = []  # taken from the queue by ``more`` but not part of the group

    def renewed(self) -> Worker:
        """A new, unstarted worker like this one (a thread runs once: WorkerPool.stop then start)."""
        return Worker(self.name, self.jobs.maxsize, self.before)

    def run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            while True:
                item = self._next.pop() if self._next else self.jobs.get()
                if item is None:
                    break
                make, fut = item
                if self.before is not None:
                    self.before()
                if not fut.set_running_or_notify_cancel():
                    continue
                self.busy = True
                try:
                    group = getattr(make, "group", None)
                    if group is None:
                        fut.set_result(loop.run_until_complete(make()))
                    else:
                        self._run_group(loop, group, make, fut)
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting side
                    fut.set_exception(exc)
                finally:
                    self.busy = False
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def _run_group(self, loop: asyncio.AbstractEventLoop, group: GroupRunner, make: Any,
                   fut: concurrent.futures.Future[Any]) -> None:
        taken: list[concurrent.futures.Future[Any]] = []

        def more() -> Any:
            """The next queued job of this group (its future is settled with the group's), or None."""
            while not self._next:
                try:
                    item = self.jobs.get_nowait()
                except queue.Empty:
                    return None
                if item is None or getattr(item[0], "group", None) is not group:
                    self._next.append(item)  # runs next, on its own
                    return None
                if item[1].set_running_or_notify_cancel():
                    taken.append(item[1])
                    return item[0]
            return None

        try:
            loop.run_until_complete(group(make, more))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting side
            for f in (fut, *taken):
                f.set_exception(exc)
            return
        for f in (fut, *taken):
            f.set_result(None)


class Backlogged(Exception):
    """The partition's queue is full: leave the work for later (it is durable)."""


class WorkerPool:
    """``workers`` threads; ``submit(key, make)`` runs ``make()`` on the thread that owns ``key``.

    ``remote``: further workers of the same shape (``jobs``, ``busy``, ``start``, ``join``, ``renewed``)
    that run their jobs elsewhere (bot.event_process: another process). Each owns as many keys' shares
    as all the threads together (``slots``), so one helper process takes about half the senders."""

    def __init__(self, name: str, workers: int, capacity: int, before: Callable[[], None] | None = None,
                 remote: list[Any] | None = None) -> None:
        self.name = name
        self.workers: list[Any] = [Worker(f"{name}-{i}", capacity, before) for i in range(max(1, workers))]
        self.workers += remote or []
        local = max(1, workers)
        # a key's owner: crc32(key) % len(slots); a remote worker holds ``local`` slots
        self.slots = list(self.workers[:local])
        for w in self.workers[local:]:
            self.slots += [w] * local
        self._started = False
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()
        self.completed = 0  # jobs finished since start (bot.memory.MemoryRelease)
        self.loop: asyncio.AbstractEventLoop | None = None  # the serving loop (for wake-ups)

    def start(self) -> None:
        if not self._started:
            for w in self.workers:
                w.start()
            self._started = True

    def submit(self, key: str, make: Callable[[], Awaitable[Any]], block: bool = False,
               result: bool = True) -> asyncio.Future[Any] | None:
        """Queue ``make()`` on the worker owning ``key``; returns an awaitable for its result (None
        with ``result=False``: fire and forget, which spares the serving loop a wake-up per job).
        Raises :class:`Backlogged` when that worker's queue is full (unless ``block``)."""
        self.start()
        worker = self.slots[zlib.crc32(key.encode()) % len(self.slots)]
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            worker.jobs.put((make, fut), block=block)
        except queue.Full:
            raise Backlogged(key) from None
        with self._lock:
            self._pending.add(fut)
        fut.add_done_callback(self._done)
        return asyncio.wrap_future(fut) if result else None

    def _done(self, fut: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending.discard(fut)
            self.completed += 1

    @property
    def backlog(self) -> int:
        return sum(w.jobs.qsize() for w in self.workers)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._pending)

    async def idle(self) -> None:
        """Wait until everything submitted so far has finished."""
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            await asyncio.gather(*(asyncio.wrap_future(f) for f in pending), return_exceptions=True)

    def stop(self, timeout: float = 30.0) -> None:
        if not self._started:
            return
        for w in self.workers:
            w.jobs.put(None)
        for w in self.workers:
            w.join(timeout)
        self._started = False
        renewed = {id(w): w.renewed() for w in self.workers}
        self.workers = [renewed[id(w)] for w in self.workers]
        self.slots = [renewed[id(w)] for w in self.slots]


class AcceptFirst:
    """Acknowledgements before processing, for the GIL too: while inbound events are being accepted
    on the serving loop, event workers wait before starting their next event, and the outbox's rounds
    before they claim (:meth:`wait_async`; at most ``max_wait`` seconds per event or round, so a
    sustained burst slows processing and sending down but never stops them).

    Every thread shares one interpreter lock. Under a burst the event workers' CPU-bound work (the
    handlers, SQLAlchemy, the NLP) held it while the serving loop waited for it at every step of
    an acceptance (parse, hand the insert to its thread, resume, answer), so acknowledgements slowed
    down with the processing they do not wait for. The wait is per event, at the start (never
    inside a transaction or while holding a lock), and costs nothing when nobody is being accepted:
    at a real Friday's few messages a second the workers never wait.

    Only a burst holds them back: ``burst`` acceptances in flight at once, within the last
    ``BURST_SECONDS``. Under a steady stream the bot can keep up with (half its maximum rate, bench_wecom's
    phase B) a few acceptances overlap now and then, and holding the workers for each of them let the
    inbound backlog grow until replies waited 1-3 s; a closed-loop burst keeps 8 or more in flight for
    nine in ten of its callbacks (measured: 18 on average, against 2 in the steady stream)."""

    BURST_SECONDS = 0.05

    def __init__(self, max_wait: float, linger: float = 0.0, burst: int = 1) -> None:
        self.max_wait = max_wait
        self.linger = linger
        self.burst = burst
        self._burst_at = float("-inf")  # monotonic time `burst` acceptances were last in flight at once
        self._last_end = 0.0  # monotonic time the last acceptance in flight finished
        self._pending = 0
        self._lock = threading.Lock()
        self._calm = threading.Event()
        self._calm.set()
        self.waits = 0  # events that waited
        self.waited_seconds = 0.0
        self.round_waits = 0  # outbox rounds that waited (wait_async)
        self.round_waited_seconds = 0.0

    def begin(self) -> None:
        with self._lock:
            self._pending += 1
            self._calm.clear()
            if self._pending >= self.burst:
                self._burst_at = time.monotonic()

    def end(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending <= 0:
                self._pending = 0
                self._last_end = time.monotonic()
                self._calm.set()

    def wait(self) -> None:
        """On a worker thread, before an event: wait while acceptances are in flight, or finished less
        than ``linger`` ago (the next callback of a burst is usually a fraction of a millisecond behind);
        never longer than ``max_wait`` in all."""
        if not self.busy():
            return
        start = time.monotonic()
        deadline = start + self.max_wait
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if not self._calm.is_set():
                # Acceptances in flight, but no longer a burst: a steady stream, whose few overlapping
                # callbacks must not hold the workers (at SQLite's steady 300 messages/s a hold until calm
                # lasted 150 ms on average and the backlog grew by seconds; bench_wecom phase B).
                if not self._in_burst(now):
                    break
                self._calm.wait(min(deadline - now, self.BURST_SECONDS))
                continue
            quiet = now - self._last_end
            if quiet >= self.linger:
                break
            time.sleep(min(self.linger - quiet, max(0.0, deadline - now)))
        with self._lock:  # several workers count here
            self.waits += 1
            self.waited_seconds += time.monotonic() - start

    def busy(self) -> bool:
        """In a burst (``burst`` acceptances are in flight at once, or were less than ``BURST_SECONDS`` ago),
        acceptances are in flight or the last one finished less than ``linger`` ago (always False when
        turned off): what :meth:`wait` and :meth:`wait_async` wait out."""
        if self.max_wait <= 0:
            return False
        now = time.monotonic()
        return self._in_burst(now) and (not self._calm.is_set() or now - self._last_end < self.linger)

    def _in_burst(self, now: float) -> bool:
        return self._pending >= self.burst or now - self._burst_at < self.BURST_SECONDS

    async def wait_async(self) -> None:
        """:meth:`wait` for a task on the serving loop (both outbox lanes, before they claim): sleeps,
        never blocks; counted in ``round_waits`` (``waits`` are the event workers' holds)."""
        if not self.busy():
            return
        step = max(self.linger, 0.001)  # acceptances run on this same loop: poll at the linger's pace
        start = time.monotonic()
        deadline = start + self.max_wait
        for _ in range(int(self.max_wait / step) + 1):
            if not self.busy() or time.monotonic() >= deadline:
                break
            await asyncio.sleep(step)
        self.round_waits += 1  # one loop: no lock needed
        self.round_waited_seconds += time.monotonic() - start


class GroupAccept:
    """Durable acceptance of inbound events with group commit: callers arriving while a write is in
    flight are written together in the next one (one transaction for many events), so a burst of
    callbacks costs a few commits, not one each. ``accept`` answers True for a new event, False for
    a duplicate, and raises if the write failed (the channel then answers 5xx and the platform
    retries).

    Up to ``writers`` writes are in flight at once (each on its own connection): with one, every
    callback that arrived during a write waited for that write and then for its own, and under a
    closed-loop burst the write (a round trip and a commit, plus the turns of a busy loop) was most of
    an acknowledgement's time. Answers still come in acceptance order, batch after batch, so one
    sender's events reach the workers in the order they arrived."""

    def __init__(self, write: Callable[[list[Any]], Awaitable[set[str]]], max_batch: int = 256,
                 pressure: AcceptFirst | None = None, writers: int = 1) -> None:
        self._write = write
        self.pressure = pressure
        self.max_batch = max_batch
        self.writers = max(1, writers)
        self._queue: list[tuple[Any, asyncio.Future[bool]]] = []
        self._inflight = 0
        self._answered: asyncio.Future[None] | None = None  # set once the latest batch has been answered
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # writes started
        self.events = 0  # events they carried
        self.write_seconds = 0.0  # time the finished writes took, in all (/metrics: the mean per write)

    @property
    def in_flight(self) -> int:
        return self._inflight

    async def idle(self) -> None:
        """Wait until every write started (and its answers) is done: before its connections close."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def accept(self, event: Any) -> bool:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((event, fut))
        self._start_writes()
        if self.pressure is None:
            return await fut
        self.pressure.begin()
        try:
            return await fut
        finally:
            self.pressure.end()

    def _start_writes(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue and self._inflight < self.writers:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch:]
            self.batches += 1
            self.events += len(batch)
            self._inflight += 1
            answered: asyncio.Future[None] = loop.create_future()
            task = loop.create_task(self._write_batch(batch, self._answered, answered))
            self._answered = answered
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write_batch(self, batch: list[tuple[Any, asyncio.Future[bool]]],
                           before: asyncio.Future[None] | None, answered: asyncio.Future[None]) -> None:
        try:
            error: Exception | None = None
            new: set[str] = set()
            started = time.perf_counter()
            try:
                new = await self._write([e for e, _ in batch])
            except Exception as exc:
                error = exc
            finally:
                self.write_seconds += time.perf_counter() - started
                self._inflight -= 1
                if self._queue:
                    self._start_writes()  # what queued meanwhile goes out now
            if before is not None and not before.done():
                await asyncio.shield(before)  # the earlier batches are answered first
            if error is not None:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(error)
                return
            seen: set[str] = set()
            for event, fut in batch:
                fresh = event.key in new and event.key not in seen
                seen.add(event.key)
                if not fut.done():
                    fut.set_result(fresh)
        finally:
            if not answered.done():
                answered.set_result(None)


def run_on_loop(loop: asyncio.AbstractEventLoop | None, fn: Callable[[], None]) -> None:
    """Call ``fn`` on ``loop`` (thread-safe); directly when already on it or when there is none."""
    if loop is None or loop.is_closed():
        fn()
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        fn()
    else:
        loop.call_soon_threadsafe(fn)
