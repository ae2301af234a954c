"""Command line: ``python -m bot {serve,chat,demo,import,sync,jobs,eval,report,outbox}``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.redact import redact
from bot.supervisor import child_number  # stdlib only: nothing heavy for the short commands

log = logging.getLogger(__name__)


def _setup_logging(level: str = "INFO", to_file: str | None = None) -> None:
    handlers: list[logging.Handler] = []
    if to_file:
        Path(to_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(to_file, encoding="utf-8"))
    else:
        handlers.append(logging.StreamHandler(sys.stderr))
    node = f" [{child_number()}]" if child_number() else ""  # which serving process, under `serve --processes N`
    logging.basicConfig(level=level, format=f"%(asctime)s{node} %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)
    from bot.redact import install

    install()  # every log line passes through credential redaction
    logging.getLogger("jieba").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # nine INFO lines on every command otherwise


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="PerfBot (绩效助手)")
    p.add_argument("--config", help="path to a TOML config (default: config.toml, else config.example.toml)")
    p.add_argument("--log-level", default="INFO")
    sub = p.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve", help="run the HTTP server, enabled channels and the scheduler")
    sv.add_argument("--processes", type=int, metavar="N",
                    help="serving processes on the one port (default [server] processes, 1; several need PostgreSQL)")
    c = sub.add_parser("chat", help="talk to the bot in the terminal as an employee")
    c.add_argument("--as", dest="who", required=True, metavar="EMPLOYEE_ID")
    d = sub.add_parser("demo", help="create the demo organisation and open the terminal chat")
    d.add_argument("--as", dest="who", default="E101", metavar="EMPLOYEE_ID")
    d.add_argument("--no-chat", action="store_true", help="only seed the demo data")
    d.add_argument("--export", metavar="DIR", help="also write the demo data as CSV files to DIR")
    i = sub.add_parser("import", help="import CSV files (a folder) or one XLSX workbook")
    i.add_argument("path")
    i.add_argument("--dry-run", action="store_true", help="check every row and report, write nothing")
    sy = sub.add_parser("sync", help="sync from WeCom/DingTalk")
    sysub = sy.add_subparsers(dest="sync_cmd", required=True)
    sd = sysub.add_parser("directory", help="departments, people and managers from the platforms")
    sd.add_argument("--dry-run", action="store_true", help="show what would change, write and send nothing")
    j = sub.add_parser("jobs", help="list or run scheduled jobs")
    jsub = j.add_subparsers(dest="jobs_cmd", required=True)
    jsub.add_parser("list")
    jr = jsub.add_parser("run")
    jr.add_argument("name")
    jr.add_argument("--at", help="ISO datetime the run is as of (default now; no zone = company time zone)")
    e = sub.add_parser("eval", help="evaluate the NLP on a labelled JSONL file")
    esub = e.add_subparsers(dest="eval_cmd", required=True)
    from nlp.questions_eval import EVAL_MAP_HELP

    for name in ("replies", "questions"):
        ep = esub.add_parser(name, description=EVAL_MAP_HELP if name == "questions" else None)
        ep.add_argument("path")
        ep.add_argument("--json", action="store_true", help="print one JSON object")
    r = sub.add_parser("report", help="reports for HR")
    rsub = r.add_subparsers(dest="report_cmd", required=True)
    ra = rsub.add_parser("adjustments", help="target-adjustment decision times")
    ra.add_argument("--json", action="store_true")
    ral = rsub.add_parser("alerts", help="active early-warning alerts (attainment, baseline, work log, capacity)")
    ral.add_argument("--json", action="store_true")
    rau = rsub.add_parser("audit", help="who changed which goal target, when and why (goal_audit)")
    rau.add_argument("--goal", help="only this goal id")
    rau.add_argument("--json", action="store_true")
    o = sub.add_parser("outbox", help="inspect or flush the outbound queue")
    osub = o.add_subparsers(dest="outbox_cmd", required=True)
    osub.add_parser("stats")
    osub.add_parser("failures", help="rows that need a person: permanent failures and parked rows")
    osub.add_parser("drain", help="deliver everything due now, then exit")
    ort = osub.add_parser("retry", help="requeue parked messages (after an outage) so they are sent again")
    ort.add_argument("ids", nargs="*", type=int, metavar="ID", help="outbox row ids (see `outbox failures`)")
    ort.add_argument("--all", action="store_true", help="every parked message")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from bot.redact import protect

    protect(settings)
    chatty = args.cmd in ("chat", "demo")
    _setup_logging(args.log_level, to_file="var/perfbot.log" if chatty else None)
    if args.cmd == "serve":
        from bot.config import check_processes
        from bot.supervisor import Supervisor, serve_command

        if args.processes is not None:
            settings.server.processes = args.processes
        try:
            check_processes(settings)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        if settings.server.processes > 1 and not child_number():
            return Supervisor(serve_command(args.config, args.log_level), settings.server.processes).run()
    try:
        return asyncio.run(_run(args, settings))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if not isinstance(exc, OperationalError):  # a bug: keep the traceback
            raise
        print(f"cannot reach the database at {_safe_url(settings.storage.url)}: "
              f"{redact(str(exc.orig).splitlines()[0] if exc.orig else exc.__class__.__name__)}", file=sys.stderr)
        return 1


def _safe_url(url: str) -> str:
    """The storage URL without its password (for messages)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable storage.url>"


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    cmd = args.cmd
    if cmd == "eval":
        return _eval(args)
    if cmd == "serve":
        return await _serve(settings)
    if cmd in ("chat", "demo"):
        return await _chat(args, settings)
    if cmd == "import":
        from storage.db import open_database
        from storage.importer import ImportPathError, import_path

        try:
            report = import_path(open_database(settings.storage.url), Path(args.path), settings.schedule.tz,
                                 dry_run=args.dry_run)
        except ImportPathError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(report.summary())
        return 0 if not report.errors else 1
    if cmd == "jobs":
        return await _jobs(args, settings)
    if cmd == "sync":
        return await _sync(args, settings)
    if cmd == "report":
        from storage.db import open_database
        db = open_database(settings.storage.url)
        if args.report_cmd == "alerts":
            from handlers.alerts.report import alerts_report
            result = alerts_report(db, settings.schedule.tz)
        elif args.report_cmd == "audit":
            from handlers.adjust.audit import audit_report
            result = audit_report(db, settings.schedule.tz, args.goal)
        else:
            from handlers.adjust.report import adjustment_report
            result = adjustment_report(db)
        print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else result["text"])
        return 0
    if cmd == "outbox":
        return await _outbox(args, settings)
    return 2


def _eval(args: argparse.Namespace) -> int:
    if not Path(args.path).exists():
        print(f"file not found: {args.path}", file=sys.stderr)
        return 2
    if args.eval_cmd == "replies":
        from nlp.evaluate import eval_replies, format_replies_report

        result = eval_replies(args.path)
        print(json.dumps(result, ensure_ascii=False) if args.json else format_replies_report(result))
    else:
        from nlp.questions_eval import eval_questions, format_questions_report

        result = eval_questions(args.path)
        print(json.dumps(result, ensure_ascii=False) if args.json else format_questions_report(result))
    return 0


async def _serve(settings: Settings) -> int:
    # Start-up allocates millions of long-lived objects (modules, models, dictionaries) and no
    # garbage worth collecting: the cyclic collector stays off until PerfBot.start has loaded the
    # models and frozen them (a fifth of the imports' time went to collections that found nothing).
    gc.disable()
    from bot.event_process import helper_processes, prespawn

    node = child_number()
    # Event helper processes use the other cores (under `serve --processes N` the serving processes
    # do); they start first and load their models while this process imports and loads its own.
    helpers = 0 if node else helper_processes(settings)
    early = prespawn(settings, helpers)
    from bot.app import PerfBot

    bot = PerfBot(settings, event_helpers=helpers, prespawned=early)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if node > 1 and "dingtalk" in bot.channels:
        # DingTalk asks for one Stream client per app (protocols.md B3): the first serving process
        # listens, every process sends
        bot.channels["dingtalk"].listens = False
    await bot.serve_http(reuse_port=node > 0)
    await bot.start()
    if not bot.channels:
        log.warning("no platform channel is configured: serving /healthz and the scheduler only. "
                    "Use `python -m bot chat --as ID` to talk to the bot in the terminal.")
    await stop.wait()
    log.info("shutting down")
    await bot.stop()
    return 0


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import PerfBot
    from bot.channels.terminal import TerminalChannel
    from bot.chat import run_chat
    from bot.clock import OffsetClock
    from storage.db import open_database

    greeting = ""
    db = open_database(settings.storage.url)
    if args.cmd == "demo":
        from bot.demo import seed_demo

        summary = seed_demo(db, settings, export_dir=Path(args.export) if args.export else None)
        print(summary)
        if args.no_chat:
            return 0
        greeting = "演示数据已就绪。"
    clock = OffsetClock()
    terminal = TerminalChannel()
    bot = PerfBot(settings, clock=clock, channels=[terminal], db=db, scheduler=False)
    await run_chat(bot, terminal, clock, args.who, greeting)
    return 0


async def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import PerfBot
    from scheduler.runs import run_job

    bot = PerfBot(settings, scheduler=False)
    JOBS = bot.services.jobs
    if args.jobs_cmd == "list":
        for spec in JOBS.values():
            print(f"{spec.name:20} {spec.cron_expr(bot.services) or '-':18} {spec.description}")
        return 0
    if args.name not in JOBS:
        print(f"unknown job {args.name!r}; known: {', '.join(sorted(JOBS))}", file=sys.stderr)
        return 2
    at = bot.services.now()
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            print(f"--at: not an ISO datetime: {args.at!r}", file=sys.stderr)
            return 2
        if at.tzinfo is None:
            at = at.replace(tzinfo=settings.schedule.tz)
    await bot.start(workers=False)
    try:
        detail = await run_job(bot.services, args.name, at)
        await bot.drain()
    finally:
        await bot.stop()
    print(f"{args.name} as of {at.isoformat()}: {detail or 'done'}")
    return 0


async def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import PerfBot
    from handlers.directory import sync_directory

    if not (settings.wecom.enabled or settings.dingtalk.enabled):
        print("sync directory: neither [wecom] nor [dingtalk] is configured", file=sys.stderr)
        return 2
    # Not started: no inbound (a second DingTalk Stream client would take messages from `serve`);
    # the HR summary is queued and delivered by drain() through the channels' send APIs.
    bot = PerfBot(settings, scheduler=False, channels=[] if args.dry_run else None)
    try:
        ok, lines = await sync_directory(bot.services, bot.services.now(), dry_run=args.dry_run)
        await bot.drain()
    finally:
        await bot.stop()
    print("\n".join(lines))
    return 0 if ok else 1


async def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    from storage import outbox
    from storage.db import open_database

    if args.outbox_cmd == "stats":
        from storage import inbox

        db = open_database(settings.storage.url)
        figures: dict[str, int] = dict(outbox.stats(db))
        backlog = inbox.counts(db)  # the inbound side of the queue, visible next to the outbound one
        figures["inbound_pending"] = backlog.get("pending", 0)
        figures["inbound_failed"] = backlog.get("failed", 0)
        print(json.dumps(figures))
        return 0
    if args.outbox_cmd == "failures":
        for row in outbox.failures(open_database(settings.storage.url)):
            print(redact(f"{row.id}\t{row.status}\t{row.channel}\t{row.recipient}\t{row.key}\t{row.last_error}"))
        return 0
    if args.outbox_cmd == "retry":
        if bool(args.ids) == bool(args.all):
            print("give parked row ids (see `outbox failures`) or --all", file=sys.stderr)
            return 2
        db = open_database(settings.storage.url)
        done = outbox.requeue_parked(db, None if args.all else list(args.ids))
        missing = sorted(set(args.ids) - set(done))
        print(f"requeued {len(done)} parked message(s); a running bot sends them within a minute")
        if missing:
            print(f"not parked (left alone): {' '.join(map(str, missing))}", file=sys.stderr)
        return 0
    from bot.app import PerfBot

    bot = PerfBot(settings, scheduler=False)
    await bot.start(workers=False)
    try:
        n = await bot.drain()
    finally:
        await bot.stop()
    print(f"delivered {n}")
    return 0
