"""The outbox worker: claims due rows for one channel, paces per user, delivers, records results."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import timedelta

from bot.channels.base import Channel, Delivery
from bot.redact import redact
from bot.services import Services
from storage import cardstore
from storage import outbox as ob

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def backoff_seconds(attempt: int) -> float:
    return float(min(300, 2 ** max(0, attempt - 1)))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class OutboxWorker:
    def __init__(self, services: Services, channel: Channel, poll_interval: float = 1.0) -> None:
        self.services = services
        self.channel = channel
        self.owner = f"{worker_id()}:{channel.name}"
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.channel.name}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                n = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker %s failed a round; retrying", self.channel.name)
                n = 0
            if n == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                except TimeoutError:
                    pass

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Deliver until nothing is due (tests, ``outbox drain``)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.drain_once()
            if n == 0:
                break
            total += n
        return total

    async def drain_once(self, limit: int = 200) -> int:
        db, ch = self.services.db, self.channel
        now = self.services.now()
        items = ob.claim_due(db, ch.name, self.owner, now, limit=limit)
        if not items:
            return 0
        items = self._pace(items, now)
        handled = 0
        for i in range(0, len(items), max(1, ch.batch_size)):
            batch = items[i : i + ch.batch_size]
            try:
                results = await ch.deliver(batch)
            except Exception as exc:  # platform unreachable: retry everything later
                log.warning("%s delivery failed (%s); will retry", ch.name, exc)
                results = [Delivery("retry", error=f"unreachable: {exc}") for _ in batch]
            for item, res in zip(batch, results, strict=True):
                self._record(item, res)
                handled += 1
        return handled

    def _pace(self, items: list[ob.Claimed], now) -> list[ob.Claimed]:
        """Hold back rows for recipients at their per-minute/hour budget (platforms drop silently)."""
        ch, db = self.channel, self.services.db
        if not ch.per_user_per_minute:
            return items
        recipients = [i.recipient for i in items if i.kind != "update_card"]
        minute = ob.recent_send_counts(db, ch.name, recipients, now - timedelta(minutes=1))
        hour = ob.recent_send_counts(db, ch.name, recipients, now - timedelta(hours=1)) if ch.per_user_per_hour else {}
        keep: list[ob.Claimed] = []
        for item in items:
            if item.kind == "update_card":
                keep.append(item)
                continue
            m, h = minute.get(item.recipient, 0), hour.get(item.recipient, 0)
            if m >= ch.per_user_per_minute or (ch.per_user_per_hour and h >= ch.per_user_per_hour):
                wait = 60 if m >= ch.per_user_per_minute else 600
                ob.mark_retry(db, item.id, self.owner, "paced: per-user limit", now + timedelta(seconds=wait),
                              undo_attempt=True)
                continue
            minute[item.recipient] = m + 1
            hour[item.recipient] = h + 1
            keep.append(item)
        return keep

    def _record(self, item: ob.Claimed, res: Delivery) -> None:
        db = self.services.db
        now = self.services.now()
        if res.status == "sent":
            ob.mark_sent(db, item.id, self.owner, now, res.handle)
            if item.kind == "card" and item.payload.get("subject"):
                cardstore.record(
                    db, subject=item.payload["subject"], channel=item.channel, recipient=item.recipient,
                    employee_id=item.employee_id, outbox_key=item.key, handle=res.handle,
                    card=item.payload["card"], now=now, handle_key=res.handle_key,
                )
            elif item.kind == "update_card" and item.payload.get("record_id"):
                cardstore.update_handle(db, item.payload["record_id"], res.handle, now,
                                        state=item.payload["card"].get("state"), card=item.payload["card"])
        elif res.status == "retry" and item.attempts < MAX_ATTEMPTS:
            delay = res.retry_after if res.retry_after is not None else backoff_seconds(item.attempts)
            ob.mark_retry(db, item.id, self.owner, redact(res.error or "retry"), now + timedelta(seconds=delay))
        else:
            log.error("outbox %s to %s on %s failed permanently: %s", item.key, item.recipient, item.channel, res.error)
            ob.mark_failed(db, item.id, self.owner, redact(res.error or "failed"), now)
