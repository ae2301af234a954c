"""Scheduler bookkeeping: the leader lease and one ``job_runs`` row per (job, instant)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from storage import dialect
from storage.db import Database
from storage.models import JobRowFailure, JobRun, SchedulerLease

LEASE = "scheduler"


def take_lease(db: Database, owner: str, now: datetime, expires: datetime) -> bool:
    """Take or renew the leader lease; True if ``owner`` holds it until ``expires``."""
    with db.session() as s:
        s.execute(dialect.insert(db, SchedulerLease).values(name=LEASE, owner=owner, expires_at=expires)
                  .on_conflict_do_nothing(index_elements=["name"]))
        res = s.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE)
            .where((SchedulerLease.owner == owner) | (SchedulerLease.expires_at <= now))
            .values(owner=owner, expires_at=expires)
        )
        return bool(res.rowcount)


def release_lease(db: Database, owner: str, now: datetime) -> None:
    with db.session() as s:
        s.execute(update(SchedulerLease).where(SchedulerLease.owner == owner).values(expires_at=now))


def claim_run(db: Database, name: str, run_key: str, at: datetime, owner: str, now: datetime,
              stale: timedelta) -> tuple[bool, bool]:
    """(claimed, took_over): insert the run row, or take over one that failed or whose process
    died (still running ``stale`` after it started)."""
    stmt = dialect.insert(db, JobRun).values(
        run_key=run_key, job=name, scheduled_for=at, status="running", owner=owner, started_at=now
    ).on_conflict_do_nothing(index_elements=["run_key"]).returning(JobRun.id)
    # RETURNING, not rowcount: psycopg reports rowcount -1 (truthy) for a skipped ON CONFLICT insert.
    with db.session() as s:
        if s.execute(stmt).first() is not None:
            return True, False
        takeover = (
            update(JobRun)
            .where(JobRun.run_key == run_key)
            .where(or_(JobRun.status == "failed",
                       (JobRun.status == "running") & (JobRun.started_at < now - stale)))
            .values(status="running", owner=owner, started_at=now, finished_at=None)
            .returning(JobRun.id)
        )
        took = s.execute(takeover).first() is not None
        return took, took


def finish_run(db: Database, run_key: str, status: str, now: datetime, detail: str | None) -> None:
    with db.session() as s:
        s.execute(update(JobRun).where(JobRun.run_key == run_key).values(
            status=status, finished_at=now, detail=detail))


def run_done(db: Database, run_key: str) -> bool:
    with db.session() as s:
        return s.execute(select(JobRun.id).where(JobRun.run_key == run_key, JobRun.status == "done")).first() is not None


def mark_row_failure(db: Database, job: str, row_key: str, error: str, now: datetime) -> bool:
    """Note that ``job`` failed on ``row_key``; True the first time (log it then, not every run)."""
    with db.session() as s:
        new = s.execute(dialect.insert(db, JobRowFailure).values(
            job=job, row_key=row_key[:200], error=error[:1000], failures=1, first_at=now, last_at=now)
            .on_conflict_do_nothing(index_elements=["job", "row_key"]).returning(JobRowFailure.job)).first()
        if new is None:
            s.execute(update(JobRowFailure)
                      .where(JobRowFailure.job == job, JobRowFailure.row_key == row_key[:200])
                      .values(failures=JobRowFailure.failures + 1, last_at=now, error=error[:1000]))
        return new is not None


def row_failures(db: Database, job: str | None = None) -> list[JobRowFailure]:
    with db.session() as s:
        q = select(JobRowFailure).order_by(JobRowFailure.job, JobRowFailure.row_key)
        if job:
            q = q.where(JobRowFailure.job == job)
        return list(s.execute(q).scalars())
