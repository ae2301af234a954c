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
from storage.db import Database

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

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.schedule.tz

    def now(self) -> datetime:
        return self.clock.now()

    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    def wake(self, channel: str) -> None:
        """Tell ``channel``'s outbox worker there is work, once the rows it should see are
        committed (after the active unit of work), from whatever thread this runs on."""
        worker = self.workers.get(channel)
        if worker is not None:
            self.db.after_commit(lambda: run_on_loop(self.loop, worker.wake))

    async def offload(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the jobs worker thread (its own event loop), off the serving loop."""
        return await self.job_pool.submit("jobs", make, block=True)
