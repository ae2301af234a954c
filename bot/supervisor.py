"""``serve --processes N``: N serving processes on one port, under this supervisor.

One Python process is bound to one core by the interpreter lock, so a machine's other cores serve
only through more processes (docs/engine.md, "Capacity"). Each child is a full ``serve`` (HTTP,
channels, event and outbox workers, a scheduler candidate) sharing the PostgreSQL database with the
others; they bind the same address with ``SO_REUSEPORT`` and the kernel spreads new connections
over them, so no load balancer is needed in front of one machine. Everything they share is already
safe across processes: inbound events are deduplicated by key, outbox rows are claimed with
``SKIP LOCKED``, the per-app call budgets live in the database, one scheduler leader holds a lease.
DingTalk asks for one Stream client per app, so only the first child opens it; every child sends.

The supervisor imports nothing heavy and serves nothing: it starts the children, restarts one that
exits unexpectedly (after 1 s when it had run a minute or more; one that fails sooner waits twice
as long as the last wait, 2 s at first, up to 30 s), and on SIGTERM or SIGINT passes the signal on and waits for every child to finish its own
clean shutdown. Its exit code is 0 when every child stopped cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)
CHILD_ENV = "PERFBOT_SERVE_CHILD"  # set in a child: its number (1..N); it binds with SO_REUSEPORT
RESTART_MIN_S, RESTART_MAX_S, STABLE_S = 1.0, 30.0, 60.0
STOP_GRACE_S = 60.0  # a child's own shutdown waits for its outbox round (bot/app.py); then SIGKILL
POLL_S = 0.2


def child_number() -> int:
    """This process's number under a supervisor, 0 when it is not a supervised child."""
    try:
        return int(os.environ.get(CHILD_ENV, "0"))
    except ValueError:
        return 0


@dataclass
class Child:
    number: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float = RESTART_MIN_S
    restart_at: float | None = None
    signalled: bool = False  # this process has been sent SIGTERM (never twice: see Supervisor._stop)


class Supervisor:
    def __init__(self, command: list[str], processes: int) -> None:
        self.command, self.children = command, [Child(i + 1) for i in range(processes)]
        self.stopping = False

    def _spawn(self, child: Child) -> None:
        env = {**os.environ, CHILD_ENV: str(child.number)}
        child.signalled = False  # before the process exists: a SIGTERM handled from here on reaches it
        child.proc = subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL)
        child.started, child.restart_at = time.monotonic(), None
        log.info("serving process %d started (pid %d)", child.number, child.proc.pid)

    def _stop(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            log.info("supervisor: %s received; stopping %d serving processes", signal.Signals(signum).name,
                     len(self.children))
        self.stopping = True
        # Each process once: a child that already began its clean shutdown has closed its event loop,
        # and with it its SIGTERM handler, so a second SIGTERM would kill it mid-exit (exit -15).
        for c in self.children:
            if c.proc is not None and not c.signalled and c.proc.poll() is None:
                c.signalled = True
                c.proc.send_signal(signal.SIGTERM)

    def _watch(self, child: Child, now: float) -> None:
        """Notice a child that exited while serving; schedule and perform its restart."""
        if child.proc is not None and child.restart_at is None:
            rc = child.proc.poll()
            if rc is None:
                return
            ran = now - child.started
            child.backoff = RESTART_MIN_S if ran >= STABLE_S else min(RESTART_MAX_S, child.backoff * 2)
            child.restart_at = now + child.backoff
            log.error("serving process %d (pid %d) exited with %s after %.0f s; restarting it in %.0f s",
                      child.number, child.proc.pid, rc, ran, child.restart_at - now)
        if child.restart_at is not None and now >= child.restart_at:
            self._spawn(child)

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        for c in self.children:
            self._spawn(c)
        while not self.stopping:
            time.sleep(POLL_S)
            for c in self.children:
                if not self.stopping:
                    self._watch(c, time.monotonic())
        self._stop(signal.SIGTERM, None)  # a child started while the first signal was handled gets it now
        deadline = time.monotonic() + STOP_GRACE_S
        codes = []
        for c in self.children:
            if c.proc is None:
                continue
            try:
                codes.append(c.proc.wait(max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                log.error("serving process %d (pid %d) did not stop within %.0f s; killing it",
                          c.number, c.proc.pid, STOP_GRACE_S)
                c.proc.kill()
                codes.append(c.proc.wait())
        log.info("supervisor: every serving process stopped (exit codes %s)", codes)
        return 0 if all(rc == 0 for rc in codes) else 1


def serve_command(config: str | None, log_level: str) -> list[str]:
    """The command line of one child: the same configuration, one process."""
    return [sys.executable, "-m", "bot", "--log-level", log_level, *(["--config", config] if config else []),
            "serve", "--processes", "1"]
