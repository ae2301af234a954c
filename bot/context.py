"""The one typed context every chat handler receives."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.events import InboundEvent
from bot.services import Services
from cards.model import Card
from storage import conversations
from storage.db import Database
from storage.models import Conversation, Employee
from storage.outbox import REPLY


@dataclass
class Ctx:
    services: Services
    employee: Employee
    event: InboundEvent
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    # True once this event has read that the employee has no conversation and started none since:
    # ending a flow then has nothing to delete (the event holds the employee's lock, so nobody else
    # starts one meanwhile).
    _no_conversation: bool = False

    # -- shortcuts --------------------------------------------------------------------------
    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def settings(self):
        return self.services.settings

    @property
    def channel(self) -> str:
        return self.event.channel

    def now(self) -> datetime:
        return self.services.now()

    def local_now(self) -> datetime:
        return self.services.local_now()

    def _key(self) -> str:
        # Derived from the inbound key: replaying the same event never sends twice.
        return f"{self.event.key}:r{next(self._seq)}"

    def _reply_channel(self) -> str | None:
        return self.event.channel if self.event.channel in self.services.channels else None

    # -- replies to the sender, on the channel they wrote from --------------------------------
    async def reply(self, text: str) -> None:
        await self.services.messenger.send_text(self.employee, text, self._key(), self._reply_channel(),
                                                priority=REPLY, at_commit=True)

    async def reply_card(self, card: Card, subject: str, shared: bool = False) -> None:
        await self.services.messenger.send_card(self.employee, card, self._key(), subject, self._reply_channel(),
                                                priority=REPLY, shared=shared, at_commit=True)

    async def reply_file(self, content: bytes, filename: str) -> None:
        await self.services.messenger.send_file(self.employee, content, filename, self._key(),
                                                self._reply_channel(), priority=REPLY, at_commit=True)

    # -- messages to others -------------------------------------------------------------------
    async def send_text(self, to: Employee | str, text: str) -> None:
        await self.services.messenger.send_text(to, text, self._key(), at_commit=True)

    async def send_card(self, to: Employee | str, card: Card, subject: str) -> None:
        await self.services.messenger.send_card(to, card, self._key(), subject, at_commit=True)

    async def update_cards(self, subject: str, card: Card) -> None:
        await self.services.messenger.update_cards(subject, card, self._key())

    # -- conversation state -----------------------------------------------------------------
    def conversation(self) -> Conversation | None:
        """The employee's conversation; what it found is noted (routing reads it once per event)."""
        conv = conversations.get(self.db, self.employee.id)
        self._no_conversation = conv is None
        return conv

    def start_flow(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        self._no_conversation = False
        conversations.start(self.db, self.employee.id, flow, step, data or {}, self.now())

    def set_step(self, step: str, data: dict[str, Any]) -> None:
        self._no_conversation = False
        conversations.update(self.db, self.employee.id, step, data, self.now())

    def end_flow(self, flow: str | None = None) -> None:
        if self._no_conversation:
            return
        conversations.clear(self.db, self.employee.id, flow)
        if flow is None:
            self._no_conversation = True
