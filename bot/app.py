"""App wiring: ``PerfBot(settings)`` builds services, channels, dispatcher, outbox workers,
scheduler and the aiohttp server; ``start()``/``stop()`` run them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import redact
from bot.channels.base import Channel
from bot.clock import SystemClock
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.memory import MemoryRelease
from bot.messenger import Messenger
from bot.metrics import Metrics, warm_up
from bot.sender import OutboxWorker, worker_id
from bot.services import DirectoryReader, Services
from handlers import load_jobs, load_routers
from nlp.intent import parse_question
from scheduler.registry import register
from storage import outbox
from storage.db import Database, open_database

if TYPE_CHECKING:
    from bot.event_process import Helper

log = logging.getLogger(__name__)
HELPER_READY_S = 20.0  # how long start-up waits for the event helper processes to load their models


def platform_channels(settings: Settings) -> list[Channel]:
    """The platform channels whose credentials are configured; one log line for each one off."""
    channels: list[Channel] = []
    if settings.wecom.enabled:
        from bot.channels.wecom import WeComChannel

        channels.append(WeComChannel(settings.wecom))
    else:
        log.info("WeCom channel off: [wecom] %s not set", ", ".join(settings.wecom.missing()))
    if settings.dingtalk.enabled:
        from bot.channels.dingtalk import DingTalkChannel

        channels.append(DingTalkChannel(settings.dingtalk))
    else:
        log.info("DingTalk channel off: [dingtalk] %s not set", ", ".join(settings.dingtalk.missing()))
    return channels


def directory_readers(settings: Settings) -> dict[str, DirectoryReader]:
    """The contacts readers of the configured platforms (for handlers/directory, injected)."""
    readers: dict[str, DirectoryReader] = {}
    if settings.wecom.enabled:
        from bot.channels.wecom.directory import read_directory as read_wecom

        readers["wecom"] = lambda: read_wecom(settings.wecom)
    if settings.dingtalk.enabled:
        from bot.channels.dingtalk.directory import read_directory as read_dingtalk

        readers["dingtalk"] = lambda: read_dingtalk(settings.dingtalk)
    return readers


async def load_models(gc_full_every: int) -> None:
    """Load the models once, off the loop (a serving process, and an event helper process)."""
    await asyncio.to_thread(warm_up)
    # Everything loaded so far (models, dictionaries, modules) lives as long as the process: move
    # it out of the collector's sight, so a full collection under load scans only what requests
    # made, not the models, and does not stall the serving loop for tens of milliseconds.
    gc.collect()
    gc.freeze()
    # ...which leaves the oldest generation nearly empty, so a full collection would come every few
    # hundred messages and stop every thread while it scans what is in flight: see [engine] gc_full_every.
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, gc_full_every)


class PerfBot:
    def __init__(
        self, settings: Settings, *, clock: Any = None, channels: list[Channel] | None = None,
        db: Database | None = None, scheduler: bool = True, event_helpers: int = 0,
        prespawned: list[Helper] | None = None,
    ) -> None:
        """``event_helpers``: helper processes for inbound events (``serve`` passes
        ``bot.event_process.helper_processes(settings)``; PostgreSQL only), ``prespawned`` those of
        them already started (``bot.event_process.prespawn``)."""
        if event_helpers and channels is not None:
            raise ValueError("event helper processes build the platform channels from the settings: "
                             "they cannot share channels given here")
        self.settings = settings
        redact.protect(settings)  # configured credentials never reach a log line or a stored error
        self.db = db or open_database(settings.storage.url)
        self.services = Services(settings=settings, db=self.db, clock=clock or SystemClock())
        self.services.messenger = Messenger(self.services)
        self.services.directory_readers = directory_readers(settings)
        chans = platform_channels(settings) if channels is None else channels
        for ch in chans:
            ch.bind(self.services)
            self.services.channels[ch.name] = ch
            self.services.workers[ch.name] = OutboxWorker(self.services, ch)
        self.dispatcher = Dispatcher(self.services, load_routers(), classify=parse_question, helpers=event_helpers,
                                     prespawned=prespawned)
        register(self.services.jobs, load_jobs())
        self.services.dispatcher = self.dispatcher
        self.scheduler = None
        if scheduler:
            from scheduler.runner import SchedulerRunner

            self.scheduler = SchedulerRunner(self.services, node=worker_id())
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._releaser: asyncio.Task[None] | None = None
        pool = self.dispatcher.pool
        self.memory = MemoryRelease(lambda: pool.completed, lambda: pool.in_flight > 0 or self.dispatcher.held > 0)
        self.metrics = Metrics(settings.server.stall_log_ms / 1000)
        self.started = False
        self.ready = False

    @property
    def channels(self) -> dict[str, Channel]:
        return self.services.channels

    # -- HTTP ---------------------------------------------------------------------------------
    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.server.max_body_bytes)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        for ch in self.channels.values():
            app.add_routes(ch.routes())
        if self.settings.server.ingest_token:
            from bot.ingest import routes as ingest_routes

            app.add_routes(ingest_routes(self.services))
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        """Liveness: the process answers. Cheap on purpose (no database call)."""
        return web.json_response({
            "status": "ok",
            "ready": self.ready,
            "pid": os.getpid(),  # which process answered (several share the port under `serve --processes N`)
            "channels": {name: ch.health() for name, ch in self.channels.items()},
        })

    async def _readyz(self, request: web.Request) -> web.Response:
        """Readiness: models loaded, workers running and the database answering."""
        if not self.ready:
            return web.json_response({"status": "starting"}, status=503)
        try:
            stats = await self.db.run(outbox.stats, self.db)
        except Exception as exc:
            return web.json_response({"status": "database unavailable", "error": exc.__class__.__name__}, status=503)
        return web.json_response({"status": "ready", "outbox": stats})

    async def _metrics(self, request: web.Request) -> web.Response:
        text = await self.metrics.render(self)
        return web.Response(text=text, content_type="text/plain", charset="utf-8",
                            headers={"X-Prometheus-Format": "0.0.4"})

    async def serve_http(self, host: str | None = None, port: int | None = None, reuse_port: bool = False) -> int:
        """Start the HTTP server; returns the bound port (port 0 picks a free one). ``reuse_port``: share
        the port with the other processes of ``serve --processes N`` (SO_REUSEPORT)."""
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host or self.settings.server.host,
                           self.settings.server.port if port is None else port, reuse_port=reuse_port or None)
        await site.start()
        sockets = site._server.sockets if site._server else []
        bound = sockets[0].getsockname()[1] if sockets else 0
        log.info("HTTP server listening on %s:%s", host or self.settings.server.host, bound)
        return int(bound)

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self, workers: bool = True) -> None:
        self._warn_calendar()
        self.services.loop = asyncio.get_running_loop()
        self.metrics.start_probe()
        for helper in self.dispatcher.helpers:  # event helper processes load their models meanwhile
            helper.start()
        await load_models(self.settings.engine.gc_full_every)  # before the process reports ready
        gc.enable()  # `serve` starts with it off (bot/cli.py)
        self.dispatcher.pool.start()
        for helper in self.dispatcher.helpers:  # ...and report ready with the models loaded, as this one
            if not await asyncio.to_thread(helper.wait_ready, HELPER_READY_S):
                log.warning("event helper %s not ready after %.0f s: its events run in this process until it is",
                            helper.name, HELPER_READY_S)
        if workers:
            for w in self.services.workers.values():
                w.start()
        await self.dispatcher.replay_pending()
        # Keep sweeping: events a full queue left pending (and, on PostgreSQL, events a dead node left).
        self._sweeper = asyncio.create_task(self._sweep_inbound(self.settings.engine.pending_sweep_seconds))
        self._releaser = asyncio.create_task(self.memory.run())
        if self.scheduler is not None:
            await self.scheduler.start()
        for ch in self.channels.values():  # last: take new traffic once everything else runs
            await ch.start()
        self.started = True
        self.ready = True

    def _warn_calendar(self) -> None:
        """One warning line per year (this one, and the next one from December) without holiday data."""
        from handlers.common.calendar import coverage_warning

        today = self.services.local_now().date()
        for year in (today.year, today.year + 1) if today.month == 12 else (today.year,):
            warning = coverage_warning(year, self.settings.calendar)
            if warning:
                log.warning(warning)

    async def _sweep_inbound(self, every: float = 60.0) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.dispatcher.replay_pending()
            except Exception:
                log.exception("sweeping pending inbound events failed; will retry")

    async def stop(self) -> None:
        self.ready = False
        for task in (self._sweeper, self._releaser):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweeper = self._releaser = None
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.dispatcher.idle()
        for w in self.services.workers.values():
            await w.stop()
        for ch in self.channels.values():
            await ch.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.dispatcher.acceptance.idle()  # no callback can arrive any more: finish the writes begun
        if self.dispatcher.loop_accept is not None:
            await self.dispatcher.loop_accept.close()
        await asyncio.to_thread(self.dispatcher.pool.stop)
        await asyncio.to_thread(self.services.job_pool.stop)
        await self.metrics.stop_probe()
        self.started = False

    async def drain(self) -> int:
        """Finish inbound processing and deliver everything due (tests, one-shot commands)."""
        total = 0
        for _ in range(20):
            await self.dispatcher.idle()
            n = 0
            for w in self.services.workers.values():
                n += await w.drain()
            total += n
            if n == 0 and not self.dispatcher.busy:
                break
        return total
