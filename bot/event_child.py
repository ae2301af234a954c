"""A helper process for inbound events (``python -m bot.event_child``, started by bot.event_process).

It reads the settings (one JSON line) and then events from its input, works each off with the same
dispatcher, handlers and transactions as a worker thread of the serving process, and answers on the
pipe named by ``PERFBOT_EVENT_CHILD_FD``: ``{"ready": pid}`` once its models are loaded, ``{"done":
key}`` per event (processed, failed with a polite reply, or left pending for the sweeper), and
``{"wake": channel}`` after a transaction queued outbox rows, so the serving process sends them at
once. It serves no HTTP, opens no platform connection, runs no schedule and sends nothing itself.
When its input ends it finishes the events it has and exits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import threading
from typing import IO, Any

from bot.events import event_from_dict

log = logging.getLogger("bot.event_child")


class Answers:
    """The pipe back to the serving process (one line per answer, from any thread)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.lock = threading.Lock()

    def send(self, msg: dict[str, Any]) -> None:
        line = json.dumps(msg, ensure_ascii=False).encode() + b"\n"
        with self.lock:
            self.out.write(line)
            self.out.flush()


async def serve(settings_line: bytes, answers: Answers) -> None:
    from bot.app import PerfBot, load_models
    from bot.event_process import read_setup

    settings, clock = read_setup(settings_line.decode())
    bot = PerfBot(settings, clock=clock, scheduler=False)
    services = bot.services
    services.wake_elsewhere = lambda channel: answers.send({"wake": channel})  # its outbox workers run there
    loop = asyncio.get_running_loop()
    services.loop = loop
    await load_models(settings.engine.gc_full_every)
    dispatcher = bot.dispatcher
    dispatcher.pool.start()
    answers.send({"ready": os.getpid()})
    stdin = sys.stdin.buffer
    while line := await loop.run_in_executor(None, stdin.readline):
        try:
            event = event_from_dict(json.loads(line)["event"])
        except (KeyError, TypeError, ValueError) as exc:
            log.error("event helper: an input line that is not an event (%r): %r", exc, line[:200])
            continue
        fut = dispatcher.run_soon(event)
        fut.add_done_callback(lambda _f, key=event.key: answers.send({"done": key, "commits": bot.db.commits}))
    await dispatcher.idle()
    await asyncio.to_thread(dispatcher.pool.stop)
    bot.db.dispose()


def main() -> int:
    # Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group: the serving
    # process stops this one (by ending its input) once it has the work back, so the signals are its.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = os.fdopen(int(os.environ["PERFBOT_EVENT_CHILD_FD"]), "wb")
    settings_line = sys.stdin.buffer.readline()
    logging.basicConfig(level=os.environ.get("PERFBOT_EVENT_CHILD_LOG", "WARNING"), stream=sys.stderr,
                        format=f"%(asctime)s [helper {os.getpid()}] %(levelname)s %(name)s: %(message)s")
    from bot.redact import install

    install()  # every log line passes through credential redaction
    logging.getLogger("jieba").setLevel(logging.WARNING)
    asyncio.run(serve(settings_line, Answers(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
