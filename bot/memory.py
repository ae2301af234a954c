"""Give memory back to the operating system after a burst.

CPython returns a free 256 KB arena of small objects on its own, but larger blocks (message bodies,
SQL result rows, the lists a burst builds) come from the C allocator, which keeps what was freed at
the top of its heaps for reuse: after a 10,000-person burst a process stays at the burst's high-water
mark for hours. glibc's ``malloc_trim(0)`` hands those free pages back. ``MemoryRelease`` calls it
on a thread (ctypes releases the GIL for the call, so the serving loop keeps running) once the
process has gone quiet after enough work: the inbound backlog empty and at least ``after_events``
events handled since the last release; never more than once per ``min_interval`` seconds.
Elsewhere than glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def _load_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _load_trim()


def release_free_memory() -> bool:
    """Return the allocator's free pages to the OS; True when it released any (glibc only)."""
    return bool(_TRIM(0)) if _TRIM is not None else False


class MemoryRelease:
    """Calls :func:`release_free_memory` when the process is quiet after at least ``after_events``."""

    def __init__(self, handled: Callable[[], int], busy: Callable[[], bool], after_events: int = 1000,
                 min_interval: float = 30.0) -> None:
        self.handled, self.busy = handled, busy  # events handled so far; is inbound work queued or running
        self.after_events, self.min_interval = after_events, min_interval
        self._mark = 0
        self._last = float("-inf")
        self.releases = 0

    async def maybe_release(self) -> bool:
        now = time.monotonic()
        done = self.handled()
        if done - self._mark < self.after_events or now - self._last < self.min_interval or self.busy():
            return False
        self._mark, self._last = done, now
        released = await asyncio.to_thread(release_free_memory)
        self.releases += 1
        return released

    async def run(self, every: float = 5.0) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.maybe_release()
            except Exception:  # never let memory housekeeping take the process down
                log.exception("releasing free memory failed")
