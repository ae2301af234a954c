"""The supervisor passes SIGTERM on to each serving process once: a child already in its clean
shutdown has closed its event loop, and with it its handler, so a second SIGTERM would kill it
mid-exit and the supervisor would report a failed stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from tests.conftest import REPO

# A stand-in for `serve`: on SIGTERM it drops its handler at once (as asyncio.run does when its loop
# closes) and takes a second to finish, then exits 0; killed by a second SIGTERM, it exits -15.
CHILD = """
import signal, sys, time
got = []
def on_term(signum, frame):
    got.append(signum)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while not got:
    time.sleep(0.01)
time.sleep(1.0)
sys.exit(0)
"""
SUPERVISOR = """
import logging, sys
from bot.supervisor import Supervisor
logging.basicConfig(level=logging.INFO, format="%(message)s")
sys.exit(Supervisor([sys.executable, "-c", sys.argv[1]], 2).run())
"""


async def test_each_child_gets_sigterm_once_and_a_slow_clean_exit_counts_as_clean() -> None:
    sup = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SUPERVISOR, CHILD, cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert sup.stdout is not None
    seen = b""
    # Both children are up, their handler installed. One deadline for all lines (a loaded CI
    # machine can take a while to start three interpreters); on failure, show what was printed.
    # Counted as words, not lines: unbuffered children (PYTHONUNBUFFERED) write "ready" and its
    # newline separately, and two of them sharing the pipe printed "readyready\n\n" once.
    deadline = asyncio.get_running_loop().time() + 120
    while seen.count(b"ready") < 2:
        left = deadline - asyncio.get_running_loop().time()
        try:
            line = await asyncio.wait_for(sup.stdout.readline(), max(0.1, left))
        except TimeoutError:
            sup.kill()
            await sup.communicate()  # reaped and its pipe closed: nothing left for the next test to trip on
            raise AssertionError(f"children not ready in 120 s; printed so far:\n{seen.decode()}") from None
        assert line, seen
        seen += line
    sup.send_signal(signal.SIGTERM)
    out = seen.decode() + (await asyncio.wait_for(sup.stdout.read(), 120)).decode()
    assert await sup.wait() == 0, out
    assert "exit codes [0, 0]" in out
