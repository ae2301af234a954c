"""The in-process scheduler: APScheduler as the timer, one leader process (a lease row in the
database), and catch-up of runs missed while no process was up.

APScheduler keeps its jobs in memory: the leader re-adds them from the configuration whenever it
takes the lease, and what must survive a restart lives in our own tables (the lease, and one JobRun
row per job and instant, which catch-up reads). Its database job store would run synchronous queries
on the serving loop on every wake-up; under a write burst on SQLite one of them waited 1.9 s for the
write lock (found by the stall watchdog in bench_wecom). Every database call here runs on a thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from scheduler.runs import run_job
from storage import jobruns

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
LEASE_SECONDS = 60
_ACTIVE: dict[str, SchedulerRunner] = {}


def trigger_for(services: Services, cron: str) -> CronTrigger:
    return CronTrigger.from_crontab(cron, timezone=services.tz)


async def fire(name: str, owner: str = "") -> None:
    """APScheduler entry point (module-level so the persistent store can reference it)."""
    runner = _ACTIVE.get(owner)
    if runner is None or not runner.is_leader:
        log.info("scheduled %s skipped: runner %s is not the leader here", name, owner or "?")
        return
    try:
        await runner.fire(name)
    except asyncio.CancelledError:
        # Only a shutdown cancels a run in flight. It is not the job failing (APScheduler logged each
        # as an ERROR with a traceback at every stop): the run's row stays unfinished and a later start
        # takes it over (catch_up).
        log.warning("scheduled %s interrupted by shutdown; a later start catches it up", name)


def previous_fire_time(trigger: CronTrigger, now: datetime, window: timedelta) -> datetime | None:
    """The latest fire time in (now - window, now]."""
    t = trigger.get_next_fire_time(None, now - window)
    last = None
    while t is not None and t <= now:
        last = t
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
    return last


class SchedulerRunner:
    def __init__(self, services: Services, node: str) -> None:
        """``node`` names this process (host:pid, given by the app); jobs come from ``services.jobs``."""
        self.services = services
        # Unique per runner (not only per process), so two runners never share a lease.
        self.owner = f"{node}:{uuid.uuid4().hex[:6]}"
        self.scheduler: AsyncIOScheduler | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._lease_call: asyncio.Future[bool] | None = None  # a lease query running on a thread
        self.is_leader = False

    # -- leadership ---------------------------------------------------------------------------
    def try_lease(self) -> bool:
        """Take or renew the leader lease; True if this process is the leader."""
        db, now = self.services.db, self.services.now()
        expires = now + timedelta(seconds=LEASE_SECONDS)
        return jobruns.take_lease(db, self.owner, now, expires)

    async def start(self) -> None:
        self._lease_task = asyncio.create_task(self._lease_loop())

    async def tick(self) -> bool:
        """One lease check: become leader (catch up, start jobs) or step down. True if leader."""
        # Shielded and remembered: cancelling the lease loop cannot stop the query on its thread, so
        # stop() waits for it before releasing (a renewal landing after the release kept the lease).
        self._lease_call = asyncio.ensure_future(self.services.db.run(self.try_lease))
        leader = await asyncio.shield(self._lease_call)
        if leader and not self.is_leader:
            await self._become_leader()
        elif not leader and self.is_leader:
            self._step_down()
        return leader

    async def _lease_loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler lease check failed")
            await asyncio.sleep(LEASE_SECONDS / 3)

    async def _become_leader(self) -> None:
        log.info("this process (%s) is the scheduler leader", self.owner)
        self.is_leader = True
        _ACTIVE[self.owner] = self
        await self.catch_up()
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()}, timezone=self.services.tz,
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": self.services.settings.schedule.misfire_grace_hours * 3600},
        )
        for spec in self.services.jobs.values():
            cron = spec.cron_expr(self.services)
            if cron:
                self.scheduler.add_job(fire, trigger_for(self.services, cron), args=[spec.name, self.owner], id=spec.name,
                                       name=spec.name, replace_existing=True)
        self.scheduler.start()

    def _step_down(self, reason: str = "lost the scheduler lease") -> None:
        log.warning("%s; stopping scheduled jobs in this process", reason)
        self.is_leader = False
        _ACTIVE.pop(self.owner, None)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    async def stop(self) -> None:
        if self._lease_task:
            self._lease_task.cancel()
            try:
                await self._lease_task
            except asyncio.CancelledError:
                pass
        if self._lease_call is not None and not self._lease_call.done():
            with contextlib.suppress(Exception):  # a failed query took nothing
                await self._lease_call
        was_leader = self.is_leader
        if was_leader:
            self._step_down("shutting down")
        if was_leader or self._lease_call is not None:
            # owner-scoped: frees this runner's lease if it holds one (also one a query took or renewed
            # after the loop was cancelled); touches nobody else's
            await self.services.db.run(jobruns.release_lease, self.services.db, self.owner, self.services.now())

    # -- running ------------------------------------------------------------------------------
    async def fire(self, name: str) -> None:
        spec = self.services.jobs[name]
        cron = spec.cron_expr(self.services)
        now = self.services.now()
        # The instant this run is for (APScheduler may call late, within the misfire grace): it names the
        # JobRun row, so a second leader or a catch-up of the same instant never runs it again.
        grace = timedelta(hours=self.services.settings.schedule.misfire_grace_hours)
        at = previous_fire_time(trigger_for(self.services, cron), now, grace) if cron else None
        await run_job(self.services, name, at or now, scheduled=True, owner=self.owner)

    async def catch_up(self) -> list[str]:
        """Run once each job whose latest due time (within the grace window) has no finished run yet
        (a run that failed, or whose process died an hour or more ago, is taken over)."""
        now = self.services.now()
        window = timedelta(hours=self.services.settings.schedule.misfire_grace_hours)
        ran = []
        for spec in self.services.jobs.values():
            cron = spec.cron_expr(self.services)
            if not cron:
                continue
            due = previous_fire_time(trigger_for(self.services, cron), now, window)
            if due is None:
                continue
            if await self.services.db.run(jobruns.run_done, self.services.db, f"{spec.name}@{due.isoformat()}"):
                continue
            log.info("catching up missed run of %s due %s", spec.name, due.isoformat())
            try:
                if await run_job(self.services, spec.name, due, scheduled=True, owner=self.owner) is not None:
                    ran.append(spec.name)
            except Exception:
                log.exception("catch-up of %s failed", spec.name)
        return ran
