"""The one Channel seam between handlers and platforms."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage import employees

if TYPE_CHECKING:
    from aiohttp import web

    from bot.ratelimit import AppLimiter
    from bot.services import Services
    from storage.db import Database
    from storage.models import Employee
    from storage.outbox import Claimed


@dataclass
class Delivery:
    """What happened to one outbox row."""

    status: str  # sent|retry|failed
    handle: dict[str, Any] = field(default_factory=dict)  # platform handle of what was sent
    handle_key: str | None = None  # lookup id for cards (WeCom task_id, DingTalk outTrackId)
    error: str | None = None
    retry_after: float | None = None  # seconds
    # The request may have reached the platform (time-out, dropped connection, 5xx): every later
    # attempt must be one the platform deduplicates.
    in_doubt: bool = False
    # Not attempted (e.g. an app-wide budget): retry after ``retry_after`` without counting an attempt.
    deferred: bool = False


class Channel(ABC):
    """A platform. Outbound goes through the outbox worker calling :meth:`deliver`;
    inbound wire input becomes neutral events passed to ``services.dispatcher.submit``."""

    name: str = "base"
    batch_size: int = 1  # how many claimed rows deliver() accepts at once
    per_user_per_minute: int | None = None
    per_user_per_hour: int | None = None
    # False: this process sends but opens no inbound connection of its own (a platform that wants one
    # client per app, e.g. DingTalk's Stream, in the 2nd..Nth process of `serve --processes N`)
    listens: bool = True
    # The app-wide call budget deliver() draws on (None: unlimited). The outbox worker claims no more
    # distinct contents a round than it has room for (``AppLimiter.room``).
    limiter: AppLimiter | None = None

    def __init__(self) -> None:
        self.services: Services | None = None

    def bind(self, services: Services) -> None:
        self.services = services

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections (stream sockets, HTTP sessions)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Close everything; must return promptly."""

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes this channel serves on the bot's server (e.g. callbacks)."""
        return []

    @abstractmethod
    def recipient_for(self, employee: Employee) -> str | None:
        """The platform user id for an employee, or None if they are not on this platform."""

    def employee_key(self) -> str | None:
        """The Employee attribute holding this platform's user id (None: the employee id itself)."""
        return None

    @abstractmethod
    async def deliver(self, items: list[Claimed]) -> list[Delivery]:
        """Deliver claimed outbox rows; one Delivery per item, in order. Must not raise for
        per-item problems; raise only when the whole platform is unreachable."""

    def card_handle_key(self, outbox_key: str) -> str | None:
        """The id the platform will know the card sent for ``outbox_key`` by (the key taps and
        updates find it with), when it is fixed before sending; None when the platform assigns it."""
        return None

    def health(self) -> dict[str, Any]:
        return {"name": self.name}


def distinct_recipient_calls(idxs: list[int], recipients: list[str], size: int) -> list[list[int]]:
    """Split row indexes into calls of ≤ ``size`` rows with each recipient at most once per call
    (a person with two identical messages queued gets them in two calls)."""
    calls: list[tuple[list[int], set[str]]] = []
    open_from = 0  # calls before this index are full
    for i in idxs:
        who = recipients[i]
        for call, seen in calls[open_from:]:
            if len(call) < size and who not in seen:
                call.append(i)
                seen.add(who)
                break
        else:
            calls.append(([i], {who}))
        while open_from < len(calls) and len(calls[open_from][0]) >= size:
            open_from += 1
    return [call for call, _ in calls]


def mention_prefix(db: Database, column: str, user_ids: list[str]) -> str:
    """「@张伟 @李娜 」 for platform user ids held in ``Employee.<column>`` (the id when nobody has it).
    Used for group messages on platforms whose APIs cannot @ by id."""
    if not user_ids:
        return ""
    names = employees.names_by(db, column, user_ids)
    return "".join(f"@{names.get(u) or u} " for u in dict.fromkeys(user_ids))
