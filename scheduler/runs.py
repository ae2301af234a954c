"""Running a named job once per scheduled instant (a unique row in job_runs, not hope)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from scheduler.registry import JobCtx
from storage import jobruns

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
# A run still "running" this long after it started belongs to a process that died: it may be
# taken over (jobs are idempotent through their outbox keys, so finishing it is safe).
STALE_RUN = timedelta(hours=1)


class UnknownJob(KeyError):
    pass


def _claim(services: Services, name: str, run_key: str, at: datetime, owner: str) -> bool:
    claimed, took_over = jobruns.claim_run(services.db, name, run_key, at, owner, services.now(), STALE_RUN)
    if took_over:
        log.warning("job %s for %s: taking over a run that failed or whose process died", name, at.isoformat())
    return claimed


async def run_job(services: Services, name: str, at: datetime, *, scheduled: bool = False,
                  owner: str = "manual") -> str | None:
    """Run job ``name`` as of ``at``. Scheduled runs happen at most once per (job, instant);
    manual runs always run (the jobs' own outbox keys keep their messages from repeating)."""
    if name not in services.jobs:
        raise UnknownJob(name)
    # Jobs read and write the database and may build large fan-outs: they run on the jobs worker
    # thread, never on the serving loop.
    return await services.offload(lambda: _run(services, name, at, scheduled, owner))


async def _run(services, name: str, at: datetime, scheduled: bool, owner: str) -> str | None:
    run_key = f"{name}@{at.isoformat()}" if scheduled else f"{name}@{at.isoformat()}#manual-{uuid.uuid4().hex[:8]}"
    if not _claim(services, name, run_key, at, owner):
        log.info("job %s for %s already ran; skipped", name, at.isoformat())
        return None
    status, detail = "done", None
    try:
        detail = await services.jobs[name](JobCtx(services, at, run_key))
        return detail
    except Exception as exc:
        status, detail = "failed", repr(exc)[:500]
        log.exception("job %s failed", name)
        raise
    finally:
        jobruns.finish_run(services.db, run_key, status, services.now(), detail)
