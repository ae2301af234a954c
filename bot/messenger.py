"""Outbound API for handlers and jobs: every send becomes an outbox row with an idempotency key."""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING, Any

from cards.model import Card
from storage import cardstore
from storage.db import current_unit
from storage.models import Employee
from storage.outbox import NORMAL, NewMessage, enqueue_at_commit, enqueue_many

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
TEXT_LIMIT_BYTES = 2000  # below WeCom's 2048-byte text limit; longer text is split, never cut


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Split on line boundaries so that each part fits ``limit`` UTF-8 bytes."""
    if len(text.encode()) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one very long line: cut by characters
            cut = line
            while len(cut.encode()) > limit:
                cut = cut[: len(cut) * 3 // 4]
            if current:
                parts.append(current)
                current = ""
            parts.append(cut)
            line = line[len(cut):]
        if len((current + line).encode()) > limit:
            parts.append(current)
            current = line
        else:
            current += line
    if current:
        parts.append(current)
    return [p.rstrip("\n") for p in parts if p.strip()]


class Messenger:
    def __init__(self, services: Services) -> None:
        self.services = services

    # -- recipients -------------------------------------------------------------------------
    def route(self, employee: Employee, channel: str | None = None) -> tuple[str, str] | None:
        """(channel, recipient) for an employee: the given channel, else the first that knows them."""
        channels = self.services.channels
        names = [channel] if channel else list(channels)
        for name in names:
            ch = channels.get(name)
            if ch is None:
                continue
            rcpt = ch.recipient_for(employee)
            if rcpt:
                return name, rcpt
        return None

    def _employee(self, who: Employee | str) -> Employee | None:
        if isinstance(who, Employee):
            return who
        return self.services.employee(who)

    # -- sending ----------------------------------------------------------------------------
    async def send(
        self, who: Employee | str, kind: str, payload: dict[str, Any], key: str, channel: str | None = None,
        *, priority: int = NORMAL, at_commit: bool = False,
    ) -> bool:
        """Queue one message for an employee; False if nobody can be reached or the key was used.
        ``at_commit``: the caller does not need to know whether the key was new (a handler's replies and
        notes): inside a unit of work the row goes in with the unit's other such rows when it commits
        (:func:`storage.outbox.enqueue_at_commit`), and True means queued."""
        emp = self._employee(who)
        if emp is None:
            log.warning("send %s: unknown employee %r; message dropped", key, who)
            return False
        target = self.route(emp, channel)
        if target is None:
            log.warning("send %s: employee %s has no id on any enabled channel; message not sent", key, emp.id)
            return False
        return await self.send_raw(target[0], target[1], kind, payload, key, employee_id=emp.id, priority=priority,
                                   at_commit=at_commit) > 0

    async def send_raw(
        self, channel: str, recipient: str, kind: str, payload: dict[str, Any], key: str,
        employee_id: str | None = None, *, priority: int = NORMAL, at_commit: bool = False,
    ) -> int:
        """Queue one message (split when a text is too long). ``priority``: ``REPLY`` for the answer
        to the person who just wrote (sent before queued notifications and pushes), else ``NORMAL``."""
        msgs = []
        if kind == "text" and len(payload.get("text", "").encode()) > TEXT_LIMIT_BYTES:
            for i, part in enumerate(split_text(payload["text"])):
                msgs.append(NewMessage(f"{key}#{i}", channel, recipient, "text", {"text": part}, employee_id,
                                       priority=priority))
        else:
            msgs.append(NewMessage(key, channel, recipient, kind, payload, employee_id, priority=priority))
        n = await self._enqueue(msgs, at_commit)
        self.services.wake(channel)
        return n

    async def _enqueue(self, msgs: list[NewMessage], at_commit: bool = False) -> int:
        """Inside a unit of work the rows join its transaction: with ``at_commit`` they wait for the
        unit's other such rows and go in together when it commits (a group of events answers with one
        insert); without, they go in now, so a job counts only what was new. On the serving loop
        (channels answering unknown users) they are written from the database thread pool."""
        db, now = self.services.db, self.services.clock.now()
        if current_unit() is not None:
            return enqueue_at_commit(db, msgs, now) if at_commit else enqueue_many(db, msgs, now)
        return await db.run(enqueue_many, db, msgs, now)

    async def send_many(self, items: list[tuple[Employee, str, dict[str, Any], str]]) -> int:
        """Queue many messages at once, ``(employee, kind, payload, key)`` each, in one insert (large
        pushes). Returns how many were new; employees no enabled channel knows are skipped (logged)."""
        msgs: list[NewMessage] = []
        for emp, kind, payload, key in items:
            target = self.route(emp)
            if target is None:
                log.warning("send %s: employee %s has no id on any enabled channel; message not sent", key, emp.id)
                continue
            msgs.append(NewMessage(key, target[0], target[1], kind, payload, emp.id))
        n = await self._enqueue(msgs)
        for ch in {m.channel for m in msgs}:
            self.services.wake(ch)
        return n

    async def send_text(self, who: Employee | str, text: str, key: str, channel: str | None = None, *,
                        priority: int = NORMAL, at_commit: bool = False) -> bool:
        return await self.send(who, "text", {"text": text}, key, channel, priority=priority, at_commit=at_commit)

    async def send_markdown(
        self, who: Employee | str, title: str, text: str, key: str, channel: str | None = None
    ) -> bool:
        return await self.send(who, "markdown", {"title": title, "text": text}, key, channel)

    async def send_card(
        self, who: Employee | str, card: Card, key: str, subject: str, channel: str | None = None, *,
        priority: int = NORMAL, shared: bool = False, at_commit: bool = False,
    ) -> bool:
        """``shared``: the card is the same for everyone who gets it and is never updated, so a channel
        may send it to many people in one call (WeCom: one ``template_card`` with one ``task_id``)."""
        payload: dict[str, Any] = {"card": card.to_dict(), "subject": subject}
        if shared:
            payload["shared"] = True
        return await self.send(who, "card", payload, key, channel, priority=priority, at_commit=at_commit)

    async def send_image(self, who: Employee | str, png: bytes, filename: str, key: str) -> bool:
        data = base64.b64encode(png).decode()
        return await self.send(who, "image", {"filename": filename, "data": data}, key)

    async def send_file(self, who: Employee | str, content: bytes, filename: str, key: str,
                        channel: str | None = None, *, priority: int = NORMAL, at_commit: bool = False) -> bool:
        data = base64.b64encode(content).decode()
        return await self.send(who, "file", {"filename": filename, "data": data}, key, channel, priority=priority,
                               at_commit=at_commit)

    async def update_cards(self, subject: str, card: Card, key: str) -> int:
        """Replace every delivered card about ``subject`` (all recipients, all channels)."""
        msgs = [
            NewMessage(
                f"{key}:{rec.id}", rec.channel, rec.recipient, "update_card",
                {"record_id": rec.id, "card": card.to_dict(), "subject": subject}, rec.employee_id,
            )
            for rec in cardstore.for_subject(self.services.db, subject)
            if rec.channel in self.services.channels
        ]
        n = await self._enqueue(msgs)
        for ch in {m.channel for m in msgs}:
            self.services.wake(ch)
        return n
