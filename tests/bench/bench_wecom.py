"""Benchmark: the load a real Friday afternoon makes, through the whole bot and through a bare
handler, side by side in one run, on SQLite and PostgreSQL.

    python -m tests.bench.bench_wecom [--users 2000] [--messages 2000] [-c 32] [--db sqlite,postgresql]
                                      [--processes 1] [--runs 1] [--profile [--profile-gil] [--profile-load]]
                                      [--with-jobs]

- An organisation of ``--users`` employees (plus managers, directors, HR) is written as CSV and
  loaded with the real importer (``python -m bot import``).
- The bot runs as its own process (``python -m bot serve``) against the WeCom emulator, which runs
  here and records every message the bot sends; the bare handler (``tests.bench.bare_wecom``:
  verify, decrypt, parse, encrypt, nothing else) runs as its own process too.
- Every callback is encrypted and signed BEFORE the clock starts, so the load generator only posts.
- Five message kinds in rotation, each user sending one per phase: 帮助, a task question, a KPI
  question, a one-message check-in, a vent that needs the NLP. The vent is worded differently by
  every user (:func:`text_of`): free text does not repeat, and the bot remembers short questions.
- Phase A (closed loop, ``-c`` concurrent senders): acks/s, ack p50/p99, reply latency p50/p99
  (callback sent → the emulator received the reply to that user), commits per message (the bot's
  own counter; on PostgreSQL also pg_stat_database's against the bot's over both phases, read once
  PostgreSQL has reported its idle connections' statistics), maximum event-loop lag, RSS, and the time to
  drain the backlog after the load stops.
- Phase B (open loop at half the bot's measured end-to-end rate): reply latency p50/p99, split by
  the bot's own tables into processing (received -> done) and the reply's wait in the outbox.
- ``--processes N`` (PostgreSQL only; SQLite is one process by design): N bot processes share the
  database, each on its own port, and the load generator sends callback i to process i mod N, as a
  load balancer in front of them would. Counters are summed over the processes; loop lag, GC pauses
  and RSS are the worst process's.
- ``--runs N``: N runs per database (bare and bot each time); after them, each of issue 10's targets
  with its value in every run and in how many it was met (``tests.bench.targets``).
- ``--with-jobs``: keep the product's job schedule. By default the bot under test runs no scheduled
  job during a run (every cron at New Year's midnight): a start catches up what fell due in the last
  24 hours, which on a Monday morning is the four weekly scans and on a Friday evening the check-in
  push to everyone, and a run's figures would depend on the hour it began.
- ``--profile``: py-spy samples the (first) bot process during phase A and prints where the time goes;
  ``--profile-gil`` samples only the thread holding the interpreter lock (the lock is what binds a
  burst), ``--profile-load`` stops sampling when the load stops (the accepting path, not the drain).

Figures are printed, never asserted (tests never time anything).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text

from tests.bench import targets
from tests.bench.org import write_org
from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_driver import CallbackDriver, Signed
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("PERFBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KINDS = (
    ("help", "帮助"),
    ("tasks", "本月还有哪些任务没完成"),
    ("kpi", "我的KPI进度"),
    ("checkin", "成果：完成了华山医院方案初稿 障碍：预算审批还没下来 行动：下周跟进预算审批"),
    ("vent", "最近天天加班到半夜，真的有点顶不住了"),
)
# A vent is the user's own words: 2,500 distinct wordings (user n gets wording n), so nothing the bot
# remembers about repeated short questions (nlp.intent) makes a vent cheaper here than in real traffic.
_VENT_WHEN = ("最近", "这两周", "这个月", "项目上线前", "换了新项目以后")
_VENT_WHAT = ("天天加班到半夜", "每天十一点多才下班", "周末也在改方案", "一直在赶交付", "晚上还要开会到很晚")
_VENT_FEEL = ("，真的有点顶不住了", "，身体快扛不住了", "，感觉快撑不下去了", "，整个人都很疲惫", "，心里特别累")


def text_of(kind: int, n: int) -> str:
    """The text of message kind ``kind`` (index into KINDS) sent by the ``n``-th user of a phase."""
    if KINDS[kind][0] != "vent":
        return KINDS[kind][1]
    days = 3 + n % 20
    return f"{_VENT_WHEN[n // 20 % 5]}{_VENT_WHAT[n // 100 % 5]}，连着{days}天了{_VENT_FEEL[n // 500 % 5]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


@dataclass
class Figures:
    acks_per_s: float = 0.0
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    reply_p50_s: float = float("nan")
    reply_p99_s: float = float("nan")
    drain_s: float = float("nan")
    processed_s: float = float("nan")  # the inbound backlog: last event processed, after the load stopped
    e2e_per_s: float = float("nan")
    commits_per_msg: float = float("nan")
    pg_commits_per_msg: float = float("nan")  # both phases, PostgreSQL's count against the bot's (bot_commits_ab)
    bot_commits_ab: float = float("nan")
    grouped_share: float = float("nan")  # phase A's events worked off several to a transaction
    accept_writes: tuple[float, float, float] = (float("nan"),) * 3  # phase A: writes, events per write, mean ms
    timeline: list[int] = field(default_factory=list)  # phase A's events finished in each second from its start
    load_s: float = float("nan")  # phase A's load, first callback to the last acknowledgement
    loop_lag_ms: float = float("nan")
    # per phase (start-up until ready / first reply / phase A / phase B): max loop lag, longest full-GC pause
    lag_phases_ms: tuple[float, ...] = (float("nan"),) * 4
    gc2_phases_ms: tuple[float, ...] = (float("nan"),) * 4
    stalls: int = 0
    rss_mb: float = float("nan")
    helper_rss_mb: float = 0.0  # the event helper process(es), [engine] event_processes (0: none)
    helper_share: float = 0.0  # phase A's events the helpers worked off
    ready_s: float = float("nan")
    first_nlp_s: float = float("nan")
    half_rate: float = float("nan")
    half_p50_s: float = float("nan")
    half_p99_s: float = float("nan")
    half_split: tuple[float, float, float, float] = (float("nan"),) * 4  # processing p50/p99, outbox wait p50/p99
    half_holds: tuple[float, float] = (float("nan"),) * 2  # phase B: event workers held back for acceptances, times / s
    missing_replies: int = 0
    sends: int = 0  # messages the bot sent during phase A (to the askers and to others)
    api_calls: int = 0  # message/send calls they took (identical texts go to many users per call)
    min_calls: int = 0  # the fewest calls those messages could take: one per distinct content (per 1,000 people)
    profile: list[str] = field(default_factory=list)
    processes: int = 1  # bot processes sharing the database (--processes)
    log: list[str] = field(default_factory=list)  # the bot's warnings and errors, counted by kind
    steal: float = float("nan")  # share of the machine's CPU time the hypervisor gave to others meanwhile


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs from /proc/stat (None elsewhere than Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_share(start: tuple[int, int] | None) -> float:
    """Share of CPU time stolen by the hypervisor since ``start`` (a virtual machine shares its host:
    runs with a large share are disturbed from outside, whatever the code does)."""
    end = cpu_ticks()
    if start is None or end is None or end[1] <= start[1]:
        return float("nan")
    return (end[0] - start[0]) / (end[1] - start[1])


async def post_all(url: str | list[str], calls: list[Signed], concurrency: int) -> tuple[list[float], list[float], float]:
    """Closed loop: ``concurrency`` senders post every call once (call i to ``url[i % len(url)]`` when
    several). Returns (send times, ack latencies, elapsed)."""
    urls = [url] if isinstance(url, str) else url
    sent_at = [0.0] * len(calls)
    acks = [0.0] * len(calls)
    idx = iter(range(len(calls)))
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=60)) as http:
        async def sender() -> None:
            for i in idx:
                c = calls[i]
                t0 = time.time()
                sent_at[i] = t0
                async with http.post(urls[i % len(urls)], params=c.query, data=c.body) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"callback answered {resp.status}")
                acks[i] = time.time() - t0

        start = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return sent_at, acks, elapsed


async def post_at_rate(url: str | list[str], calls: list[Signed], rate: float) -> list[float]:
    """Open loop: one call every 1/rate seconds, whatever the answers (call i to ``url[i % len(url)]``).
    Returns send times."""
    urls = [url] if isinstance(url, str) else url
    sent_at = [0.0] * len(calls)
    conn = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=60)) as http:
        async def one(i: int) -> None:
            sent_at[i] = time.time()
            async with http.post(urls[i % len(urls)], params=calls[i].query, data=calls[i].body) as resp:
                await resp.read()

        tasks = []
        start = time.perf_counter()
        for i in range(len(calls)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return sent_at


def reply_latencies(emulator: WeComEmulator, users: list[str], sent_at: list[float]) -> tuple[list[float], int]:
    """For each callback (one per user in a phase), the first message the user got after it."""
    out, missing = [], 0
    for user, t in zip(users, sent_at, strict=True):
        after = [s.at for s in emulator.seen.get(user, []) if s.at >= t]
        if after:
            out.append(min(after) - t)
        else:
            missing += 1
    return out, missing


async def wait_for_replies(emulator: WeComEmulator, users: list[str], sent_at: list[float], limit_s: float) -> float:
    """Seconds until every user has a reply after their callback (bounded by ``limit_s``)."""
    t0 = time.time()
    pending = set(range(len(users)))
    while pending and time.time() - t0 < limit_s:
        pending = {i for i in pending if not any(s.at >= sent_at[i] for s in emulator.seen.get(users[i], []))}
        if pending:
            await asyncio.sleep(0.05)
    return time.time() - t0


async def scrape(port: int | list[int]) -> dict[str, float]:
    """The bot's /metrics (over several processes: :func:`merge_metrics`)."""
    bodies = []
    for one in [port] if isinstance(port, int) else port:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{one}/metrics") as resp:
            bodies.append(await resp.text())
    return merge_metrics(bodies)


def merge_metrics(bodies: list[str]) -> dict[str, float]:
    """Prometheus text from one or more processes: counters (``*_total``) summed, the rest (loop lag,
    GC pauses, RSS) the largest."""
    out: dict[str, float] = {}
    for body in bodies:
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                v = float(value)
                total = name.partition("{")[0].endswith("_total")
                out[name] = out.get(name, 0.0) + v if total else max(out.get(name, v), v)
    return out


async def wait_ready(port: int, proc: subprocess.Popen[bytes] | None, limit_s: float = 120) -> float:
    t0 = time.time()
    async with aiohttp.ClientSession() as http:
        while time.time() - t0 < limit_s:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError("the server process exited during start-up")
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    if resp.status == 200:
                        return time.time() - t0
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server never became ready")


def pg_commits(url: str) -> int:
    name = url.rsplit("/", 1)[1]
    eng = create_engine(PG_ADMIN_URL)
    with eng.connect() as c:
        n = c.execute(text("select xact_commit from pg_stat_database where datname = :n"), {"n": name}).scalar()
    eng.dispose()
    return int(n or 0)


def phase_split(url: str, since: float) -> tuple[tuple[float, float, float, float], list[str]]:
    """Where a reply's time went, for the events received after ``since``: processing (received ->
    done) p50/p99 and the reply's wait in the outbox (queued -> sent) p50/p99, in seconds, read
    from the bot's own tables; and the slowest replies, one line each, for the caller to print."""
    from datetime import datetime, timezone

    from sqlalchemy import select

    from storage.db import open_database
    from storage.models import InboundEvent, OutboxMessage
    from storage.outbox import REPLY

    t0 = datetime.fromtimestamp(since, timezone.utc)
    db = open_database(url)
    try:
        with db.session() as s:
            events = s.execute(select(InboundEvent.received_at, InboundEvent.processed_at)
                               .where(InboundEvent.received_at >= t0)).all()
            replies = s.execute(select(OutboxMessage.created_at, OutboxMessage.sent_at, OutboxMessage.claimed_at,
                                       OutboxMessage.attempts, OutboxMessage.last_error, OutboxMessage.recipient)
                                .where(OutboxMessage.created_at >= t0, OutboxMessage.priority == REPLY)).all()
    finally:
        db.dispose()
    proc = [(b - a).total_seconds() for a, b in events if b is not None]
    wait = [(r.sent_at - r.created_at).total_seconds() for r in replies if r.sent_at is not None]
    # The tail, row by row: a reply that waited long - was it claimed late (queue) or claimed and then
    # retried (attempts, last error)?
    slow = sorted((r for r in replies if r.sent_at is not None and (r.sent_at - r.created_at).total_seconds() > 1.0),
                  key=lambda r: r.sent_at - r.created_at, reverse=True)
    lines = ["    slow reply: waited {:.2f} s (claimed after {:.2f} s), attempts {}, last error {!r}".format(
        (r.sent_at - r.created_at).total_seconds(),
        (r.claimed_at - r.created_at).total_seconds() if r.claimed_at else float("nan"), r.attempts, r.last_error)
        for r in slow[:8]]
    return (pct(proc, 0.5), pct(proc, 0.99), pct(wait, 0.5), pct(wait, 0.99)), lines


def processed_events(url: str, since: float) -> list[tuple[float, float]]:
    """(received, processed) in epoch seconds of every inbound event received since ``since`` (epoch
    seconds) that the bot has finished: when the backlog was done, and how fast it was worked off."""
    from datetime import datetime, timezone

    from sqlalchemy import select

    from storage.db import open_database
    from storage.models import InboundEvent

    def epoch(d: datetime) -> float:
        return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp()

    db = open_database(url)
    try:
        with db.session() as s:
            rows = s.execute(select(InboundEvent.received_at, InboundEvent.processed_at)
                             .where(InboundEvent.received_at >= datetime.fromtimestamp(since, timezone.utc),
                                    InboundEvent.processed_at.is_not(None))).all()
    finally:
        db.dispose()
    return [(epoch(r), epoch(p)) for r, p in rows]


def per_second(events: list[tuple[float, float]], start: float) -> list[int]:
    """How many of the events received since ``start`` were finished in each second after ``start``."""
    seconds = [int(p - start) for r, p in events if r >= start]
    counts = [0] * (max(seconds, default=-1) + 1)
    for sec in seconds:
        counts[max(0, sec)] += 1
    return counts


def make_pg_database() -> str:
    name = f"perfbot_bench_{uuid.uuid4().hex[:8]}"
    eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    eng.dispose()


OURS = re.compile(r"\((?:.*/)?(?:bot|storage|handlers|scheduler|nlp)/[^/]*\.py|\((?:.*/)?bot/channels/")


def summarise_log(path: Path, top: int = 8) -> list[str]:
    """The bot's log lines of WARNING and above, grouped by level, logger and message shape (digits,
    ids and quoted values blanked), most frequent first: what went wrong during the run, if anything."""
    shapes: collections.Counter[str] = collections.Counter()
    line_re = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b\s+([^\s:]+):?\s+(.*)")
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = line_re.search(raw)
        if m:
            msg = re.sub(r"'[^']*'|\"[^\"]*\"|\d+(\.\d+)?", "…", m.group(3))[:110]
            shapes[f"{m.group(1)} {m.group(2)} {msg}"] += 1
    if not shapes:
        return ["bot log: no warnings or errors"]
    return [f"bot log: {sum(shapes.values())} warnings/errors"] + [f"  {n:>6} × {k}" for k, n in shapes.most_common(top)]


def summarise_stalls(path: Path, top: int = 6) -> list[str]:
    """Where the loop was when it stalled (the bot's stall watchdog logs the loop thread's stack):
    per stall, its length and the innermost frames, most frequent places first."""
    text = path.read_text(encoding="utf-8", errors="replace")
    places: collections.Counter[str] = collections.Counter()
    worst: dict[str, float] = {}
    for m in re.finditer(r"event loop stalled for (\d+) ms so far; the loop thread is at:\n((?:  File .*\n(?:    .*\n)?)+)", text):
        frames = re.findall(r'  File "([^"]+)", line (\d+), in (\S+)', m.group(2))
        inner = " < ".join(f"{Path(f).name}:{ln} {fn}" for f, ln, fn in reversed(frames[-4:]))
        places[inner] += 1
        worst[inner] = max(worst.get(inner, 0.0), float(m.group(1)))
    if not places:
        return []
    return ["loop stalls (innermost frames first; count, longest seen):"] + [
        f"  {n:>4} × {worst[k]:>5.0f} ms  {k}" for k, n in places.most_common(top)]


def summarise_profile(raw: Path, top: int = 12) -> list[str]:
    """py-spy raw (collapsed) stacks → share of samples by where the time goes."""
    if not raw.exists():
        return ["(no profile written)"]
    total = 0
    by_thread: collections.Counter[str] = collections.Counter()
    buckets: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    loop_db: collections.Counter[str] = collections.Counter()  # database work on the serving loop, by our caller
    worker_ours: collections.Counter[str] = collections.Counter()  # event workers' time, by our outermost handler frame
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        thread = frames[0]
        on_loop = "MainThread" in thread or "process " in thread and "events-" not in stack
        by_thread["serving loop" if on_loop else "event workers" if "events-" in thread
                  else "db pool" if "db_" in thread else "acceptance thread" if "db-accept" in thread
                  else "other threads"] += n
        joined = stack
        if "sqlalchemy" in joined or "psycopg" in joined or "sqlite3" in joined:
            buckets["database (SQLAlchemy/driver)"] += n
        elif "/nlp/" in joined or "jieba" in joined:
            buckets["NLP"] += n
        elif "aiohttp" in joined or "wechatpy" in joined or "cryptography" in joined:
            buckets["HTTP and crypto"] += n
        elif "select (" in frames[-1] or "wait (" in frames[-1] or "get (queue" in frames[-1]:
            buckets["idle / waiting"] += n
        else:
            buckets["other Python"] += n
        leaf[re.sub(r"\s+\(.*", "", frames[-1])] += n
        if "events-" in thread:
            ours = [f for f in frames if OURS.search(f) and "bot/engine.py" not in f and "bot/dispatch.py" not in f
                    and "bot/routing.py" not in f]
            worker_ours[re.sub(r"\s+\((?:.*/)?", " (", ours[0]) if ours else "(engine, dispatch, routing)"] += n
        if on_loop and ("sqlalchemy" in joined or "sqlite3" in joined or "psycopg" in joined):
            ours = [f for f in frames if OURS.search(f)]
            loop_db[ours[-1] if ours else frames[-1]] += n
    if not total:
        return ["(no samples)"]
    lines = ["where the samples were (all threads):"]
    lines += [f"  {k:<32} {100 * v / total:5.1f}%" for k, v in buckets.most_common()]
    lines += ["by thread:"] + [f"  {k:<32} {100 * v / total:5.1f}%" for k, v in by_thread.most_common()]
    if loop_db:
        lines += ["database work ON the serving loop, by our innermost caller:"]
        lines += [f"  {k[:70]:<70} {100 * v / total:5.1f}%" for k, v in loop_db.most_common(6)]
    if worker_ours:
        lines += ["event workers' time, by the handler or store function it was in:"]
        lines += [f"  {k[:70]:<70} {100 * v / total:5.1f}%" for k, v in worker_ours.most_common(10)]
    lines += ["top leaf functions:"] + [f"  {k[:60]:<60} {100 * v / total:5.1f}%" for k, v in leaf.most_common(top)]
    return lines


PG_STATS_DELAY_S = 11  # PostgreSQL flushes an idle backend's statistics within 10 s
PROFILE_MODE = {"gil": False, "load": False}  # --profile-gil, --profile-load
ENGINE: dict[str, str] = {}  # --engine key=value: [engine] settings of the bot under test (default: the product's)
# Without --with-jobs every scheduled job is moved to New Year's midnight: a start catches up whatever
# fell due in the last 24 hours (on a Monday morning the four weekly scans, on a Friday evening the
# check-in push to everyone), which then ran beside phase A and made a run depend on the hour it began.
JOB_CRONS = ("checkin_cron", "visit_summary_cron", "risk_digest_cron", "escalation_scan_cron", "alert_scan_cron",
             "battle_map_cron", "directory_sync_cron", "retention_cron")
WITH_JOBS = [False]
STALL_LOG_MS = 150  # the bot under test logs where its loop is when it stalls this long ([server] stall_log_ms)
APP_CALLS_PER_MINUTE = 6000  # the product's default WeCom app budget (bot/config.py), used by the bot here


def bot_config(url: str, api_base: str, engine: dict[str, str], with_jobs: bool) -> str:
    """The bot under test's configuration, with ``port = PORT`` for each process to fill in."""
    return (
        f'[server]\nhost = "127.0.0.1"\nport = PORT\nstall_log_ms = {STALL_LOG_MS}\n\n[storage]\nurl = "{url}"\n\n'
        f'[wecom]\ncorp_id = "{CORP_ID}"\nagent_id = 1000002\nsecret = "emulator-secret"\n'
        f'token = "{TOKEN}"\nencoding_aes_key = "{AES_KEY}"\napi_base = "{api_base}"\n'
        f"per_user_per_minute = 1000\nper_user_per_hour = 10000\n"
        f"app_calls_per_minute = {APP_CALLS_PER_MINUTE}\n"
        + ("\n[engine]\n" + "".join(f"{k} = {v}\n" for k, v in engine.items()) if engine else "")
        + ("" if with_jobs else "\n[schedule]\n" + "".join(f'{k} = "0 0 1 1 *"\n' for k in JOB_CRONS)))


class Rig:
    """One database's run: the org, the emulator, the bot process(es): ``processes`` of them sharing
    the database (PostgreSQL), each on its own port."""

    def __init__(self, db: str, users: int, tmp: Path, keep_log: Path | None = None, processes: int = 1) -> None:
        self.db, self.n_users, self.tmp, self.keep_log = db, users, tmp, keep_log
        self.url = f"sqlite:///{tmp / 'bench.db'}" if db == "sqlite" else make_pg_database()
        self.emulator = WeComEmulator(corp_id=CORP_ID)
        self.emulator.per_user_per_minute = 1000
        self.proc: subprocess.Popen[bytes] | None = None  # the first process (profiled with --profile)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports = [free_port() for _ in range(max(1, processes))]
        self.port = self.ports[0]
        self.log: Any = None  # the processes' shared log, once they are started

    def callback_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/wecom/callback" for port in self.ports]

    async def start(self) -> float:
        api_base = await self.emulator.start()
        users = write_org(self.tmp / "org", self.n_users, date.today())
        self.users = users
        self.emulator.users = set(users) | {f"wx_m{t:05d}" for t in range(self.n_users // 10 + 1)} | {"wx_h0001"}
        template = bot_config(self.url, api_base, dict(ENGINE), WITH_JOBS[0])
        cfg = self.tmp / "bench.toml"  # the first process's (the import and the scripts use it)
        cfg.write_text(template.replace("port = PORT", f"port = {self.port}"), encoding="utf-8")
        self.cfg = cfg
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg), "--log-level", "WARNING", "import",
                        str(self.tmp / "org")], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        self.log = open(self.tmp / "bot.log", "wb")  # noqa: SIM115 - closed in stop(); shared by the processes
        t0 = time.time()
        for port in self.ports:
            one = self.tmp / f"bench-{port}.toml"
            one.write_text(template.replace("port = PORT", f"port = {port}"), encoding="utf-8")
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(one), "--log-level", "WARNING", "serve"],
                cwd=REPO, env=env, stdout=self.log, stderr=self.log))
        self.proc = self.procs[0]
        for port, proc in zip(self.ports, self.procs, strict=True):
            await wait_ready(port, proc)
        return time.time() - t0

    async def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                # Off this loop: the emulator serving the bot's last calls runs on it. (A blocking wait
                # froze it, so every stop waited out the outbox worker's 10 s grace for calls that
                # could not be answered, and the log showed a round still in flight.)
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.log is not None:  # None: start failed before the processes (e.g. a rejected setting)
            self.log.close()
        if self.keep_log is not None and (self.tmp / "bot.log").exists():
            self.keep_log.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.tmp / "bot.log", self.keep_log / f"bot-{self.db}.log")
            if (self.tmp / "profile.txt").exists():
                shutil.copy(self.tmp / "profile.txt", self.keep_log / f"profile-{self.db}.txt")
        await self.emulator.stop()
        if self.db != "sqlite":
            drop_pg_database(self.url)


def sign_calls(emulator: WeComEmulator, users: list[str], offset: int) -> list[Signed]:
    driver = CallbackDriver("http://unused", emulator, TOKEN, AES_KEY, now=time.time)
    return [driver.sign(driver.text_xml(u, text_of((i + offset) % len(KINDS), i)))
            for i, u in enumerate(users)]


async def bench_bot(db: str, users: int, messages: int, concurrency: int, profile: bool,
                    keep_log: Path | None = None, processes: int = 1) -> Figures:
    f = Figures()
    f.processes = processes
    with tempfile.TemporaryDirectory() as tmpdir:
        rig = Rig(db, users, Path(tmpdir), keep_log, processes)
        try:
            f.ready_s = await rig.start()
            lag_start, gc_start = _windows(await scrape(rig.ports))  # until ready: models loading on a thread
            # The first free-text message after the start (needs the NLP models): callback to reply.
            first_user = rig.users[-1]
            first = sign_calls(rig.emulator, [first_user], 4)
            t_first, _, _ = await post_all(f"http://127.0.0.1:{rig.port}/wecom/callback", first, 1)
            await wait_for_replies(rig.emulator, [first_user], t_first, 60)
            lat_first, _ = reply_latencies(rig.emulator, [first_user], t_first)
            f.first_nlp_s = lat_first[0] if lat_first else float("nan")
            if not f.first_nlp_s < 1.0:  # where a slow first reply spent its time
                for _ in range(50):  # the emulator can see the reply before the worker records sent_at
                    (fp50, fp99, fw50, fw99), slow = phase_split(rig.url, min(t_first) - 1)
                    if fw99 == fw99:  # not nan: the reply's row is marked sent
                        break
                    await asyncio.sleep(0.1)
                for line in slow:
                    print(line)
                print(f"    slow first NLP reply: processing {fp99:.2f} s, outbox wait {fw99:.2f} s")
            phase_users = rig.users[:messages]
            calls = sign_calls(rig.emulator, phase_users, 0)
            before = await scrape(rig.ports)
            pg_before = pg_commits(rig.url) if db != "sqlite" else 0
            spy = None
            if profile and shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
                f.profile = ["(py-spy not installed: pip install py-spy)"]
            elif profile and rig.proc is not None:
                spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                spy = subprocess.Popen([spy_bin, "record", "--pid", str(rig.proc.pid), "--format", "raw",
                                        "--rate", "200", "--threads", "--nonblocking", "-o",
                                        str(rig.tmp / "profile.txt"), *(["--gil"] if PROFILE_MODE["gil"] else [])],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            calls_before = len(rig.emulator.api_calls)
            seen_before = sum(len(v) for v in rig.emulator.seen.values())
            ticks = cpu_ticks()
            sent_at, acks, elapsed = await post_all(rig.callback_urls(), calls, concurrency)
            load_end = time.time()
            if spy is not None and PROFILE_MODE["load"]:
                spy.send_signal(2)  # the samples cover the load only: the accepting path, not the drain
            await wait_for_replies(rig.emulator, phase_users, sent_at, 300)
            f.steal = steal_share(ticks)  # phase A: the load and the drain
            lat, f.missing_replies = reply_latencies(rig.emulator, phase_users, sent_at)
            last = max((sent_at[i] + x for i, x in enumerate(lat)), default=load_end)
            events = processed_events(rig.url, min(sent_at) - 1)
            f.processed_s = max(0.0, max((p for _, p in events), default=float("nan")) - load_end)
            f.timeline = per_second(events, min(sent_at))
            f.load_s = load_end - min(sent_at)
            f.api_calls = len(rig.emulator.api_calls) - calls_before
            f.min_calls = fewest_calls(rig.emulator.api_calls[calls_before:])
            f.sends = sum(len(v) for v in rig.emulator.seen.values()) - seen_before
            if spy is not None:
                spy.send_signal(2)
                try:
                    spy.wait(30)
                except subprocess.TimeoutExpired:
                    spy.kill()
                f.profile = summarise_profile(rig.tmp / "profile.txt")
            after = await scrape(rig.ports)
            f.acks_per_s = len(calls) / elapsed
            f.ack_p50_ms, f.ack_p99_ms = statistics.median(acks) * 1000, pct(acks, 0.99) * 1000
            f.reply_p50_s, f.reply_p99_s = pct(lat, 0.5), pct(lat, 0.99)
            f.drain_s = max(0.0, last - load_end)
            f.e2e_per_s = len(calls) / max(1e-9, last - min(sent_at))
            f.commits_per_msg = (commits(after) - commits(before)) / len(calls)
            f.helper_share = (after.get('perfbot_event_helper_events_total{where="helper"}', 0.0)
                              - before.get('perfbot_event_helper_events_total{where="helper"}', 0.0)) / len(calls)
            writes = after.get("perfbot_accept_writes_total", 0.0) - before.get("perfbot_accept_writes_total", 0.0)
            f.accept_writes = (writes, (after.get("perfbot_accept_events_total", 0.0)
                                        - before.get("perfbot_accept_events_total", 0.0)) / max(1.0, writes),
                               (after.get("perfbot_accept_write_seconds_total", 0.0)
                                - before.get("perfbot_accept_write_seconds_total", 0.0)) / max(1.0, writes) * 1000)
            f.grouped_share = (after.get("perfbot_event_grouped_total", 0.0)
                               - before.get("perfbot_event_grouped_total", 0.0)) / len(calls)
            f.loop_lag_ms = after['perfbot_event_loop_lag_seconds{window="since_start"}'] * 1000
            lag_a, gc_a = _windows(after)
            f.rss_mb = after["process_resident_memory_bytes"] / 2**20
            # Phase B: open loop at half the end-to-end rate the bot just reached.
            f.half_rate = f.e2e_per_s / 2
            n_b = min(len(rig.users), max(50, int(f.half_rate * 10)))
            b_users = rig.users[:n_b]
            calls_b = sign_calls(rig.emulator, b_users, 1)
            t_b = time.time()
            sent_b = await post_at_rate(rig.callback_urls(), calls_b, f.half_rate)
            await wait_for_replies(rig.emulator, b_users, sent_b, 120)
            lat_b, _ = reply_latencies(rig.emulator, b_users, sent_b)
            f.half_p50_s, f.half_p99_s = pct(lat_b, 0.5), pct(lat_b, 0.99)
            f.half_split, slow = phase_split(rig.url, t_b)
            for line in slow:
                print(line)
            end = await scrape(rig.ports)
            f.half_holds = (end.get("perfbot_accept_first_waits_total", 0.0) - after.get("perfbot_accept_first_waits_total", 0.0),
                            end.get("perfbot_accept_first_wait_seconds_total", 0.0)
                            - after.get("perfbot_accept_first_wait_seconds_total", 0.0))
            f.loop_lag_ms = end['perfbot_event_loop_lag_seconds{window="since_start"}'] * 1000
            lag_b, gc_b = _windows(end)
            lag_0, gc_0 = _windows(before)
            f.lag_phases_ms, f.gc2_phases_ms = (lag_start, lag_0, lag_a, lag_b), (gc_start, gc_0, gc_a, gc_b)
            f.stalls = int(end.get("perfbot_event_loop_stalls_total", 0))
            if db != "sqlite":
                # PostgreSQL's own count, over both phases: an idle backend reports its statistics up to
                # PG_STATS_DELAY_S late (the acceptance connections go idle when the load stops).
                await asyncio.sleep(PG_STATS_DELAY_S)
                settled = await scrape(rig.ports)
                msgs = len(calls) + len(calls_b)
                f.pg_commits_per_msg = (pg_commits(rig.url) - pg_before) / msgs
                f.bot_commits_ab = (commits(settled) - commits(before)) / msgs
            f.rss_mb = end["process_resident_memory_bytes"] / 2**20
            f.helper_rss_mb = end.get("perfbot_event_helper_resident_memory_bytes", 0.0) / 2**20
        finally:
            await rig.stop()
            if (rig.tmp / "bot.log").exists():
                f.log = summarise_log(rig.tmp / "bot.log") + summarise_stalls(rig.tmp / "bot.log")
    return f


def commits(scraped: dict[str, float]) -> float:
    """Transactions the bot committed: the serving process's and its event helpers'."""
    return scraped["perfbot_db_commits_total"] + scraped.get("perfbot_event_helper_db_commits_total", 0.0)


def _windows(scraped: dict[str, float]) -> tuple[float, float]:
    """Max loop lag and longest full (generation 2) GC pause since the previous scrape, in ms."""
    return (scraped.get('perfbot_event_loop_lag_seconds{window="since_last_scrape"}', float("nan")) * 1000,
            scraped.get('perfbot_gc_pause_seconds{generation="2",window="since_last_scrape"}', float("nan")) * 1000)


async def bench_bare(users: int, messages: int, concurrency: int) -> Figures:
    f = Figures()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bare_wecom", str(port)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        await wait_ready(port, proc)
        emulator = WeComEmulator(corp_id=CORP_ID)
        names = [f"wx_u{i:06d}" for i in range(messages)]
        calls = sign_calls(emulator, names, 0)
        ticks = cpu_ticks()
        _, acks, elapsed = await post_all(f"http://127.0.0.1:{port}/wecom/callback", calls, concurrency)
        f.steal = steal_share(ticks)
        f.acks_per_s = len(calls) / elapsed
        f.ack_p50_ms, f.ack_p99_ms = statistics.median(acks) * 1000, pct(acks, 0.99) * 1000
    finally:
        proc.terminate()
        proc.wait(30)
    return f


def fewest_calls(api_calls: list[tuple[str, dict[str, Any]]]) -> int:
    """The fewest message/send calls these calls' messages could have taken: every identical content
    merged into one call per 1,000 people (WeCom's touser limit); a template card counts by its content
    without its task_id (a shared card can go to many people; a personal card's content is its own)."""
    people: dict[str, int] = {}
    cards = 0
    for path, body in api_calls:
        if path != "message/send":
            continue
        msgtype = body.get("msgtype")
        content = body.get(msgtype)
        if msgtype == "template_card" and isinstance(content, dict):
            content = {k: v for k, v in content.items() if k != "task_id"}
        elif msgtype not in ("text", "markdown"):
            cards += 1
            continue
        sig = json.dumps([msgtype, content], sort_keys=True, ensure_ascii=False)
        people[sig] = people.get(sig, 0) + len(str(body.get("touser", "")).split("|"))
    return cards + sum(-(-n // 1000) for n in people.values())


def report(db: str, bot: Figures, bare: Figures) -> None:
    print(f"\n== {db} ==")
    print(f"{'':<28}{'acks/s':>9}{'ack p50':>10}{'ack p99':>10}")
    print(f"{'bare handler':<28}{bare.acks_per_s:>9.0f}{bare.ack_p50_ms:>8.1f}ms{bare.ack_p99_ms:>8.1f}ms")
    label = "bot" if bot.processes == 1 else f"bot ({bot.processes} processes)"
    print(f"{label:<28}{bot.acks_per_s:>9.0f}{bot.ack_p50_ms:>8.1f}ms{bot.ack_p99_ms:>8.1f}ms")
    print(f"bot / bare (acks/s)          {bot.acks_per_s / bare.acks_per_s:.2f}")
    print(f"host CPU steal               bare {bare.steal:.1%}, bot phase A {bot.steal:.1%} (CPU time the "
          "hypervisor gave to other machines: a large share means the run was disturbed from outside)")
    print(f"end-to-end (reply at WeCom)  {bot.e2e_per_s:.0f} msg/s; reply p50 {bot.reply_p50_s:.2f} s, "
          f"p99 {bot.reply_p99_s:.2f} s; missing replies {bot.missing_replies}")
    print(f"backlog drained              {bot.drain_s:.2f} s after the load stopped (last reply at WeCom); "
          f"inbound events all processed {bot.processed_s:.2f} s after; the budget alone needs "
          f"{bot.api_calls / (APP_CALLS_PER_MINUTE / 60):.1f} s for phase A's calls")
    print(f"events processed per second  {' '.join(str(n) for n in bot.timeline)} (from the load's start; "
          f"the load lasted {bot.load_s:.1f} s)")
    print(f"platform calls (phase A)     {bot.api_calls} calls for {bot.sends} messages "
          f"(WeCom budget [wecom] app_calls_per_minute {APP_CALLS_PER_MINUTE} = {APP_CALLS_PER_MINUTE / 60:.0f}/s); "
          f"at least {bot.min_calls} even if every identical text merged ({bot.min_calls / (APP_CALLS_PER_MINUTE / 60):.1f} s "
          "of budget)")
    print(f"at half that rate ({bot.half_rate:.0f}/s)   reply p50 {bot.half_p50_s:.2f} s, p99 {bot.half_p99_s:.2f} s")
    print("  of which processing p50 {:.2f} s, p99 {:.2f} s; reply's outbox wait p50 {:.2f} s, p99 {:.2f} s"
          .format(*bot.half_split))
    print("  event workers held back for acceptances meanwhile: {:.0f} times, {:.1f} s in all".format(*bot.half_holds))
    pg = (f"; both phases: bot {bot.bot_commits_ab:.2f}, PostgreSQL xact_commit {bot.pg_commits_per_msg:.2f}"
          if db != "sqlite" else "")
    helper = f", its event helper {bot.helper_share:.0%} of the events" if bot.helper_rss_mb else ""
    print(f"commits per message          {bot.commits_per_msg:.2f} (bot process, all threads{helper}){pg}; "
          f"{bot.grouped_share:.0%} of the events worked off several to a transaction in the serving process")
    print("acceptance writes (phase A)  {:.0f}, {:.1f} events each, {:.2f} ms each on average (what an acknowledgement "
          "waits for)".format(*bot.accept_writes))
    print(f"max event-loop lag           {bot.loop_lag_ms:.1f} ms (until ready / first reply / phase A / phase B: "
          + " / ".join(f"{v:.0f}" for v in bot.lag_phases_ms) + " ms)")
    print("longest full-GC pause        " + " / ".join(f"{v:.0f}" for v in bot.gc2_phases_ms)
          + f" ms (same phases); loop stalls over {STALL_LOG_MS} ms logged with their stack: {bot.stalls}")
    each = "" if bot.processes == 1 else " (the largest process)"
    if bot.helper_rss_mb:
        each += f", its event helper {bot.helper_rss_mb:.0f} MB"
    print(f"RSS after the run            {bot.rss_mb:.0f} MB{each}; ready {bot.ready_s:.2f} s after start; "
          f"first NLP reply {bot.first_nlp_s:.2f} s")
    for line in bot.log + bot.profile:
        print(line)


async def main(users: int, messages: int, concurrency: int, dbs: list[str], profile: bool,
               keep_log: Path | None, processes: int = 1, runs: int = 1) -> None:
    messages = min(messages, users - 1)  # the last user sends the first message after the start
    print(f"{users} employees imported; {messages} callbacks per phase, each user once, kinds in rotation: "
          f"{', '.join(k for k, _ in KINDS)}; {concurrency} concurrent senders")
    for db in dbs:
        results = []
        for n in range(runs):
            bare = await bench_bare(users, messages, concurrency)
            bot = await bench_bot(db, users, messages, concurrency, profile, keep_log,
                                  processes if db == "postgresql" else 1)
            report(db if runs == 1 else f"{db}, run {n + 1} of {runs}", bot, bare)
            results.append((bot, bare))
        for line in targets.summary(db, results):
            print(line)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=2000, help="employees in the imported organisation")
    ap.add_argument("--messages", type=int, default=2000, help="callbacks per phase (at most one per user)")
    ap.add_argument("-c", type=int, default=32, help="concurrent senders")
    ap.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    ap.add_argument("--runs", type=int, default=1,
                    help="runs per database (bare and bot each time), then in how many each target was met")
    ap.add_argument("--processes", type=int, default=1,
                    help="bot processes sharing the PostgreSQL database, each on its own port (SQLite: always 1; "
                         "with several, no event helper processes unless --engine event_processes=N)")
    ap.add_argument("--profile", action="store_true", help="sample the bot with py-spy and print where time goes")
    ap.add_argument("--profile-gil", action="store_true",
                    help="with --profile: sample only the thread holding the interpreter lock (py-spy --gil)")
    ap.add_argument("--profile-load", action="store_true",
                    help="with --profile: stop sampling when the load stops (the accepting path, not the drain)")
    ap.add_argument("--keep-log", type=Path, help="copy each bot process's log (bot-<db>.log) and py-spy samples (profile-<db>.txt) here")
    ap.add_argument("--engine", action="append", default=[], metavar="KEY=VALUE",
                    help="an [engine] setting for the bot under test, e.g. sqlite_workers=1 (repeatable)")
    ap.add_argument("--with-jobs", action="store_true",
                    help="keep the product's job schedule (a start then catches up what fell due in the last 24 h)")
    args = ap.parse_args()
    ENGINE.update(kv.split("=", 1) for kv in args.engine)
    if args.processes > 1:
        # several serving processes on one machine use its cores themselves: as under `serve --processes
        # N`, they start no event helper processes (one each would put 2N bots on the cores)
        ENGINE.setdefault("event_processes", "0")
    WITH_JOBS[0] = args.with_jobs
    PROFILE_MODE.update(gil=args.profile_gil, load=args.profile_load)
    asyncio.run(main(args.users, args.messages, args.c, args.db.split(","), args.profile, args.keep_log,
                     args.processes, max(1, args.runs)))
