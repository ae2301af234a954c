"""Running a named job once per scheduled instant (a unique row in job_runs, not hope)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite

from scheduler.registry import JOBS, JobCtx
from storage.models import JobRun

log = logging.getLogger(__name__)
# A run still "running" this long after it started belongs to a process that died: it may be
# taken over (jobs are idempotent through their outbox keys, so finishing it is safe).
STALE_RUN = timedelta(hours=1)


class UnknownJob(KeyError):
    pass


def _claim(services, name: str, run_key: str, at: datetime, owner: str) -> bool:  # type: ignore[no-untyped-def]
    db = services.db
    insert = sqlite.insert if db.is_sqlite else postgresql.insert
    stmt = insert(JobRun).values(
        run_key=run_key, job=name, scheduled_for=at, status="running", owner=owner, started_at=services.now()
    ).on_conflict_do_nothing(index_elements=["run_key"]).returning(JobRun.id)
    # RETURNING, not rowcount: psycopg reports rowcount -1 (truthy) for a skipped ON CONFLICT insert.
    with db.session() as s:
        if s.execute(stmt).first() is not None:
            return True
        # The slot exists: take it over only if that run failed or its process died mid-run.
        now = services.now()
        takeover = (
            update(JobRun)
            .where(JobRun.run_key == run_key)
            .where(or_(JobRun.status == "failed",
                       (JobRun.status == "running") & (JobRun.started_at < now - STALE_RUN)))
            .values(status="running", owner=owner, started_at=now, finished_at=None)
            .returning(JobRun.id)
        )
        if s.execute(takeover).first() is not None:
            log.warning("job %s for %s: taking over a run that failed or whose process died", name, at.isoformat())
            return True
        return False


async def run_job(services, name: str, at: datetime, *, scheduled: bool = False,  # type: ignore[no-untyped-def]
                  owner: str = "manual") -> str | None:
    """Run job ``name`` as of ``at``. Scheduled runs happen at most once per (job, instant);
    manual runs always run (the jobs' own outbox keys keep their messages from repeating)."""
    if name not in JOBS:
        raise UnknownJob(name)
    run_key = f"{name}@{at.isoformat()}" if scheduled else f"{name}@{at.isoformat()}#manual-{uuid.uuid4().hex[:8]}"
    if not _claim(services, name, run_key, at, owner):
        log.info("job %s for %s already ran; skipped", name, at.isoformat())
        return None
    status, detail = "done", None
    try:
        detail = await JOBS[name].fn(JobCtx(services, at, run_key))
        return detail
    except Exception as exc:
        status, detail = "failed", repr(exc)[:500]
        log.exception("job %s failed", name)
        raise
    finally:
        with services.db.session() as s:
            s.execute(update(JobRun).where(JobRun.run_key == run_key).values(
                status=status, finished_at=services.now(), detail=detail))
