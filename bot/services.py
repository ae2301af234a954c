"""The shared services object handed to handlers (via Ctx) and jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.directory import Snapshot
from bot.engine import WorkerPool, run_on_loop
from storage import employees
from storage.db import Database
from storage.models import Employee

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.dispatch import Dispatcher
    from bot.messenger import Messenger
    from bot.sender import OutboxWorker
    from scheduler.registry import JobSpec

DirectoryReader = Callable[[], Awaitable[Snapshot]]  # one platform's contacts (channels provide them)

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Any  # SystemClock | ManualClock | OffsetClock
    channels: dict[str, Channel] = field(default_factory=dict)
    workers: dict[str, OutboxWorker] = field(default_factory=dict)
    messenger: Messenger = None
    dispatcher: Dispatcher = None
    jobs: dict[str, JobSpec] = field(default_factory=dict)  # registered by the app
    directory_readers: dict[str, DirectoryReader] = field(default_factory=dict)  # platform -> contacts reader
    loop: asyncio.AbstractEventLoop | None = None  # the serving loop (set by PerfBot.start)
    job_pool: WorkerPool = field(default_factory=lambda: WorkerPool("jobs", 1, 100))  # jobs run here
    # In an event helper process (bot.event_child) the outbox workers run in the serving process: a
    # wake-up goes there (the channel's name) instead.
    wake_elsewhere: Callable[[str], None] | None = None

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.schedule.tz

    def now(self) -> datetime:
        return self.clock.now()

    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    def employee(self, employee_id: str | None) -> Employee | None:
        """An employee by id: from the identity cache when active (a detached snapshot; the cache is
        dropped on import and directory sync), else from the database (leavers too)."""
        if not employee_id:
            return None
        cached = self.dispatcher.identity.lookup(None, employee_id) if self.dispatcher is not None else None
        return cached or employees.get(self.db, employee_id)

    def wake(self, channel: str) -> None:
        """Tell ``channel``'s outbox worker there is work, once the rows it should see are
        committed (after the active unit of work), from whatever thread this runs on."""
        if self.wake_elsewhere is not None or channel in self.workers:
            self.db.after_commit(lambda: self.wake_now(channel))

    def wake_now(self, channel: str) -> None:
        """Wake ``channel``'s outbox worker now (the rows are committed), from any thread: the
        serving process's own, or in a helper process the serving process's (``wake_elsewhere``)."""
        if self.wake_elsewhere is not None:
            self.wake_elsewhere(channel)
            return
        worker = self.workers.get(channel)
        if worker is not None and not worker.woken:
            run_on_loop(self.loop, worker.wake)

    async def compute(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work ``fn(*args)`` (NLP, a heavy query) so that it never blocks the serving
        loop: in a thread when called on the serving loop, directly when already on a worker thread
        (handlers and jobs run there, and a second thread hop would only add latency). Either way it
        joins the caller's unit of work."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (running is self.loop or self.loop is None):
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

    async def offload(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the jobs worker thread (its own event loop), off the serving loop."""
        return await self.job_pool.submit("jobs", make, block=True)
