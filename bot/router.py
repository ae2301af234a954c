"""Per-feature routers: commands, patterns, intents, conversation flows, card actions, system events.

In the spirit of aiogram: each feature builds one ``Router`` and composes its sub-features with
``router.include(child)``; the app hands the top-level routers to the dispatcher in an explicit
order (first match wins), and :class:`bot.routing.Routes` checks the whole tree at start-up
(a card-action prefix claimed by two features, a duplicate (prefix, verb), flow, intent, system
event or a second fallback is a :class:`RoutingError`).

Handler shapes (one typed context, no name-based injection):

- command / pattern: ``async def h(ctx: Ctx, msg: TextMessage) -> bool | None`` — a pattern may
  return False to decline (routing goes on as if it had not matched).
- flow: ``async def h(ctx, msg, conv: Conversation) -> bool | None`` — ``conv`` is the active
  conversation the dispatcher loaded; return False to let the message fall through.
- intent: ``async def h(ctx, msg, question) -> None`` — ``question`` is what the injected
  classifier parsed (``nlp.intent.Question``: ``intent``, ``subject_name``, ``period``).
- action: ``async def h(ctx, event: CardAction, action: Action, *args)`` — ``args`` converted
  with the types given to ``@router.action(prefix, verb, args=(int,))``.
- system: ``async def h(ctx, event: SystemEvent)``; fallback: ``async def h(ctx, msg)``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.context import Ctx
from bot.events import SystemEvent, TextMessage
from storage.models import Conversation

TextHandler = Callable[[Ctx, TextMessage], Awaitable[Any]]
FlowHandler = Callable[[Ctx, TextMessage, Conversation], Awaitable[Any]]
IntentHandler = Callable[[Ctx, TextMessage, Any], Awaitable[Any]]
ActionHandler = Callable[..., Awaitable[Any]]  # (ctx, event: CardAction, action: Action, *typed args)
SystemHandler = Callable[[Ctx, SystemEvent], Awaitable[Any]]
RepromptHandler = Callable[[Ctx, Conversation], Awaitable[Any]]
ArgType = Callable[[str], Any]


class RoutingError(RuntimeError):
    """Two features claim the same route; raised when the dispatcher is built (start-up)."""


def normalise(text: str) -> str:
    """Collapse spaces and full-width punctuation so commands match however they are typed."""
    t = text.strip().replace("\u3000", " ")
    t = re.sub(r"\s+", " ", t)
    return t.strip("。！!？?～~ ").lower()


@dataclass(frozen=True)
class Command:
    phrases: tuple[str, ...]
    handler: TextHandler
    interrupts: bool = False      # runs even in the middle of another flow
    escapes: tuple[str, ...] = ()  # a message starting with one of these leaves any active flow


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    handler: TextHandler
    escapes: bool = False  # a matching message leaves any active flow


@dataclass(frozen=True)
class ActionRoute:
    prefix: str
    verb: str | None  # None: every verb of the prefix not routed more precisely
    handler: ActionHandler
    args: tuple[ArgType, ...] = ()


@dataclass
class Router:
    name: str
    commands: list[Command] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    intents: dict[str, IntentHandler] = field(default_factory=dict)
    flows: dict[str, FlowHandler] = field(default_factory=dict)
    actions: list[ActionRoute] = field(default_factory=list)
    system: dict[str, SystemHandler] = field(default_factory=dict)
    fallbacks: list[TextHandler] = field(default_factory=list)
    reprompts: dict[str, RepromptHandler] = field(default_factory=dict)
    children: list[Router] = field(default_factory=list)

    # -- composition ---------------------------------------------------------------------------
    def include(self, *routers: Router) -> Router:
        """Compose sub-features: their routes are tried after this router's own, in order."""
        for r in routers:
            if r is self or self in r.walk():
                raise RoutingError(f"router {r.name!r} cannot include itself (directly or not)")
            if any(r is c for c in self.walk()):
                raise RoutingError(f"router {r.name!r} is included twice under {self.name!r}")
            self.children.append(r)
        return self

    def walk(self) -> Iterator[Router]:
        """This router, then its sub-routers depth-first (the order routes are tried in)."""
        yield self
        for child in self.children:
            yield from child.walk()

    # -- registration --------------------------------------------------------------------------
    def command(self, *phrases: str, interrupts: bool = False,
                escapes: bool | tuple[str, ...] = False) -> Callable[[TextHandler], TextHandler]:
        """Exact phrases (after :func:`normalise`). ``interrupts`` commands run even mid-flow.
        ``escapes=True`` (or the phrases to escape on): a message *starting* with the phrase is
        never taken by an active flow and goes on to commands, patterns and intents."""
        norm = tuple(normalise(p) for p in phrases)
        esc = norm if escapes is True else tuple(normalise(p) for p in (escapes or ()))

        def deco(fn: TextHandler) -> TextHandler:
            self.commands.append(Command(norm, fn, interrupts, tuple(e for e in esc if e)))
            return fn
        return deco

    def pattern(self, regex: str, escapes: bool = False) -> Callable[[TextHandler], TextHandler]:
        """A regex searched in the raw text (e.g. 「拜访结束 XX客户」). The handler may return False
        to decline. ``escapes``: a matching message is never taken by an active flow."""
        def deco(fn: TextHandler) -> TextHandler:
            self.patterns.append(Pattern(re.compile(regex), fn, escapes))
            return fn
        return deco

    def intent(self, name: str) -> Callable[[IntentHandler], IntentHandler]:
        def deco(fn: IntentHandler) -> IntentHandler:
            if name in self.intents:
                raise RoutingError(f"intent {name!r} registered twice in router {self.name!r}")
            self.intents[name] = fn
            return fn
        return deco

    def flow(self, name: str) -> Callable[[FlowHandler], FlowHandler]:
        """Handles text while the employee's active conversation is ``name``.
        Return False to let the message fall through to commands and intents."""
        def deco(fn: FlowHandler) -> FlowHandler:
            if name in self.flows:
                raise RoutingError(f"flow {name!r} registered twice in router {self.name!r}")
            self.flows[name] = fn
            return fn
        return deco

    def action(self, prefix: str, verb: str | None = None,
               args: tuple[ArgType, ...] = ()) -> Callable[[ActionHandler], ActionHandler]:
        """Card action ``prefix:verb:arg…:v1``. ``args`` converts the leading arguments (e.g.
        ``(int,)``); a payload whose arguments do not convert gets the friendly 'button no longer
        valid' answer without reaching the handler."""
        def deco(fn: ActionHandler) -> ActionHandler:
            self.actions.append(ActionRoute(prefix, verb, fn, args))
            return fn
        return deco

    def on_system(self, name: str) -> Callable[[SystemHandler], SystemHandler]:
        def deco(fn: SystemHandler) -> SystemHandler:
            if name in self.system:
                raise RoutingError(f"system event {name!r} registered twice in router {self.name!r}")
            self.system[name] = fn
            return fn
        return deco

    def reprompt(self, name: str) -> Callable[[RepromptHandler], RepromptHandler]:
        """Asks flow ``name``'s pending question again after a message went elsewhere (a question,
        a command, 帮助) and left the flow where it was: ``async def h(ctx, conv) -> None``."""
        def deco(fn: RepromptHandler) -> RepromptHandler:
            if name in self.reprompts:
                raise RoutingError(f"reprompt for flow {name!r} registered twice in router {self.name!r}")
            self.reprompts[name] = fn
            return fn
        return deco

    def fallback(self, fn: TextHandler) -> TextHandler:
        """Text nothing else understood (at most one in the whole bot)."""
        self.fallbacks.append(fn)
        return fn
