"""After a burst the process hands freed memory back to the OS (bot.memory.MemoryRelease)."""

from __future__ import annotations

import asyncio

import pytest

from bot import memory
from bot.memory import MemoryRelease
from bot.metrics import rss_bytes


class Work:
    """Stands in for the events pool's counters (jobs finished, work queued or running)."""

    def __init__(self) -> None:
        self.handled, self.busy = 0, False


def releaser(work: Work, **kw) -> MemoryRelease:
    return MemoryRelease(lambda: work.handled, lambda: work.busy, **kw)


def test_nothing_is_released_before_enough_work_or_while_busy() -> None:
    work = Work()
    rel = releaser(work, after_events=100, min_interval=0.0)
    work.handled = 99
    assert asyncio.run(rel.maybe_release()) is False and rel.releases == 0
    work.handled, work.busy = 150, True  # a backlog still being worked off: wait for quiet
    asyncio.run(rel.maybe_release())
    assert rel.releases == 0
    work.busy = False
    asyncio.run(rel.maybe_release())
    assert rel.releases == 1
    asyncio.run(rel.maybe_release())  # no new work since: nothing to give back
    assert rel.releases == 1
    work.handled = 260
    asyncio.run(rel.maybe_release())
    assert rel.releases == 2


def test_releases_are_spaced_by_min_interval() -> None:
    work = Work()
    rel = releaser(work, after_events=1, min_interval=3600.0)
    work.handled = 5
    asyncio.run(rel.maybe_release())
    work.handled = 10
    asyncio.run(rel.maybe_release())
    assert rel.releases == 1


@pytest.mark.skipif(memory._TRIM is None, reason="malloc_trim is glibc's")
def test_a_quiet_process_gives_a_burst_s_freed_memory_back() -> None:
    # a burst's buffers (above pymalloc's 512-byte limit, so from the C allocator) with a few long-lived
    # objects among them: freeing the burst alone leaves the heap, and the RSS, at its high-water mark
    keep, burst = [], []
    for i in range(60_000):
        burst.append(bytearray(3000))
        if i % 50 == 0:
            keep.append(bytearray(3000))
    del burst
    before = rss_bytes()
    work = Work()
    work.handled = 1000
    assert asyncio.run(releaser(work).maybe_release()) is True
    assert before - rss_bytes() > 100 * 2**20  # about 170 MB were freed
    assert len(keep) == 1200
