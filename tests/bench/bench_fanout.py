"""Benchmark: the Friday check-in push to a large organisation, built and delivered.

    python -m tests.bench.bench_fanout [--employees 10000] [--db sqlite,postgresql] [--no-deliver]
                                       [--platform wecom|dingtalk]

Imports an organisation of ``--employees`` people, runs ``checkin_push`` as of a Friday 16:00 and
prints: the time to build the queue (outbox rows, in chunks of ``[engine] fanout_chunk``), the
maximum event-loop lag while it was built (the serving loop must keep answering callbacks), then
the time to deliver everything to the WeCom emulator next to WeCom's own bound (10,000 calls per
minute per API per corp: personal cards are one call each) and the bot's own budget (``[wecom]
app_calls_per_minute``, of which a push leaves the replies' share unused). ``--platform dingtalk``
delivers through the DingTalk emulator instead (personal interactive cards, one call each) against
``[dingtalk] app_qps``: 20 calls/s by default, DingTalk's lowest edition, so 10,000 cards need about
10 minutes; ``--employees 2000`` measures the same rate in about two.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.app import PerfBot
from bot.clock import ManualClock
from bot.metrics import LoopLag
from scheduler.runs import run_job
from storage.db import open_database
from storage.importer import import_path
from storage.models import Employee, OutboxMessage
from tests.bench.bench_wecom import drop_pg_database, make_pg_database
from tests.bench.org import write_org
from tests.dingtalk.conftest import dingtalk_settings
from tests.emulators.dingtalk import DingTalkEmulator
from tests.emulators.wecom import WeComEmulator
from tests.wecom.conftest import CORP_ID, wecom_settings

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WECOM_CALLS_PER_MINUTE = 10_000


async def one(db_kind: str, employees: int, deliver: bool, platform: str = "wecom") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/fanout.db" if db_kind == "sqlite" else make_pg_database()
        if platform == "dingtalk":
            emulator = DingTalkEmulator()
            emulator.ping_interval = 30.0  # the real server pings; a silent socket trips the 90 s watchdog
            await emulator.start()
            settings = dingtalk_settings(url, emulator)
        else:
            emulator = WeComEmulator(corp_id=CORP_ID)
            emulator.per_user_per_minute = 1000
            settings = wecom_settings(url, await emulator.start())
        try:
            write_org(Path(tmp) / "org", employees, FRIDAY.date())
            db = open_database(url)
            import_path(db, Path(tmp) / "org")
            with db.session() as s:
                if platform == "wecom":
                    emulator.users = {u for u in s.execute(select(Employee.wecom_userid)).scalars() if u}
                people = s.execute(select(func.count()).select_from(Employee)
                                   .where(Employee.active, Employee.manager_id.is_not(None))).scalar()
            bot = PerfBot(settings, clock=ManualClock(FRIDAY), db=db, scheduler=False)
            await bot.start(workers=False)
            lag = LoopLag()
            lag.start()
            try:
                t0 = time.perf_counter()
                detail = await run_job(bot.services, "checkin_push", FRIDAY)
                build = time.perf_counter() - t0
                build_lag = lag.max_seconds
                with db.session() as s:
                    queued = s.execute(select(func.count()).select_from(OutboxMessage)).scalar()
                print(f"\n== {db_kind}, {platform}: {people} people ==")
                print(f"queue built        {build:6.2f} s  ({queued} rows; {detail})")
                print(f"max loop lag       {build_lag * 1000:6.1f} ms while building")
                if deliver:
                    t1 = time.perf_counter()
                    await bot.drain()
                    sent = time.perf_counter() - t1
                    print(f"delivered          {sent:6.2f} s  ({delivered(emulator, platform)} messages at the "
                          f"emulator; {bounds(bot, platform, queued)})")
                    print(f"max loop lag       {lag.max_seconds * 1000:6.1f} ms overall")
            finally:
                await lag.stop()
                await bot.stop()
                db.dispose()
        finally:
            await emulator.stop()
            if db_kind != "sqlite":
                drop_pg_database(url)


def delivered(emulator, platform: str) -> int:
    if platform == "dingtalk":
        return sum(len(v) for v in emulator.api.seen.values())
    return sum(len(v) for v in emulator.seen.values())


def bounds(bot: PerfBot, platform: str, queued: int) -> str:
    """The platform's own bound and the bot's budget for `queued` calls (personal cards: one call each)."""
    settings = bot.services.settings
    if platform == "dingtalk":
        limiter = bot.channels["dingtalk"].limiter
        qps = settings.dingtalk.app_qps
        platform_bound = (f"DingTalk's app QPS alone needs {queued / qps:.0f} s at the configured {qps}/s "
                          "(20-60 by edition)")
        budget = ""
    else:
        limiter = bot.channels["wecom"].outbound.limiter
        platform_bound = f"WeCom's corp cap alone needs {queued / WECOM_CALLS_PER_MINUTE * 60:.0f} s for {queued} calls"
        budget = f"{settings.wecom.app_calls_per_minute}/min "
    share = limiter.bulk_cap(0) / limiter.limit  # with no replies waiting, as here
    own = queued / (limiter.bulk_cap(0) / limiter.window)
    return f"{platform_bound}; the bot's own budget, {budget}of which a push may use {share:.0%}, {own:.0f} s"


async def main(employees: int, dbs: list[str], deliver: bool, platform: str) -> None:
    for kind in dbs:
        await one(kind, employees, deliver, platform)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--employees", type=int, default=10_000)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--no-deliver", action="store_true", help="only build the queue")
    ap.add_argument("--platform", choices=("wecom", "dingtalk"), default="wecom", help="deliver through this emulator")
    args = ap.parse_args()
    asyncio.run(main(args.employees, args.db.split(","), not args.no_deliver, args.platform))
