"""The stall watchdog names the code that blocks the event loop, and the GC meter counts pauses."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from bot.metrics import Metrics


def _blocking_database_call() -> None:
    time.sleep(0.5)  # stands for synchronous work someone put on the loop


async def test_a_blocked_loop_is_logged_with_the_blocking_frame(caplog):
    metrics = Metrics(stall_log_seconds=0.1)
    caplog.set_level(logging.WARNING, logger="bot.metrics")
    metrics.start_probe()
    try:
        await asyncio.sleep(0.1)  # the probe ticks: the loop is alive
        assert metrics.watchdog.stalls == 0
        _blocking_database_call()
        await asyncio.sleep(0.1)
    finally:
        await metrics.stop_probe()
    stalls = [r.getMessage() for r in caplog.records if "event loop stalled" in r.getMessage()]
    assert len(stalls) == 1, stalls  # one report per stall, not one per watchdog wake-up
    assert "_blocking_database_call" in stalls[0]
    assert metrics.watchdog.stalls == 1
    assert metrics.lag.max_seconds > 0.1


async def test_off_when_the_threshold_is_zero(caplog):
    metrics = Metrics(stall_log_seconds=0)
    caplog.set_level(logging.WARNING, logger="bot.metrics")
    metrics.start_probe()
    try:
        _blocking_database_call()
        await asyncio.sleep(0.05)
    finally:
        await metrics.stop_probe()
    assert metrics.watchdog.stalls == 0
    assert not [r for r in caplog.records if "event loop stalled" in r.getMessage()]


async def test_full_collections_are_counted():
    metrics = Metrics()
    metrics.start_probe()
    try:
        before = metrics.gc.count[2]
        gc.collect()
    finally:
        await metrics.stop_probe()
    assert metrics.gc.count[2] == before + 1
    assert metrics.gc.max_seconds[2] > 0
    assert gc.callbacks.count(metrics.gc._callback) == 0  # uninstalled on stop
