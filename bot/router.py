"""Per-feature routers: commands, intents, conversation flows, card actions and system events."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.context import Ctx
from bot.events import CardAction, SystemEvent, TextMessage
from cards.payload import Action

TextHandler = Callable[[Ctx, TextMessage], Awaitable[Any]]
ActionHandler = Callable[[Ctx, CardAction, Action], Awaitable[Any]]
SystemHandler = Callable[[Ctx, SystemEvent], Awaitable[Any]]


def normalise(text: str) -> str:
    """Collapse spaces and full-width punctuation so commands match however they are typed."""
    t = text.strip().replace("\u3000", " ")
    t = re.sub(r"\s+", " ", t)
    return t.strip("。！!？?～~ ").lower()


@dataclass
class Router:
    name: str
    commands: list[tuple[tuple[str, ...], bool, TextHandler]] = field(default_factory=list)
    patterns: list[tuple[re.Pattern[str], TextHandler]] = field(default_factory=list)
    intents: dict[str, TextHandler] = field(default_factory=dict)
    flows: dict[str, TextHandler] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    system: dict[str, SystemHandler] = field(default_factory=dict)

    def command(self, *phrases: str, interrupts: bool = False) -> Callable[[TextHandler], TextHandler]:
        """Exact phrases (after :func:`normalise`). ``interrupts`` commands run even mid-flow."""
        def deco(fn: TextHandler) -> TextHandler:
            self.commands.append((tuple(normalise(p) for p in phrases), interrupts, fn))
            return fn
        return deco

    def pattern(self, regex: str) -> Callable[[TextHandler], TextHandler]:
        """A regex searched in the raw text (e.g. 「拜访结束 XX客户」)."""
        def deco(fn: TextHandler) -> TextHandler:
            self.patterns.append((re.compile(regex), fn))
            return fn
        return deco

    def intent(self, name: str) -> Callable[[TextHandler], TextHandler]:
        def deco(fn: TextHandler) -> TextHandler:
            self.intents[name] = fn
            return fn
        return deco

    def flow(self, name: str) -> Callable[[TextHandler], TextHandler]:
        """Handles text while the employee's active conversation is ``name``.
        Return False to let the message fall through to commands and intents."""
        def deco(fn: TextHandler) -> TextHandler:
            self.flows[name] = fn
            return fn
        return deco

    def action(self, prefix: str) -> Callable[[ActionHandler], ActionHandler]:
        def deco(fn: ActionHandler) -> ActionHandler:
            self.actions[prefix] = fn
            return fn
        return deco

    def on_system(self, name: str) -> Callable[[SystemHandler], SystemHandler]:
        def deco(fn: SystemHandler) -> SystemHandler:
            self.system[name] = fn
            return fn
        return deco
