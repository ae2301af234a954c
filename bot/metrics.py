"""Process metrics for ``GET /metrics`` (Prometheus text format) and the start-up warm-up.

The event-loop lag probe wakes every ``PROBE_SECONDS`` and records how late it woke: a loop that
runs database or CPU work inline shows up here first.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from storage.stats import queue_figures

if TYPE_CHECKING:
    from bot.app import PerfBot
    from bot.event_process import ProcessWorker

log = logging.getLogger(__name__)
PROBE_SECONDS = 0.02


def warm_up() -> None:
    """Load every NLP model and dictionary once (called off the loop before the bot is ready), so
    the first free-text message is answered as fast as the thousandth."""
    from nlp.analyze import analyze
    from nlp.intent import parse_question

    analyze("本周完成了华山医院的方案，压力有点大。")
    parse_question("本月还有哪些任务没完成", date(2026, 1, 5))


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size now (Linux /proc), else the peak from getrusage; of process ``pid`` if given
    (0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid or 'self'}/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0 if pid else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class LoopLag:
    """Measures how late the event loop runs a timer (max since start and since last read)."""

    def __init__(self) -> None:
        self.max_seconds = 0.0
        self.window_max = 0.0
        self.samples = 0
        self.on_tick: Callable[[], None] | None = None
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
            if self.on_tick is not None:
                self.on_tick()

    def take_window(self) -> float:
        v, self.window_max = self.window_max, 0.0
        return v


class GcPauses:
    """How long the cyclic garbage collector stopped the process, per generation (gc.callbacks).
    A full collection over many live objects is a stop-the-world pause the loop-lag probe cannot
    tell apart from blocking work; this names it."""

    def __init__(self) -> None:
        self.max_seconds = [0.0, 0.0, 0.0]
        self.window_max = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._t0 = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        gen = min(2, int(info.get("generation", 0)))
        pause = time.perf_counter() - self._t0
        self.count[gen] += 1
        self.max_seconds[gen] = max(self.max_seconds[gen], pause)
        self.window_max[gen] = max(self.window_max[gen], pause)

    def take_window(self) -> list[float]:
        v, self.window_max = self.window_max, [0.0, 0.0, 0.0]
        return v


class StallWatchdog:
    """A thread that logs where the event loop is when it has not ticked for ``threshold`` seconds:
    the loop thread's stack, once per stall (off when the threshold is 0). Cheap: one timestamp
    written by the loop every 20 ms, one read by the thread every ``threshold / 2``."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.stalls = 0
        self._beat = time.monotonic()
        self._loop_thread = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self._beat = time.monotonic()

    def start(self) -> None:
        if self.threshold <= 0 or self._thread is not None:
            return
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="loop-stall-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1)
            self._thread = None

    def _watch(self) -> None:
        reported = 0.0
        while not self._stop.wait(self.threshold / 2):
            beat = self._beat
            late = time.monotonic() - beat
            if late < self.threshold or beat == reported:
                continue
            reported = beat
            self.stalls += 1
            frame = sys._current_frames().get(self._loop_thread)
            stack = "".join(traceback.format_stack(frame, limit=25)) if frame is not None else "(no frame)\n"
            log.warning("event loop stalled for %.0f ms so far; the loop thread is at:\n%s", late * 1000, stack)


class Metrics:
    def __init__(self, stall_log_seconds: float = 0.0) -> None:
        self.lag = LoopLag()
        self.gc = GcPauses()
        self.watchdog = StallWatchdog(stall_log_seconds)
        self.lag.on_tick = self.watchdog.beat
        self.started_at = time.time()

    def start_probe(self) -> None:
        self.gc.install()
        self.lag.start()
        self.watchdog.start()

    async def stop_probe(self) -> None:
        self.watchdog.stop()
        self.gc.uninstall()
        await self.lag.stop()

    async def render(self, bot: PerfBot) -> str:
        db = bot.db
        q = await db.run(queue_figures, db, bot.services.now())
        pool = bot.dispatcher.pool
        accepting = bot.dispatcher.acceptance
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
            "# HELP perfbot_inbound_backlogged_total Events that found the queues full (held for room, or left to the sweeper).",
            "# TYPE perfbot_inbound_backlogged_total counter",
            f"perfbot_inbound_backlogged_total {bot.dispatcher.backlogged}",
            "# HELP perfbot_inbound_held Events waiting, in arrival order, for queue room (in memory, or as keys read back from the inbox).",
            "# TYPE perfbot_inbound_held gauge",
            f"perfbot_inbound_held {bot.dispatcher.held}",
            "# HELP perfbot_inbound_duplicate_runs_total Runs of an event rolled back because another run finished it.",
            "# TYPE perfbot_inbound_duplicate_runs_total counter",
            f"perfbot_inbound_duplicate_runs_total {bot.dispatcher.duplicates_skipped}",
            "# HELP perfbot_transient_db_retries_total Events retried after a transient database error.",
            "# TYPE perfbot_transient_db_retries_total counter",
            f"perfbot_transient_db_retries_total {bot.dispatcher.transient_retries}",
            "# HELP perfbot_event_groups_total Transactions that worked off more than one queued event.",
            "# TYPE perfbot_event_groups_total counter",
            f"perfbot_event_groups_total {bot.dispatcher.grouped_transactions}",
            "# HELP perfbot_event_grouped_total Events worked off in those transactions.",
            "# TYPE perfbot_event_grouped_total counter",
            f"perfbot_event_grouped_total {bot.dispatcher.grouped_events}",
            "# HELP perfbot_event_group_fallbacks_total Groups rolled back and run again one event at a time.",
            "# TYPE perfbot_event_group_fallbacks_total counter",
            f"perfbot_event_group_fallbacks_total {bot.dispatcher.group_fallbacks}",
            "# HELP perfbot_accept_first_waits_total Events an event worker held back while callbacks were being accepted.",
            "# TYPE perfbot_accept_first_waits_total counter",
            f"perfbot_accept_first_waits_total {bot.dispatcher.accept_first.waits}",
            "# HELP perfbot_accept_first_wait_seconds_total Time event workers spent holding back for acceptances.",
            "# TYPE perfbot_accept_first_wait_seconds_total counter",
            f"perfbot_accept_first_wait_seconds_total {bot.dispatcher.accept_first.waited_seconds:.3f}",
            "# HELP perfbot_outbox_accept_first_waits_total Outbox rounds (both lanes) held back while callbacks were being accepted.",
            "# TYPE perfbot_outbox_accept_first_waits_total counter",
            f"perfbot_outbox_accept_first_waits_total {bot.dispatcher.accept_first.round_waits}",
            "# HELP perfbot_outbox_accept_first_wait_seconds_total Time outbox rounds spent holding back for acceptances.",
            "# TYPE perfbot_outbox_accept_first_wait_seconds_total counter",
            f"perfbot_outbox_accept_first_wait_seconds_total {bot.dispatcher.accept_first.round_waited_seconds:.3f}",
            "# HELP perfbot_accept_writes_total Durable writes of accepted callbacks (group commits) started.",
            "# TYPE perfbot_accept_writes_total counter",
            f"perfbot_accept_writes_total {accepting.batches}",
            "# HELP perfbot_accept_events_total Accepted callbacks and events those writes carried.",
            "# TYPE perfbot_accept_events_total counter",
            f"perfbot_accept_events_total {accepting.events}",
            "# HELP perfbot_accept_write_seconds_total Time the finished acceptance writes took (acknowledgements wait for them).",
            "# TYPE perfbot_accept_write_seconds_total counter",
            f"perfbot_accept_write_seconds_total {accepting.write_seconds:.4f}",
            "# HELP perfbot_accept_writes_in_flight Acceptance writes in flight now.",
            "# TYPE perfbot_accept_writes_in_flight gauge",
            f"perfbot_accept_writes_in_flight {accepting.in_flight}",
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
            "# HELP perfbot_gc_pause_seconds Longest garbage-collector pause, by generation.",
            "# TYPE perfbot_gc_pause_seconds gauge",
        ]
        window = self.gc.take_window()
        for gen in range(3):
            lines.append(f'perfbot_gc_pause_seconds{{generation="{gen}",window="since_last_scrape"}} {window[gen]:.4f}')
            lines.append(f'perfbot_gc_pause_seconds{{generation="{gen}",window="since_start"}} {self.gc.max_seconds[gen]:.4f}')
        lines += [
            "# HELP perfbot_gc_collections_total Garbage collections, by generation.",
            "# TYPE perfbot_gc_collections_total counter",
            *(f'perfbot_gc_collections_total{{generation="{gen}"}} {self.gc.count[gen]}' for gen in range(3)),
            "# HELP perfbot_event_loop_stalls_total Times the loop did not tick for [server] stall_log_ms (stack logged).",
            "# TYPE perfbot_event_loop_stalls_total counter",
            f"perfbot_event_loop_stalls_total {self.watchdog.stalls}",
            "# HELP perfbot_db_commits_total Database transactions committed by this process.",
            "# TYPE perfbot_db_commits_total counter",
            f"perfbot_db_commits_total {db.commits}",
            *helper_lines(bot.dispatcher.helpers),
            "# HELP process_resident_memory_bytes Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {rss_bytes()}",
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {self.started_at:.0f}",
        ]
        return "\n".join(lines) + "\n"


def helper_lines(helpers: list[ProcessWorker]) -> list[str]:
    """The event helper processes' figures (bot.event_process), summed over the helpers."""
    if not helpers:
        return []
    return [
        "# HELP perfbot_event_helpers_ready Event helper processes running and ready.",
        "# TYPE perfbot_event_helpers_ready gauge",
        f"perfbot_event_helpers_ready {sum(1 for h in helpers if h.helper_pid)}",
        "# HELP perfbot_event_helper_events_total Events of the helpers' senders, by where they ran (a helper, or here "
        "while none was ready).",
        "# TYPE perfbot_event_helper_events_total counter",
        f'perfbot_event_helper_events_total{{where="helper"}} {sum(h.done_remote for h in helpers)}',
        f'perfbot_event_helper_events_total{{where="here"}} {sum(h.ran_here for h in helpers)}',
        "# HELP perfbot_event_helper_starts_total Event helper processes started.",
        "# TYPE perfbot_event_helper_starts_total counter",
        f"perfbot_event_helper_starts_total {sum(h.starts for h in helpers)}",
        "# HELP perfbot_event_helper_deaths_total Event helper processes that ended unexpectedly.",
        "# TYPE perfbot_event_helper_deaths_total counter",
        f"perfbot_event_helper_deaths_total {sum(h.deaths for h in helpers)}",
        "# HELP perfbot_event_helper_db_commits_total Database transactions the helpers committed.",
        "# TYPE perfbot_event_helper_db_commits_total counter",
        f"perfbot_event_helper_db_commits_total {sum(h.helper_commits for h in helpers)}",
        "# HELP perfbot_event_helper_resident_memory_bytes Resident memory of the running helpers, in bytes.",
        "# TYPE perfbot_event_helper_resident_memory_bytes gauge",
        f"perfbot_event_helper_resident_memory_bytes {sum(rss_bytes(h.helper_pid) for h in helpers if h.helper_pid)}",
    ]
