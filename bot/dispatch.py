"""One dispatch path for every inbound event: dedup → identity → per-user lock → route."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from bot.context import Ctx
from bot.events import CardAction, InboundEvent, SystemEvent, TextMessage, event_from_dict
from bot.router import Router, normalise
from bot.services import Services
from cards.payload import BadPayload, parse
from storage import conversations, inbox
from storage.locks import EmployeeLocks
from storage.models import Employee

log = logging.getLogger(__name__)

STALE_INBOUND = timedelta(minutes=5)
UNKNOWN_USER = "抱歉，没有在通讯录中找到你的账号，暂时无法使用绩效助手。请联系 HR 开通。"
BAD_ACTION = "这个按钮已失效或无法识别，请在最新的卡片上操作，或发送「帮助」查看可用功能。"
ERROR_REPLY = "抱歉，处理你的消息时出了点问题，我们已记录。请稍后再试。"


class Dispatcher:
    def __init__(self, services: Services, routers: list[Router]) -> None:
        self.services = services
        self.routers = routers
        self._locks = EmployeeLocks(services.db)
        self._tasks: set[asyncio.Task[None]] = set()
        self.fallback: Any = None  # async (ctx, msg) -> None, used when nothing matched

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
        if isinstance(event, CardAction):
            await self._route_action(ctx, event)
        elif isinstance(event, SystemEvent):
            for r in self.routers:
                if event.name in r.system:
                    await r.system[event.name](ctx, event)
                    return
            log.error("no handler for system event %r: add one with @router.on_system", event.name)
        elif isinstance(event, TextMessage):
            await self._route_text(ctx, event)

    async def _route_action(self, ctx: Ctx, event: CardAction) -> None:
        try:
            action = parse(event.action)
        except BadPayload as exc:
            log.warning("unparseable card action %r from %s: %s", event.action, ctx.employee.id, exc)
            await ctx.reply(BAD_ACTION)
            return
        for r in self.routers:
            if action.prefix in r.actions:
                await r.actions[action.prefix](ctx, event, action)
                return
        log.warning("no handler for card action prefix %r (payload %r)", action.prefix, event.action)
        await ctx.reply(BAD_ACTION)

    async def _route_text(self, ctx: Ctx, msg: TextMessage) -> None:
        norm = normalise(msg.text)
        # 1. interrupting commands (帮助, 取消 …) work even in the middle of a flow
        for r in self.routers:
            for phrases, interrupts, fn in r.commands:
                if interrupts and norm in phrases:
                    await fn(ctx, msg)
                    return
        # 2. the active conversation flow
        conv = conversations.get(self.services.db, ctx.employee.id)
        if conv is not None:
            for r in self.routers:
                if conv.flow in r.flows:
                    if await r.flows[conv.flow](ctx, msg) is not False:
                        return
                    break
        # 3. commands and patterns
        for r in self.routers:
            for phrases, _interrupts, fn in r.commands:
                if norm in phrases:
                    await fn(ctx, msg)
                    return
        for r in self.routers:
            for rx, fn in r.patterns:
                if rx.search(msg.text):
                    await fn(ctx, msg)
                    return
        # 4. intents understood from free text
        intent = self.classify(ctx, msg.text)
        if intent is not None:
            for r in self.routers:
                if intent in r.intents:
                    await r.intents[intent](ctx, msg)
                    return
        if self.fallback is not None:
            await self.fallback(ctx, msg)

    def classify(self, ctx: Ctx, text: str) -> str | None:
        try:
            from nlp.intent import parse_question
        except ImportError:  # pragma: no cover - nlp not installed
            return None
        today: date = ctx.local_now().date()
        q = parse_question(text, today, known_names=report_names(ctx))
        return q.intent if q.intent != "none" else None


def report_names(ctx: Ctx) -> list[str]:
    """Names of the asker's direct reports (managers may ask about them)."""
    if ctx.employee.role not in ("manager", "hr", "admin"):
        return []
    with ctx.db.session() as s:
        rows = s.execute(select(Employee.name).where(Employee.manager_id == ctx.employee.id, Employee.active))
        return [r for r in rows.scalars()]
