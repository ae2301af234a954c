"""Named jobs. Each job is ``async def fn(jctx)``; it can be run on schedule or by name as of a time."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


@dataclass
class JobCtx:
    services: Services
    at: datetime  # the instant the run is "as of" (aware)
    run_key: str

    @property
    def local_at(self) -> datetime:
        return self.at.astimezone(self.services.tz)


JobFn = Callable[[JobCtx], Awaitable[str | None]]


@dataclass
class JobSpec:
    name: str
    fn: JobFn
    cron_setting: str | None  # attribute of [schedule] holding the cron expression
    cron: str | None  # fixed cron when there is no setting
    description: str
    daily: bool = False  # run every day at the cron's hour:minute (the job decides whether it is due)

    def cron_expr(self, services: Services) -> str | None:
        cron = getattr(services.settings.schedule, self.cron_setting) if self.cron_setting else self.cron
        if cron and self.daily:
            minute, hour, *_ = cron.split()
            return f"{minute} {hour} * * *"
        return cron


JOBS: dict[str, JobSpec] = {}


def job(name: str, *, cron_setting: str | None = None, cron: str | None = None,
        description: str = "", daily: bool = False) -> Callable[[JobFn], JobFn]:
    """Register a named job. ``daily=True``: run every day at the cron's time (e.g. a weekly
    check-in whose effective day moves with public holidays; the job itself checks the day)."""
    def deco(fn: JobFn) -> JobFn:
        JOBS[name] = JobSpec(name, fn, cron_setting, cron, description or (fn.__doc__ or "").strip(), daily)
        return fn
    return deco
