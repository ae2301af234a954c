"""Routing: which handler an inbound event goes to (the dispatcher owns dedup, identity and locks).

Text order: interrupting commands → the active conversation flow (unless the message starts with
a command flagged ``escapes``) → commands → patterns (a pattern may decline) → intent (the
injected classifier) → the fallback; when a message went elsewhere and left the flow where it was, the
flow's reprompt asks its question again. Card actions: (prefix, verb), then the prefix's catch-all.
The route table is built and checked once, when the dispatcher is created.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from bot.context import Ctx
from bot.events import CardAction, InboundEvent, SystemEvent, TextMessage
from bot.router import (
    ActionRoute,
    Command,
    FlowHandler,
    IntentHandler,
    Pattern,
    Router,
    RoutingError,
    SystemHandler,
    TextHandler,
    normalise,
)
from cards.payload import Action, BadPayload, parse
from storage.employees import report_names as _report_names
from storage.models import Conversation

log = logging.getLogger(__name__)

BAD_ACTION = "这个按钮已失效或无法识别，请在最新的卡片上操作，或发送「帮助」查看可用功能。"


class Question(Protocol):
    intent: str


class Classifier(Protocol):
    """(text, today, names the asker may ask about) -> parsed question, e.g. ``nlp.intent.parse_question``."""

    def __call__(self, text: str, today: date, known_names: Iterable[str] = ()) -> Question: ...


def report_names(ctx: Ctx) -> list[str]:
    """Names of the asker's direct reports (managers may ask about them)."""
    if ctx.employee.role not in ("manager", "hr", "admin"):
        return []
    return _report_names(ctx.db, ctx.employee.id)


class Routes:
    """The flattened, checked route table of the top-level feature routers (in order)."""

    def __init__(self, routers: list[Router]) -> None:
        self.routers = routers
        self.commands: list[Command] = []
        self.patterns: list[Pattern] = []
        self.intents: dict[str, IntentHandler] = {}
        self.flows: dict[str, FlowHandler] = {}
        self.system: dict[str, SystemHandler] = {}
        self.actions: dict[tuple[str, str | None], ActionRoute] = {}
        self.fallback: TextHandler | None = None
        self.reprompts: dict[str, Any] = {}
        seen: dict[int, str] = {}
        prefix_owner: dict[str, str] = {}
        owners: dict[str, str] = {}
        for top in routers:
            for r in top.walk():
                if id(r) in seen:
                    raise RoutingError(f"router {r.name!r} is included twice (under {seen[id(r)]!r} and {top.name!r})")
                seen[id(r)] = top.name
                self.commands += r.commands
                self.patterns += r.patterns
                for kind, src, dst in (("flow", r.flows, self.flows), ("intent", r.intents, self.intents),
                                       ("system event", r.system, self.system)):
                    for name, fn in src.items():
                        if name in dst:
                            raise RoutingError(f"{kind} {name!r} is claimed by {owners[f'{kind}:{name}']!r} and "
                                               f"{r.name!r}: rename one")
                        dst[name] = fn
                        owners[f"{kind}:{name}"] = r.name
                for a in r.actions:
                    owner = prefix_owner.setdefault(a.prefix, top.name)
                    if owner != top.name:
                        raise RoutingError(f"card-action prefix {a.prefix!r} is claimed by features {owner!r} and "
                                           f"{top.name!r}: give one of them its own prefix")
                    if (a.prefix, a.verb) in self.actions:
                        raise RoutingError(f"card action {a.prefix}:{a.verb or '*'} is routed twice "
                                           f"(router {r.name!r})")
                    self.actions[(a.prefix, a.verb)] = a
                self.reprompts.update(r.reprompts)
                for fb in r.fallbacks:
                    if self.fallback is not None:
                        raise RoutingError(f"a second fallback in router {r.name!r}: only one is allowed")
                    self.fallback = fb
        self.interrupting = [c for c in self.commands if c.interrupts]
        self.escape_phrases = tuple(p for c in self.commands for p in c.escapes)
        self.escape_patterns = [p for p in self.patterns if p.escapes]


class Routing:
    def __init__(self, routers: list[Router], classify: Classifier | None = None) -> None:
        self.routes = Routes(routers)
        self.classifier = classify

    async def route(self, ctx: Ctx, event: InboundEvent) -> None:
        if isinstance(event, CardAction):
            await self.route_action(ctx, event)
        elif isinstance(event, SystemEvent):
            fn = self.routes.system.get(event.name)
            if fn is None:
                log.error("no handler for system event %r: add one with @router.on_system", event.name)
                return
            await fn(ctx, event)
        elif isinstance(event, TextMessage):
            await self.route_text(ctx, event)

    async def route_action(self, ctx: Ctx, event: CardAction) -> None:
        try:
            action = parse(event.action)
        except BadPayload as exc:
            log.warning("unparseable card action %r from %s: %s", event.action, ctx.employee.id, exc)
            await ctx.reply(BAD_ACTION)
            return
        route = self.routes.actions.get((action.prefix, action.action)) or self.routes.actions.get((action.prefix, None))
        if route is None:
            log.warning("no handler for card action %s:%s (payload %r): add @router.action(%r, %r)",
                        action.prefix, action.action, event.action, action.prefix, action.action)
            await ctx.reply(BAD_ACTION)
            return
        args = _convert(action, route)
        if args is None:
            log.warning("card action %r: arguments do not match %s", event.action, route.args)
            await ctx.reply(BAD_ACTION)
            return
        await route.handler(ctx, event, action, *args)

    async def route_text(self, ctx: Ctx, msg: TextMessage) -> None:
        conv = ctx.conversation()
        if await self._route_text(ctx, msg, conv) and conv is not None:
            await self._reprompt(ctx, conv)

    async def _route_text(self, ctx: Ctx, msg: TextMessage, conv: Conversation | None) -> bool:
        """Route one text; True when something other than the active flow handled it."""
        routes = self.routes
        norm = normalise(msg.text)
        # 1. interrupting commands (帮助, 取消 …) work even in the middle of a flow
        for c in routes.interrupting:
            if norm in c.phrases:
                await c.handler(ctx, msg)
                return True
        # 2. the active conversation flow, unless the message is meant for another feature
        if conv is not None and not self._escapes(norm, msg.text):
            flow = routes.flows.get(conv.flow)
            if flow is not None and await flow(ctx, msg, conv) is not False:
                return False
        # 3. commands and patterns (a pattern may decline by returning False)
        for c in routes.commands:
            if norm in c.phrases:
                await c.handler(ctx, msg)
                return True
        for p in routes.patterns:
            if p.regex.search(msg.text) and await p.handler(ctx, msg) is not False:
                return True
        # 4. intents understood from free text, handed the parsed question
        question = self.classify(ctx, msg.text)
        if question is not None:
            fn = routes.intents.get(question.intent)
            if fn is not None:
                await fn(ctx, msg, question)
                return True
        if routes.fallback is not None:
            await routes.fallback(ctx, msg)
        return True

    async def _reprompt(self, ctx: Ctx, before: Conversation) -> None:
        """The message went elsewhere: if the flow is still where it was, ask its question again."""
        fn = self.routes.reprompts.get(before.flow)
        now = ctx.conversation() if fn is not None else None
        if fn is not None and now is not None and (now.flow, now.step) == (before.flow, before.step):
            await fn(ctx, now)

    def _escapes(self, norm: str, text: str) -> bool:
        return norm.startswith(self.routes.escape_phrases) or any(p.regex.search(text) for p in self.routes.escape_patterns)

    def classify(self, ctx: Ctx, text: str) -> Question | None:
        """The parsed question when the classifier found an intent, else None."""
        if self.classifier is None:
            return None
        today: date = ctx.local_now().date()
        q = self.classifier(text, today, known_names=report_names(ctx))
        return q if q.intent != "none" else None


def _convert(action: Action, route: ActionRoute) -> list[Any] | None:
    if len(action.args) < len(route.args):
        return None
    try:
        values = [t(a) for t, a in zip(route.args, action.args, strict=False)]
    except (TypeError, ValueError):
        return None
    # ids are 32-bit integer columns: a 30-digit "id" from a forged payload is a bad payload, not a 500
    if any(isinstance(v, int) and not -(2**31) <= v < 2**31 for v in values):
        return None
    return values
