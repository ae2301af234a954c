"""Stream frames → neutral events. ACK fast: the event is stored durably (dispatcher.submit), the
frame is acknowledged, and the handlers run afterwards in the dispatcher's background tasks.

Dedup keys (stable across redelivery and restarts):
- bot message: ``dingtalk:msg:<data.msgId>`` — the business id is the same in a redelivered frame
  and in a re-push with a new ``headers.messageId``; falls back to ``headers.messageId``.
- card button: hash of (outTrackId, user, action, card version) — a redelivered callback or a
  double click on the same button of the same card version is processed once; after the card
  changes the same button works again.
- tag toggle: ``dingtalk:frame:<headers.messageId>`` — every real tap toggles, a redelivery not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from dingtalk_stream import AckMessage, CallbackHandler, CallbackMessage

from bot.events import CardAction, TextMessage
from cards.dingtalk import control_for
from cards.model import Card
from storage import cardstore, inbox, locks
from storage.outbox import REPLY, NewMessage, enqueue_many

if TYPE_CHECKING:
    from bot.channels.dingtalk.channel import DingTalkChannel

log = logging.getLogger(__name__)
BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


def message_text(data: dict[str, Any]) -> str:
    kind = data.get("msgtype")
    if kind == "text":
        return str((data.get("text") or {}).get("content", "")).strip()
    if kind == "richText":
        parts = (data.get("content") or {}).get("richText") or []
        return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict)).strip()
    return ""


class BotMessageHandler(CallbackHandler):
    def __init__(self, channel: DingTalkChannel) -> None:
        super().__init__()
        self.channel = channel

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        data, ch = message.data, self.channel
        msg_id = data.get("msgId") or message.headers.message_id
        sender = data.get("senderStaffId") or ""
        if not sender:  # outside the org: no staff id; only the session webhook can answer them
            sender = str(data.get("senderId") or "")
            ch.remember_session(sender, data.get("sessionWebhook"), data.get("sessionWebhookExpiredTime"))
        event = TextMessage(
            channel=ch.name, sender=sender, key=f"dingtalk:msg:{msg_id}",
            conversation_id=data.get("conversationId"),
            text=message_text(data),
        )
        await ch.submit(event)
        return AckMessage.STATUS_OK, "OK"


class CardCallbackHandler(CallbackHandler):
    def __init__(self, channel: DingTalkChannel) -> None:
        super().__init__()
        self.channel = channel
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        data, ch = message.data, self.channel
        content = data.get("content") or "{}"
        if isinstance(content, str):  # `content` is a JSON string inside the (decoded) data
            content = json.loads(content)
        private = content.get("cardPrivateData") or {}
        params = dict(private.get("params") or {})
        action_ids = private.get("actionIds") or []
        user, track = str(data.get("userId") or ""), str(data.get("outTrackId") or "")
        rec = await ch.db.run(cardstore.find_by_handle, ch.db, ch.name, track) if track else None  # off the loop
        card = Card.from_dict(rec.card) if rec is not None else None
        if card is not None and not params and action_ids:
            params = control_for(card, str(action_ids[0])) or {}
        if "tag" in params and rec is not None:
            async with self._locks[track]:
                await self._toggle(message.headers.message_id, user, track, str(params["tag"]))
            return AckMessage.STATUS_OK, {}
        action = str(params.get("action") or "")
        if not action:
            log.warning("card callback without an action on %s from %s: %r", track, user, content)
        selected: dict[str, list[str]] = {}
        if card is not None and card.tags is not None:
            selected[card.tags.question_key] = list(card.tags.selected)
        version = rec.updated_at.isoformat() if rec is not None else ""
        digest = hashlib.sha256(f"{track}|{user}|{action}|{version}".encode()).hexdigest()[:40]
        event = CardAction(
            channel=ch.name, sender=user, key=f"dingtalk:card:{digest}", conversation_id=data.get("spaceId"),
            action=action, selected=selected,
            handle={"outTrackId": track, "record_id": rec.id if rec is not None else None},
        )
        await ch.submit(event)
        return AckMessage.STATUS_OK, {}

    async def _toggle(self, message_id: str, user: str, track: str, option: str) -> None:
        """Toggle one tag on the user's card and show the running selection (stored on the record).
        One database round trip and one transaction (in the database thread pool): the tap is
        recorded, the card updated, its redraw queued and the tap marked done together, or none."""
        await self.channel.db.run(toggle_tag, self.channel, message_id, user, track, option)


def toggle_tag(ch: DingTalkChannel, message_id: str, user: str, track: str, option: str) -> None:
    """The tag toggle's unit of work (blocking; see :meth:`CardCallbackHandler._toggle`)."""
    db, now = ch.db, ch.now()
    with db.unit_of_work():
        rec = cardstore.find_by_handle(db, ch.name, track)
        if rec is None or rec.recipient != user:
            log.warning("tag toggle on %s by %s ignored: not their card", track, user)
            return
        if rec.employee_id:  # other processes' taps on this person's cards wait for this one
            locks.hold_for_transaction(db, rec.employee_id)
            rec = cardstore.find_by_handle(db, ch.name, track) or rec  # as the lock holder left it
        key = f"dingtalk:frame:{message_id}"
        if not inbox.accept(db, key, ch.name, {"toggle": option, "card": track}, now):
            return  # a redelivered frame: this tap was applied already
        card = Card.from_dict(rec.card)
        tags = card.tags
        if tags is not None and not card.state and option in {o.id for o in tags.options}:
            chosen = set(tags.selected)
            if option in chosen:
                chosen.discard(option)
            elif len(chosen) < tags.max_selected:
                chosen.add(option)
            tags.selected = [o.id for o in tags.options if o.id in chosen]
            cardstore.update_handle(db, rec.id, {"selected": tags.selected}, now, card=card.to_dict())
            payload = {"record_id": rec.id, "card": card.to_dict(), "subject": rec.subject}
            enqueue_many(db, [NewMessage(f"{key}:show", ch.name, rec.recipient, "update_card", payload,
                                         rec.employee_id, priority=REPLY)], now)
            ch.services.wake(ch.name)  # after the commit
        inbox.finish(db, key, now)
