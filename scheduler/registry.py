"""Named jobs. Each job is ``async def fn(jctx)``; it can be run on schedule or by name as of a time.

``@job(...)`` turns the function into a :class:`JobSpec` and registers nothing: each feature
package lists its jobs (``jobs = [...]``) and the app registers them (``services.jobs``)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from storage import jobruns

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class JobCtx:
    services: Services
    at: datetime  # the instant the run is "as of" (aware)
    run_key: str

    @property
    def local_at(self) -> datetime:
        return self.at.astimezone(self.services.tz)

    @property
    def job(self) -> str:
        return self.run_key.split("@", 1)[0]

    def row(self, key: str) -> RowGuard:
        """``async with jctx.row(f"visit:{v.id}"):`` — one bad row never stops the job: its error is
        logged once (the first run that meets it), noted in ``job_row_failures``, and the job goes on."""
        return RowGuard(self.services, self.job, key)

    async def in_chunks(self, items: Sequence[T], fn: Callable[[Sequence[T]], Awaitable[int]],
                        size: int | None = None, key: Callable[[T], str] | None = None) -> int:
        """Run ``fn`` over ``items`` in chunks (``[engine] fanout_chunk``, 500 by default), each chunk
        one transaction, yielding between chunks so inbound events interleave with a large push.
        Returns the sum of what ``fn`` returned. A crash loses at most the chunk in progress, and
        running the job again resumes: the outbox keys of what was already queued are not reused.
        With ``key``, a chunk that fails is redone row by row, each row guarded (:meth:`row`): one
        poison row is skipped and noted, the other 499 still go out."""
        size = size or self.services.settings.engine.fanout_chunk
        total = 0
        for i in range(0, len(items), size):
            chunk = items[i:i + size]
            try:
                with self.services.db.unit_of_work():
                    total += await fn(chunk)
            except Exception:
                if key is None:
                    raise
                for item in chunk:  # find the bad row: the others still go out
                    async with self.row(key(item)):
                        with self.services.db.unit_of_work():
                            total += await fn([item])
            await asyncio.sleep(0)
        return total

    async def each_in_chunks(self, items: Sequence[T], fn: Callable[[T], Awaitable[str | None]],
                             key: Callable[[T], str]) -> Counter[str]:
        """:meth:`in_chunks` for work done one row at a time: ``fn(item)`` returns what it did (a label,
        counted in the result) or None. A chunk's labels count only once it commits."""
        counts: Counter[str] = Counter()

        async def chunk(rows: Sequence[T]) -> int:
            done = [await fn(row) for row in rows]
            counts.update(d for d in done if d)
            return len(done)

        await self.in_chunks(items, chunk, key=key)
        return counts


def row_guard(services: Services, job: str, key: str) -> RowGuard:
    """:meth:`JobCtx.row` for job code that has no JobCtx at hand."""
    return RowGuard(services, job, key)


class RowGuard:
    def __init__(self, services: Services, job: str, key: str) -> None:
        self.services, self.job, self.key = services, job, key

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        services = self.services
        first = await services.db.run(jobruns.mark_row_failure, services.db, self.job, self.key,
                                      f"{exc.__class__.__name__}: {exc}", services.now())
        if first:
            log.error("job %s: %s failed and was skipped (%s: %s); the other rows go on. It is retried on "
                      "every run without logging again; see table job_row_failures",
                      self.job, self.key, exc.__class__.__name__, exc, exc_info=(type(exc), exc, exc.__traceback__))
        return True


JobFn = Callable[[JobCtx], Awaitable[str | None]]


@dataclass
class JobSpec:
    name: str
    fn: JobFn
    cron_setting: str | None  # attribute of [schedule] holding the cron expression
    cron: str | None  # fixed cron when there is no setting
    description: str
    daily: bool = False  # run every day at the cron's hour:minute (the job decides whether it is due)

    async def __call__(self, jctx: JobCtx) -> str | None:
        return await self.fn(jctx)

    def cron_expr(self, services: Services) -> str | None:
        cron = getattr(services.settings.schedule, self.cron_setting) if self.cron_setting else self.cron
        if cron and self.daily:
            minute, hour, *_ = cron.split()
            return f"{minute} {hour} * * *"
        return cron


def job(name: str, *, cron_setting: str | None = None, cron: str | None = None,
        description: str = "", daily: bool = False) -> Callable[[JobFn], JobSpec]:
    """Declare a named job. ``daily=True``: run every day at the cron's time (e.g. a weekly
    check-in whose effective day moves with public holidays; the job itself checks the day)."""
    def deco(fn: JobFn) -> JobSpec:
        return JobSpec(name, fn, cron_setting, cron, description or (fn.__doc__ or "").strip(), daily)
    return deco


def register(into: dict[str, JobSpec], specs: list[JobSpec]) -> dict[str, JobSpec]:
    """Add ``specs`` to a job table; two jobs with one name are a start-up error."""
    for spec in specs:
        if spec.name in into and into[spec.name] is not spec:
            raise ValueError(f"job {spec.name!r} is declared twice: rename one")
        into[spec.name] = spec
    return into
