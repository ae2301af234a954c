"""Helper processes for inbound events (PostgreSQL): the machine's other cores work off events too.

One Python process runs on one core at a time (the interpreter lock). Under a burst the serving
process spends that core accepting callbacks and then working off the backlog, while the machine's
other core mostly waits (bench_wecom: the bot at 0.9 of a core, PostgreSQL at 0.35, the rest idle).
``[engine] event_processes`` starts that many helper processes (``bot.event_child``); each is one
more worker of the event pool (``ProcessWorker``), owning as many senders as all the threads of the
serving process together. The serving process still accepts every event durably before it
acknowledges; the helper only processes it, with the same code, transactions and per-employee locks
as a thread would (its own connections to the same database), and says when each event is done.

Protocol, one JSON object per line: the parent writes the settings (once), then ``{"event": {...}}``
per event on the child's stdin; the child writes ``{"ready": pid}``, then ``{"done": key}`` per event
and ``{"wake": channel}`` when a committed event queued outbox rows, on its own pipe.

Failure: a helper that dies loses nothing. Its events in flight are still pending in the inbox (or
done, if it committed them before it died): this worker runs them itself, in order, on its own
thread (an event already done rolls back as a duplicate), and starts a new helper after a pause (1 s,
doubling up to 30 s while helpers keep dying young). Until a helper says it is ready (at start, after
a death), the jobs run here on this thread, so nothing waits for a model load.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from bot.clock import OffsetClock, SystemClock
from bot.config import Settings, apply_sections

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parent.parent
# Events sent to a helper and not yet done: enough for its threads' groups (16 events each)...
MAX_IN_FLIGHT = 64
# ...and while callbacks arrive in a burst, this few: the helper's work and its statements compete
# with the acceptance writes every acknowledgement waits for (bench_wecom: 3.4-5.3 ms a write with 64
# handed over as a burst began, 2.9-3.5 without a helper), and what is handed over is worked off at once.
BURST_IN_FLIGHT = 4
RESTART_MIN_S, RESTART_MAX_S, YOUNG_S = 1.0, 30.0, 60.0
BURST_POLL_S = 0.01  # ...and how often it looks whether a burst has ended, while it holds events back
POLL_S = 0.2  # how often the worker thread looks for a dead helper while nothing else happens
STOP_WAIT_S = 30.0  # at shutdown, how long the events in flight may take before the helper is stopped


def setup_line(s: Settings, clock: Any) -> str:
    """What a helper is told first, as one JSON line: the settings, and the serving process's clock as
    an offset from system time (a SystemClock, or an OffsetClock shifted by ``/time``), so both
    processes agree on "now". A frozen clock (tests' ManualClock) cannot be shared: ValueError."""
    offset = getattr(clock, "offset", None)
    if offset is None and not isinstance(clock, SystemClock):
        raise ValueError(f"event helper processes follow the system clock; {type(clock).__name__} cannot be shared")
    seconds = offset.total_seconds() if offset is not None else 0.0
    return json.dumps({"settings": asdict(s), "clock_offset_seconds": seconds}, ensure_ascii=False, default=str)


def read_setup(text: str) -> tuple[Settings, OffsetClock]:
    """The settings and clock :func:`setup_line` wrote, checked as a configuration file is."""
    setup = json.loads(text)
    clock = OffsetClock()
    clock.offset = timedelta(seconds=float(setup["clock_offset_seconds"]))
    data = setup["settings"]
    settings = Settings(source=str(data.pop("source", "<helper>")))
    apply_sections(settings, data)
    return settings, clock


def helper_processes(s: Settings, cpus: int | None = None) -> int:
    """How many event helper processes this serving process starts: ``[engine] event_processes`` on
    PostgreSQL with more than one CPU and one serving process per machine, else none."""
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    if s.storage.url.startswith("sqlite") or cpus < 2 or s.server.processes > 1:
        return 0
    return s.engine.event_processes


def child_command() -> list[str]:
    return [sys.executable, "-m", "bot.event_child"]


def prespawn(settings: Settings, n: int) -> list[Helper]:
    """Start ``n`` helpers now, for a serving process on the system clock that has not built its app
    yet (``serve``): they import and load their models on the other cores while it does, so start-up
    waits for neither twice. Each goes to the ProcessWorker of the same settings."""
    setup = setup_line(settings, SystemClock())
    helpers = []
    for _ in range(n):
        try:
            helpers.append(Helper(child_command(), setup, settings.engine.event_process_nice))
        except OSError:
            log.exception("could not start an event helper early; the worker tries again")
    return helpers


class Helper:
    """One running helper process and the thread reading its answers."""

    def __init__(self, command: list[str], setup: str, nice: int) -> None:
        read_fd, write_fd = os.pipe()
        env = {**os.environ, "PERFBOT_EVENT_CHILD_FD": str(write_fd), "PYTHONPATH": str(REPO),
               "PERFBOT_EVENT_CHILD_LOG": logging.getLevelName(logging.getLogger().getEffectiveLevel())}
        self.started = time.monotonic()
        self.ready = threading.Event()
        self.dead = threading.Event()
        self.pid = 0
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env, cwd=REPO,
                                         preexec_fn=(lambda: os.nice(nice)) if nice > 0 else None)
        finally:
            os.close(write_fd)
        self.pid = self.proc.pid
        self.answers: IO[bytes] = os.fdopen(read_fd, "rb")
        if self.proc.stdin is None:
            raise OSError("event helper started without a pipe to its input")
        self._stdin: IO[bytes] = self.proc.stdin
        self.setup = setup
        self._on_line: Callable[[Helper, dict[str, Any]], None] | None = None  # its worker's (attach)
        self._write_lock = threading.Lock()
        self.send_line(setup)
        self.reader = threading.Thread(target=self._read, name=f"event-helper-{self.pid}-reader", daemon=True)
        self.reader.start()

    def send_line(self, line: str) -> bool:
        """Write one line to the helper; False when it is gone."""
        try:
            with self._write_lock:
                self._stdin.write(line.encode() + b"\n")
                self._stdin.flush()
            return True
        except (OSError, ValueError):  # a broken pipe, or its input already closed
            self.dead.set()
            return False

    def _read(self) -> None:
        try:
            for raw in self.answers:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    log.warning("event helper %s wrote a line that is not JSON: %r", self.pid, raw[:200])
                    continue
                if isinstance(msg, dict) and "ready" in msg:
                    self.ready.set()
                    log.info("event helper %s ready", self.pid)
                elif isinstance(msg, dict) and self._on_line is not None:
                    self._on_line(self, msg)  # (done and wake come only once it has a worker: attach)
        except OSError:
            pass
        finally:
            self.answers.close()
            self.dead.set()
            if self._on_line is not None:
                self._on_line(self, {"gone": self.pid})

    def attach(self, on_line: Callable[[Helper, dict[str, Any]], None]) -> None:
        """Send its answers to ``on_line`` (a helper may start before its worker exists: prespawn)."""
        self._on_line = on_line

    def close(self, timeout: float) -> int | None:
        """Close its input (it finishes what it has and exits), wait, kill it if it does not."""
        try:
            with self._write_lock:
                self._stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


class ProcessWorker(threading.Thread):
    """A worker of the event pool whose jobs (EventJobs) run in a helper process, in order per queue.

    Like :class:`bot.engine.Worker` it has a bounded ``jobs`` queue fed by ``WorkerPool.submit`` and is
    stopped with a ``None`` job. Each job's future is settled when the helper says the event is done;
    the dispatcher then forgets the key (``EventJob.dispatcher.forget``), as a local run does."""

    def __init__(self, name: str, capacity: int, setup: str, nice: int = 10,
                 on_wake: Callable[[str], None] | None = None, command: list[str] | None = None,
                 before: Callable[[], None] | None = None, prespawned: Helper | None = None,
                 in_burst: Callable[[], bool] | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.in_burst = in_burst  # True while callbacks arrive in a burst (AcceptFirst.busy): hand over less
        self.prespawned = prespawned  # a helper started early (``prespawn``), taken by the first spawn
        self.before = before  # called before each event is handed over (AcceptFirst.wait, as a thread does)
        self.jobs: queue.Queue[Any] = queue.Queue(maxsize=capacity)
        self.busy = False
        self.capacity, self.setup, self.nice = capacity, setup, nice
        self.on_wake = on_wake
        self.command = command or child_command()
        self.helper: Helper | None = None
        self._inflight: collections.OrderedDict[str, tuple[Any, concurrent.futures.Future[Any]]] = \
            collections.OrderedDict()
        self._cond = threading.Condition()
        self._again: collections.deque[tuple[Any, concurrent.futures.Future[Any]]] = collections.deque()
        self._restart_at = 0.0
        self._delay = RESTART_MIN_S
        self._launched = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # counters (/metrics, tests)
        self.done_remote = 0  # events a helper finished
        self.ran_here = 0  # events this thread ran itself (no helper ready, or one had died)
        self.starts = 0  # helpers started
        self.deaths = 0  # helpers that ended while this worker ran
        self.spawn_errors = 0  # helpers that could not be started at all
        self._commits_before = 0  # database commits of helpers that have ended
        self._commits_now = 0  # ...and of the running one (it says with each event done)

    def renewed(self) -> ProcessWorker:
        return ProcessWorker(self.name, self.capacity, self.setup, self.nice, self.on_wake, self.command,
                             self.before, in_burst=self.in_burst)

    @property
    def helper_commits(self) -> int:
        """Database transactions the helpers committed (for commits per message: /metrics, bench)."""
        return self._commits_before + self._commits_now

    def start(self) -> None:
        """Start the worker thread (and with it the helper) once; PerfBot.start does this before its own
        model load, so both load at once, and WorkerPool.start may call it again."""
        with self._cond:
            if self._launched:
                return
            self._launched = True
        super().start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait (blocking) until a helper is ready; False if none is after ``timeout`` seconds (or the
        helper died meanwhile: its events then run here)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            helper = self.helper
            if helper is not None and helper.ready.is_set():
                return True
            if helper is not None and helper.dead.is_set():
                return False
            if helper is None and self.spawn_errors:
                return False  # could not start one: its events run here
            time.sleep(0.02)
        return False

    @property
    def helper_pid(self) -> int:
        h = self.helper
        return h.pid if h is not None and h.ready.is_set() and not h.dead.is_set() else 0

    # -- the worker thread -------------------------------------------------------------------
    def run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._spawn()
            while True:
                if self._settle_dead_helper():
                    continue
                if self.helper is None and time.monotonic() >= self._restart_at:
                    self._spawn()
                if self._again:  # a dead helper's events, before anything newer
                    self._run_here(*self._again.popleft())
                    continue
                try:
                    item = self.jobs.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if item is None:
                    break
                make, fut = item
                if fut.set_running_or_notify_cancel():
                    self._handle(make, fut)
            self._finish()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    def _handle(self, make: Any, fut: concurrent.futures.Future[Any]) -> None:
        helper = self.helper
        if helper is not None and helper.dead.is_set():
            self._again.append((make, fut))  # behind the dead helper's events, once they are handed back
            return
        if helper is None or not helper.ready.is_set():
            self._run_here(make, fut)
            return
        if self.before is not None:
            self.before()
        with self._cond:  # room in the helper (less in a burst)
            while len(self._inflight) >= self._room() and not helper.dead.is_set():
                self._cond.wait(BURST_POLL_S if self._room() == BURST_IN_FLIGHT else POLL_S)
            if helper.dead.is_set():
                self._again.append((make, fut))  # after the events in flight, which the death hands back
                return
            key = make.event.key
            self._inflight[key] = (make, fut)
        # a failed write marks the helper dead: the answer reader hands every event in flight back
        helper.send_line(json.dumps({"event": make.event.to_dict()}, ensure_ascii=False))

    def _room(self) -> int:
        return BURST_IN_FLIGHT if self.in_burst is not None and self.in_burst() else MAX_IN_FLIGHT

    def _run_here(self, make: Any, fut: concurrent.futures.Future[Any]) -> None:
        if self.before is not None:
            self.before()
        self.busy = True
        try:
            loop = self._loop
            if loop is None:
                raise RuntimeError("worker thread not running")
            fut.set_result(loop.run_until_complete(make()))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting side
            fut.set_exception(exc)
        finally:
            self.busy = False
            self.ran_here += 1

    def _settle_dead_helper(self) -> bool:
        """After a helper died: True while its events in flight are still being handed back (they run
        before anything newer); then schedule the next helper."""
        helper = self.helper
        if helper is None or not helper.dead.is_set():
            return False
        with self._cond:
            if self._inflight:
                self._cond.wait(POLL_S)
                if helper.proc.poll() is None:
                    helper.proc.kill()  # its input broke but it still runs: end it, so its answers end
                return True
        self.helper = None
        self.deaths += 1
        self._commits_before += self._commits_now
        self._commits_now = 0
        helper.close(5.0)  # it has ended: this only reaps it and closes our end of its input
        young = time.monotonic() - helper.started < YOUNG_S
        self._delay = min(RESTART_MAX_S, self._delay * 2) if young else RESTART_MIN_S
        self._restart_at = time.monotonic() + self._delay
        log.warning("event helper %s ended (exit code %s); its events run here, a new helper starts in %.0f s",
                    helper.pid, helper.proc.poll(), self._delay)
        return False

    def _spawn(self) -> None:
        early, self.prespawned = self.prespawned, None
        if early is not None and early.setup != self.setup:
            early.close(5.0)  # started for other settings: not this worker's
            early = None
        try:
            helper = early or Helper(self.command, self.setup, self.nice)
            helper.attach(self._on_line)
            self.helper = helper
            self.starts += 1
        except OSError:
            self.spawn_errors += 1
            log.exception("could not start an event helper; events run in this process")
            self._restart_at = time.monotonic() + RESTART_MAX_S

    # -- answers (on the reader thread) ------------------------------------------------------
    def _on_line(self, helper: Helper, msg: dict[str, Any]) -> None:
        if "done" in msg:
            with self._cond:
                item = self._inflight.pop(str(msg["done"]), None)
                self._cond.notify_all()
            if isinstance(msg.get("commits"), int):
                self._commits_now = msg["commits"]
            if item is not None:
                make, fut = item
                make.dispatcher.forget(make.event.key)
                self.done_remote += 1
                fut.set_result(None)
        elif "wake" in msg and self.on_wake is not None:
            self.on_wake(str(msg["wake"]))
        elif "gone" in msg:
            with self._cond:  # everything it had not finished runs here, in the order it was sent
                back = list(self._inflight.values())
                self._inflight.clear()
                self._again.extendleft(reversed(back))
                self._cond.notify_all()

    def _finish(self) -> None:
        """Shutdown: the helper finishes the events it has, then its input ends and it exits; what it
        did not finish (it died, or took longer than STOP_WAIT_S) runs here or stays pending."""
        helper = self.helper
        deadline = time.monotonic() + STOP_WAIT_S
        while helper is not None and not helper.dead.is_set():
            with self._cond:
                if not self._inflight or time.monotonic() >= deadline:
                    break
                self._cond.wait(POLL_S)
        if helper is not None:
            helper.close(10.0)
            helper.reader.join(5.0)  # its answers end: a death's events are handed back by now
        while self._again:
            self._run_here(*self._again.popleft())
        with self._cond:  # not finished in time: still pending in the inbox, the sweeper replays them
            left = list(self._inflight.values())
            self._inflight.clear()
        for make, fut in left:
            make.dispatcher.forget(make.event.key)
            fut.set_result(None)
        self.helper = None
