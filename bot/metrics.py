"""Process metrics for ``GET /metrics`` (Prometheus text format) and the start-up warm-up.

The event-loop lag probe wakes every ``PROBE_SECONDS`` and records how late it woke: a loop that
runs database or CPU work inline shows up here first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from datetime import date
from typing import TYPE_CHECKING

from storage.stats import queue_figures

if TYPE_CHECKING:
    from bot.app import PerfBot

log = logging.getLogger(__name__)
PROBE_SECONDS = 0.02


def warm_up() -> None:
    """Load every NLP model and dictionary once (called off the loop before the bot is ready), so
    the first free-text message is answered as fast as the thousandth."""
    from nlp.analyze import analyze
    from nlp.intent import parse_question

    analyze("本周完成了华山医院的方案，压力有点大。")
    parse_question("本月还有哪些任务没完成", date(2026, 1, 5))


def rss_bytes() -> int:
    """Resident set size now (Linux /proc), else the peak from getrusage."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class LoopLag:
    """Measures how late the event loop runs a timer (max since start and since last read)."""

    def __init__(self) -> None:
        self.max_seconds = 0.0
        self.window_max = 0.0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loop-lag-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(PROBE_SECONDS)
            lag = max(0.0, loop.time() - t0 - PROBE_SECONDS)
            self.samples += 1
            self.max_seconds = max(self.max_seconds, lag)
            self.window_max = max(self.window_max, lag)

    def take_window(self) -> float:
        v, self.window_max = self.window_max, 0.0
        return v


class Metrics:
    def __init__(self) -> None:
        self.lag = LoopLag()
        self.started_at = time.time()

    def start_probe(self) -> None:
        self.lag.start()

    async def stop_probe(self) -> None:
        await self.lag.stop()

    async def render(self, bot: PerfBot) -> str:
        db = bot.db
        q = await db.run(queue_figures, db, bot.services.now())
        pool = bot.dispatcher.pool
        lines = [
            "# HELP perfbot_inbound_events Inbound events by status (pending = accepted, not yet processed).",
            "# TYPE perfbot_inbound_events gauge",
        ]
        for status in ("pending", "done", "failed"):
            lines.append(f'perfbot_inbound_events{{status="{status}"}} {q.inbound.get(status, 0)}')
        lines += [
            "# HELP perfbot_inbound_queue Events queued in this process's worker pool.",
            "# TYPE perfbot_inbound_queue gauge",
            f"perfbot_inbound_queue {pool.backlog}",
            "# HELP perfbot_inbound_in_flight Events submitted and not finished in this process.",
            "# TYPE perfbot_inbound_in_flight gauge",
            f"perfbot_inbound_in_flight {pool.in_flight}",
            "# HELP perfbot_inbound_backlogged_total Events left pending because the queue was full.",
            "# TYPE perfbot_inbound_backlogged_total counter",
            f"perfbot_inbound_backlogged_total {bot.dispatcher.backlogged}",
            "# HELP perfbot_transient_db_retries_total Events retried after a transient database error.",
            "# TYPE perfbot_transient_db_retries_total counter",
            f"perfbot_transient_db_retries_total {bot.dispatcher.transient_retries}",
            "# HELP perfbot_outbox_messages Outbound messages by status.",
            "# TYPE perfbot_outbox_messages gauge",
        ]
        statuses = sorted(set(q.outbox) | {"pending", "sending", "sent", "failed"})
        for status in statuses:
            lines.append(f'perfbot_outbox_messages{{status="{status}"}} {q.outbox.get(status, 0)}')
        lat = q.latency
        lines += [
            "# HELP perfbot_send_latency_seconds Queue-to-sent latency of messages sent in the last 5 minutes.",
            "# TYPE perfbot_send_latency_seconds summary",
        ]
        for quantile in (0.5, 0.9, 0.99):
            v = lat[min(len(lat) - 1, int(quantile * len(lat)))] if lat else 0.0
            lines.append(f'perfbot_send_latency_seconds{{quantile="{quantile}"}} {v:.3f}')
        lines += [
            f"perfbot_send_latency_seconds_count {len(lat)}",
            f"perfbot_send_latency_seconds_sum {sum(lat):.3f}",
            "# HELP perfbot_event_loop_lag_seconds How late the event loop ran a 20 ms timer.",
            "# TYPE perfbot_event_loop_lag_seconds gauge",
            f'perfbot_event_loop_lag_seconds{{window="since_last_scrape"}} {self.lag.take_window():.4f}',
            f'perfbot_event_loop_lag_seconds{{window="since_start"}} {self.lag.max_seconds:.4f}',
            "# HELP perfbot_db_commits_total Database transactions committed by this process.",
            "# TYPE perfbot_db_commits_total counter",
            f"perfbot_db_commits_total {db.commits}",
            "# HELP process_resident_memory_bytes Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {rss_bytes()}",
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {self.started_at:.0f}",
        ]
        return "\n".join(lines) + "\n"
