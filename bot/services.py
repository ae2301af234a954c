"""The shared services object handed to handlers (via Ctx) and jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.directory import Snapshot
from storage.db import Database

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.dispatch import Dispatcher
    from bot.messenger import Messenger
    from bot.sender import OutboxWorker
    from scheduler.registry import JobSpec

DirectoryReader = Callable[[], Awaitable[Snapshot]]  # one platform's contacts (channels provide them)


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

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.schedule.tz

    def now(self) -> datetime:
        return self.clock.now()

    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    def wake(self, channel: str) -> None:
        worker = self.workers.get(channel)
        if worker is not None:
            worker.wake()
