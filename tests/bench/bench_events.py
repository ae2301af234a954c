"""Benchmark: what one inbound message costs the bot, per kind, with nothing else running.

    python -m tests.bench.bench_events [--users 500] [--rounds 60] [--db sqlite,postgresql]

The organisation of ``--users`` employees (tests.bench.org) is loaded with the real importer; the bot
runs in this process on the terminal channel (no HTTP, no platform crypto), so the figures are the
engine's own cost: routing, identity, the handler's reads and writes, the NLP, the queued reply and
marking the event done. For each of the five kinds of bench_wecom, ``--rounds`` distinct users send
one message each, one at a time. Printed per kind and for the mix: CPU milliseconds per message
(process CPU time, all threads), wall milliseconds, SQL statements and commits per message, and the
ceiling that CPU cost puts on one core (messages/s). Together with bench_wecom's bare figure this
says how far a process can go on a machine: see docs/engine.md ("Capacity").

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import event

from bot.app import PerfBot
from bot.channels.terminal import TerminalChannel
from storage.db import open_database
from tests.bench.bench_wecom import KINDS, REPO, drop_pg_database, make_pg_database, text_of
from tests.bench.org import write_org
from tests.conftest import make_settings


class Counter:
    def __init__(self) -> None:
        self.statements = 0

    def __call__(self, *args: object) -> None:
        self.statements += 1


async def bench(db_kind: str, users: int, rounds: int) -> list[tuple[str, float, float, float, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="perfbot-events-"))
    url = f"sqlite:///{tmp / 'bench.db'}" if db_kind == "sqlite" else make_pg_database()
    cfg = tmp / "bench.toml"
    cfg.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    write_org(tmp / "org", users, date.today())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg), "--log-level", "WARNING", "import",
                    str(tmp / "org")], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    db = open_database(url)
    terminal = TerminalChannel(out_dir=tmp / "files")
    bot = PerfBot(make_settings(url), channels=[terminal], db=db, scheduler=False)
    await bot.start(workers=False)
    counter = Counter()
    event.listen(db.engine, "before_cursor_execute", counter)
    rows = []
    try:
        # Warm-up: every kind once (imports, caches, models), by users the rounds do not use.
        for i, (_, text) in enumerate(KINDS):
            await bot.dispatcher.submit(terminal.text_event(f"U{users - 1 - i:06d}", text), wait=True)
        await bot.drain()
        for k, (kind, _) in enumerate(KINDS):
            senders = [f"U{(k * rounds + r) % (users - len(KINDS)):06d}" for r in range(rounds)]
            stmts, commits = counter.statements + db.direct_statements, db.commits
            cpu, wall = time.process_time(), time.perf_counter()
            for r, sender in enumerate(senders):  # a vent is worded differently by every sender
                await bot.dispatcher.submit(terminal.text_event(sender, text_of(k, r + 1)), wait=True)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            rows.append((kind, 1000 * cpu / rounds, 1000 * wall / rounds,
                         (counter.statements + db.direct_statements - stmts) / rounds, (db.commits - commits) / rounds))
            await bot.drain()
            terminal.inbox.clear()
    finally:
        await bot.stop()
        db.dispose()
        if db_kind != "sqlite":
            drop_pg_database(url)
    return rows


def report(db_kind: str, rows: list[tuple[str, float, float, float, float]]) -> None:
    n = len(rows)
    mix = ("mix", *(sum(r[i] for r in rows) / n for i in range(1, 5)))
    print(f"\n== {db_kind}: cost of one inbound message (in-process, one at a time) ==")
    print(f"{'kind':<8} {'CPU ms':>8} {'wall ms':>8} {'stmts':>7} {'commits':>8} {'ceiling msg/s/core':>19}")
    for kind, cpu, wall, stmts, commits in [*rows, mix]:
        print(f"{kind:<8} {cpu:8.2f} {wall:8.2f} {stmts:7.1f} {commits:8.2f} {1000 / cpu if cpu else 0:19.0f}")


async def main(users: int, rounds: int, dbs: list[str]) -> None:
    for db_kind in dbs:
        report(db_kind, await bench(db_kind, users, rounds))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--db", default="sqlite,postgresql")
    a = ap.parse_args()
    asyncio.run(main(a.users, a.rounds, a.db.split(",")))
