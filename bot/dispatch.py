"""One dispatch path for every inbound event: dedup → identity → per-user lock → route."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select

from bot.context import Ctx
from bot.events import InboundEvent, SystemEvent, event_from_dict
from bot.router import Router
from bot.routing import Classifier, Routing
from bot.services import Services
from storage import inbox
from storage.locks import EmployeeLocks
from storage.models import Employee

log = logging.getLogger(__name__)

STALE_INBOUND = timedelta(minutes=5)
UNKNOWN_USER = "抱歉，没有在通讯录中找到你的账号，暂时无法使用绩效助手。请联系 HR 开通。"
ERROR_REPLY = "抱歉，处理你的消息时出了点问题，我们已记录。请稍后再试。"


class Dispatcher:
    def __init__(self, services: Services, routers: list[Router], classify: Classifier | None = None) -> None:
        """``routers``: the feature routers in order (checked at once: a clash raises RoutingError);
        ``classify``: the intent classifier (e.g. ``nlp.intent.parse_question``)."""
        self.services = services
        self.routers = routers
        self.routing = Routing(routers, classify)
        self._locks = EmployeeLocks(services.db)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- entry points ------------------------------------------------------------------------
    async def submit(self, event: InboundEvent, wait: bool = False) -> bool:
        """Accept an event durably (False if it is a duplicate), then process it in the background.
        Channels call this before acknowledging the platform; the work happens after."""
        if not inbox.accept(self.services.db, event.key, event.channel, event.to_dict(), self.services.now()):
            log.info("duplicate inbound event %s ignored", event.key)
            return False
        if wait:
            await self.process(event)
        else:
            task = asyncio.create_task(self.process(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True

    async def replay_pending(self, min_age: timedelta | None = None) -> int:
        """Process events accepted before a crash but never finished. On SQLite (one process) all
        of them at start; on PostgreSQL only those older than ``min_age`` (others may belong to a
        live node), each claimed by one process."""
        db = self.services.db
        if min_age is None:
            min_age = timedelta(0) if db.is_sqlite else STALE_INBOUND
        rows = inbox.claim_stale(db, self.services.now(), min_age) if min_age else inbox.pending(db)
        for row in rows:
            await self.process(event_from_dict(row.payload))
        if rows:
            log.info("replayed %d inbound events left pending by a previous run", len(rows))
        return len(rows)

    @property
    def busy(self) -> bool:
        """True while accepted events are still being processed in the background."""
        return bool(self._tasks)

    async def idle(self) -> None:
        """Wait until background processing has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- processing --------------------------------------------------------------------------
    def resolve(self, event: InboundEvent) -> Employee | None:
        db = self.services.db
        with db.session() as s:
            if event.channel in ("terminal", "system"):
                emp = s.get(Employee, event.sender)
            else:
                ch = self.services.channels.get(event.channel)
                attr = ch.employee_key() if ch else None
                if attr is None:
                    return None
                emp = s.execute(select(Employee).where(getattr(Employee, attr) == event.sender)).scalar()
        if emp is not None and not emp.active:
            return None
        return emp

    async def process(self, event: InboundEvent) -> None:
        now = self.services.now
        employee = self.resolve(event)
        if employee is None:
            await self._unknown(event)
            inbox.finish(self.services.db, event.key, now())
            return
        event.employee_id = employee.id
        ctx = Ctx(self.services, employee, event)
        try:
            async with self._locks.hold(employee.id):
                await self._route(ctx, event)
        except Exception as exc:  # one bad event must not stop the bot
            log.exception("handler failed for %s", event.key)
            inbox.finish(self.services.db, event.key, now(), error=repr(exc)[:500])
            if not isinstance(event, SystemEvent):
                await ctx.reply(ERROR_REPLY)
            return
        inbox.finish(self.services.db, event.key, now())

    async def _unknown(self, event: InboundEvent) -> None:
        log.warning("message from unknown %s user %r: replied politely, nothing stored", event.channel, event.sender)
        if event.channel in self.services.channels and not isinstance(event, SystemEvent):
            await self.services.messenger.send_raw(event.channel, event.sender, "text", {"text": UNKNOWN_USER},
                                                   f"{event.key}:unknown")

    async def _route(self, ctx: Ctx, event: InboundEvent) -> None:
        await self.routing.route(ctx, event)
