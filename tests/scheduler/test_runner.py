"""The scheduler: one leader by database lease, scheduled instants run once, missed runs caught up once."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.app import PerfBot
from bot.clock import ManualClock
from scheduler.registry import JobSpec, job
from scheduler.runner import SchedulerRunner, fire
from storage.db import open_database
from storage.models import JobRun
from tests.conftest import TZ, make_settings

RUNS: list[datetime] = []


@job("test_counter", cron="0 9 * * *", description="test only")
async def counter_job(jctx) -> str:
    RUNS.append(jctx.at)
    await asyncio.sleep(0)
    return "counted"


@job("test_slow", cron="0 9 * * *", description="test only")
async def slow_job(jctx) -> str:
    await asyncio.sleep(0.5)
    return "slow"


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    RUNS.clear()


def with_counter(bot: PerfBot) -> PerfBot:
    """A bot whose app also registered the test-only job (as a feature would declare it)."""
    assert isinstance(counter_job, JobSpec)
    bot.services.jobs[counter_job.name] = counter_job
    return bot


def runner_on(url: str, clock: ManualClock, **schedule) -> SchedulerRunner:
    settings = make_settings(url)
    for k, v in schedule.items():
        setattr(settings.schedule, k, v)
    bot = with_counter(PerfBot(settings, clock=clock, channels=[], db=open_database(url), scheduler=False))
    return SchedulerRunner(bot.services, node="test")


def runs_of(db, name: str) -> list[JobRun]:
    with db.session() as s:
        return list(s.execute(select(JobRun).where(JobRun.job == name)).scalars())


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_runners_on_postgresql_only_one_runs_a_due_job(db_url):
    clock = ManualClock(datetime(2026, 11, 24, 9, 0, 5, tzinfo=TZ))
    a, b = runner_on(db_url, clock), runner_on(db_url, clock)
    try:
        assert [a.try_lease(), b.try_lease()].count(True) == 1
        assert a.try_lease() and not b.try_lease()  # the leader renews; the other keeps waiting
        # Even if both believed they were leader (a paused process), the instant runs once.
        await asyncio.gather(a.fire("test_counter"), b.fire("test_counter"), a.fire("test_counter"))
        assert len(RUNS) == 1 and RUNS[0] == datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
        assert len(runs_of(a.services.db, "test_counter")) == 1
        # The lease expires when the leader dies; the other takes over.
        clock.advance(seconds=120)
        assert b.try_lease() and not a.try_lease()
    finally:
        a.services.db.dispose()
        b.services.db.dispose()


async def test_missed_run_is_caught_up_once_after_downtime(sqlite_url):
    clock = ManualClock(datetime(2026, 11, 25, 8, 0, tzinfo=TZ))  # 09:00 yesterday was missed
    r1 = runner_on(sqlite_url, clock)
    assert "test_counter" in await r1.catch_up()
    assert RUNS == [datetime(2026, 11, 24, 9, 0, tzinfo=TZ)]  # coalesced: the latest missed instant only
    r2 = runner_on(sqlite_url, clock)  # a restart, or a second process
    assert "test_counter" not in await r2.catch_up()
    assert len(RUNS) == 1


async def test_runs_older_than_the_grace_window_are_dropped(sqlite_url):
    clock = ManualClock(datetime(2026, 11, 24, 13, 0, tzinfo=TZ))
    r = runner_on(sqlite_url, clock, misfire_grace_hours=2)
    assert "test_counter" not in await r.catch_up()
    assert RUNS == []


async def test_leader_starts_apscheduler_with_the_configured_jobs(sqlite_url):
    clock = ManualClock(datetime(2026, 11, 24, 10, 0, tzinfo=TZ))
    r = runner_on(sqlite_url, clock)
    try:
        assert await r.tick()
        assert r.scheduler is not None
        ids = {j.id for j in r.scheduler.get_jobs()}
        assert {"checkin_push", "escalation_scan", "visit_scan", "visit_summary", "test_counter"} <= ids
        # The timer keeps no table of its own: what outlives the process is the lease and the runs
        with r.services.db.engine.connect() as c:
            tables = set(c.dialect.get_table_names(c))
        assert "apscheduler_jobs" not in tables
        trig = r.scheduler.get_job("checkin_push").trigger
        assert "hour='16'" in str(trig) and "day_of_week='*'" in str(trig)  # daily at the check-in time
    finally:
        await r.stop()
        assert not r.is_leader
    # After a clean stop the lease is free for the next process at once.
    r2 = runner_on(sqlite_url, clock)
    assert r2.try_lease()
    clock.advance(seconds=1)
    assert r2.try_lease()


async def test_a_shutdown_cancelling_a_run_is_not_reported_as_the_job_failing(sqlite_url, caplog):
    """Stopping the bot cancels a scheduled run in flight; APScheduler logged that as an ERROR with a
    traceback ("Job ... raised an exception") at every stop. The entry point ends quietly with a
    warning, and the run stays unfinished for a later start to catch up."""
    clock = ManualClock(datetime(2026, 11, 24, 10, 0, tzinfo=TZ))
    r = runner_on(sqlite_url, clock)
    r.services.jobs[slow_job.name] = slow_job
    try:
        assert await r.tick()  # (catches up today's 09:00 run)
        clock.advance(days=1)  # the next day's run is the one in flight
        task = asyncio.create_task(fire("test_slow", r.owner))
        await asyncio.sleep(0.1)
        task.cancel()
        await task  # no CancelledError escapes to APScheduler
        assert "test_slow interrupted by shutdown" in caplog.text
        assert [run.finished_at is None for run in runs_of(r.services.db, "test_slow")] == [False, True]
    finally:
        await asyncio.sleep(0.5)  # the job thread finishes its sleep
        await r.stop()


async def test_a_run_whose_process_died_is_taken_over_after_an_hour_once(sqlite_url):
    clock = ManualClock(datetime(2026, 11, 24, 9, 30, tzinfo=TZ))
    r = runner_on(sqlite_url, clock)
    due = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    # A process claimed the 09:00 slot and died before finishing it.
    with r.services.db.session() as s:
        s.add(JobRun(run_key=f"test_counter@{due.isoformat()}", job="test_counter", scheduled_for=due,
                     status="running", owner="dead", started_at=due))
    assert "test_counter" not in await r.catch_up()  # it may still be running: leave it alone
    assert RUNS == []
    clock.advance(hours=1)
    assert "test_counter" in await r.catch_up()
    assert RUNS == [due]
    assert "test_counter" not in await runner_on(sqlite_url, clock).catch_up()  # done now: never twice
    assert [run.status for run in runs_of(r.services.db, "test_counter")] == ["done"]


async def test_the_scheduler_never_queries_the_database_on_the_serving_loop(sqlite_url):
    """Taking the lease, catching up, starting the timer and stepping down all query the database
    on threads: a busy database must never stop the loop that acknowledges callbacks."""
    import threading

    from sqlalchemy import event

    clock = ManualClock(datetime(2026, 11, 24, 10, 0, tzinfo=TZ))
    r = runner_on(sqlite_url, clock)
    loop_thread = threading.get_ident()
    on_loop: list[str] = []
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)
        if threading.get_ident() == loop_thread:
            on_loop.append(statement)

    engine = r.services.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert await r.tick()  # lease taken, missed runs caught up, timer started
        assert "test_counter" in {j.id for j in r.scheduler.get_jobs()}
        assert await r.tick()  # renewed
        await r.stop()  # stepped down, lease released
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert any("scheduler_lease" in s or "lease" in s.lower() for s in seen)  # the lease really was queried
    assert on_loop == []

