"""Outbox rows → DingTalk OpenAPI calls (proactive sends only; never the session webhook for
anything late, LESSONS #8).

- text/markdown to staff ids: ``oToMessages/batchSend``; rows with identical payload share a call
  (≤ batch_size ≤ 20 distinct userIds). ``invalidStaffIdList``/``filteredStaffIdList`` → failed,
  ``flowControlledStaffIdList`` → retry for those users only.
- recipients ``group:<openConversationId>``: ``groupMessages/send``.
- ``group_text`` rows (payload ``{"text", "mentions": [staff ids]}``, recipient the group's
  openConversationId from ``Department.dingtalk_conversation_id``, with or without ``group:``):
  ``groupMessages/send`` with ``sampleText``. An app robot's group message cannot @ people by staff
  id through this API (no ``atUserIds`` in msgParam; only session webhooks and card deliveries take
  @-lists), so the mentioned people are named in the text as 「@姓名」 — readable, but DingTalk
  does not notify them as a real @. The robot must have been added to that group. groupMessages/send
  has no idempotency handle: a row reclaimed in doubt after a crash mid-call may show twice.
- cards: StandardCard via ``interactiveCards/send`` (or ``createAndDeliver`` with a template), the
  card id derived from the outbox key, so an in-doubt resend is the same card and DingTalk
  deduplicates it.
- update_card: PUT the new card data by that id.

Every OpenAPI call takes a permit from the app-wide limiter first (``[dingtalk] app_qps``, shared
by all processes on PostgreSQL).

batchSend has no idempotency handle. Exactly-once across a crash therefore relies on: the
``processQueryKey`` of an accepted call is written onto its rows (``storage.outbox.note_accepted``) before
the worker marks them sent; a reclaimed in-doubt row that carries one is not sent again. The one
window left — DingTalk accepted the call but we died (or timed out) before reading its answer —
is resent (at-least-once there); docs/dingtalk.md explains it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.channels.base import Delivery, distinct_recipient_calls
from bot.channels.base import mention_prefix as shared_mention_prefix
from bot.channels.dingtalk.openapi import DingTalkApiError
from cards.dingtalk import STANDARD_TEMPLATE, render_params, render_standard
from cards.model import Card
from storage import cardstore, outbox
from storage.db import Database
from storage.outbox import Claimed

if TYPE_CHECKING:
    from bot.channels.dingtalk.channel import DingTalkChannel

log = logging.getLogger(__name__)
GROUP_PREFIX = "group:"
FLOW_CONTROL_RETRY_SECONDS = 60.0


def card_id(robot_code: str, outbox_key: str) -> str:
    """Deterministic cardBizId/outTrackId: the same outbox row always makes the same card."""
    return hashlib.sha256(f"perfbot|{robot_code}|{outbox_key}".encode()).hexdigest()


def _message(item: Claimed) -> tuple[str, dict[str, str]]:
    p = item.payload
    if item.kind == "markdown":
        return "sampleMarkdown", {"title": p.get("title") or "绩效助手", "text": p["text"]}
    return "sampleText", {"content": p["text"]}


def _failure(exc: Exception) -> Delivery:
    """A failed call's outcome for its rows: a 5xx, a time-out or a dropped connection may have been
    acted on by DingTalk (in doubt); a refused connection was not."""
    if isinstance(exc, DingTalkApiError):
        if exc.retryable:
            return Delivery("retry", error=str(exc), in_doubt=exc.status >= 500)
        return Delivery("failed", error=str(exc))
    return Delivery("retry", error=f"network: {exc!r}", in_doubt=not isinstance(exc, aiohttp.ClientConnectorError))


NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


class Outbound:
    def __init__(self, channel: DingTalkChannel) -> None:
        self.ch = channel

    async def deliver(self, items: list[Claimed]) -> list[Delivery]:
        results: list[Delivery | None] = [None] * len(items)
        groups: dict[str, list[int]] = {}
        singles: list[int] = []
        for i, item in enumerate(items):
            if item.kind in ("text", "markdown") and item.result.get("processQueryKey"):
                results[i] = Delivery("sent", handle=dict(item.result))  # accepted before a crash
            elif item.kind in ("text", "markdown") and not item.recipient.startswith(GROUP_PREFIX) \
                    and self.ch.session_for(item.recipient) is None:
                sig = json.dumps([item.kind, item.payload], sort_keys=True, ensure_ascii=False)
                groups.setdefault(sig, []).append(i)
            else:
                singles.append(i)
        calls = [(False, [i]) for i in singles] + [
            (True, call) for idxs in groups.values()
            for call in distinct_recipient_calls(idxs, [it.recipient for it in items], self.ch.batch_size)]
        # In the rows' order (replies first: storage.outbox.claim_due): a reply must not wait for
        # every card of a bulk round, nor a batchSend for the round's single sends.
        with self.ch.limiter.line_up(len(calls)) as line:  # the next round's claim counts them as made
            for batch, call in sorted(calls, key=lambda c: min(c[1])):
                await line.take(urgent=any(items[i].urgent for i in call))
                if not batch:
                    results[call[0]] = await self._one(items[call[0]])
                    continue
                for i, res in zip(call, await self.batch_send([items[i] for i in call]), strict=True):
                    results[i] = res
        return [r if r is not None else Delivery("failed", error="not handled") for r in results]

    async def _one(self, item: Claimed) -> Delivery:
        try:
            if item.kind in ("text", "markdown"):
                if item.recipient.startswith(GROUP_PREFIX):
                    return await self.group_send(item)
                return await self.session_reply(item)
            if item.kind == "card":
                return await self.send_card(item)
            if item.kind == "update_card":
                return await self.update_card(item)
            if item.kind == "group_text":
                return await self.group_text(item)
        except DingTalkApiError as exc:
            log.warning("DingTalk refused %s %s to %s: %s", item.kind, item.key, item.recipient, exc)
            return _failure(exc)
        except NETWORK_ERRORS as exc:
            return _failure(exc)
        return Delivery("failed", error=f"{item.kind} messages are not supported on DingTalk yet")

    # -- 1:1 batch ----------------------------------------------------------------------------
    async def batch_send(self, rows: list[Claimed]) -> list[Delivery]:
        msg_key, param = _message(rows[0])
        body = {"robotCode": self.ch.robot_code, "userIds": [r.recipient for r in rows], "msgKey": msg_key,
                "msgParam": json.dumps(param, ensure_ascii=False)}
        try:
            resp = await self.ch.api.call("POST", "/v1.0/robot/oToMessages/batchSend", body)
        except (DingTalkApiError, *NETWORK_ERRORS) as exc:
            if isinstance(exc, DingTalkApiError) and exc.throttled:
                log.info("DingTalk throttled batchSend (%s); backing off", exc.code)
            return [_failure(exc) for _ in rows]
        pqk = str(resp.get("processQueryKey") or "")
        invalid = set(resp.get("invalidStaffIdList") or [])
        filtered = set(resp.get("filteredStaffIdList") or [])
        flow = set(resp.get("flowControlledStaffIdList") or [])
        accepted = [r for r in rows if r.recipient not in invalid | filtered | flow]
        handle = {"processQueryKey": pqk}
        await self.ch.db.run(outbox.note_accepted, self.ch.db, [r.id for r in accepted], handle)  # before marking
        out = []
        for r in rows:
            if r.recipient in invalid:
                out.append(Delivery("failed", error=f"DingTalk: invalid staff id {r.recipient}"))
            elif r.recipient in filtered:
                out.append(Delivery("failed", error=f"DingTalk filtered the message to {r.recipient}"))
            elif r.recipient in flow:
                out.append(Delivery("retry", error="DingTalk flow control", retry_after=FLOW_CONTROL_RETRY_SECONDS))
            else:
                out.append(Delivery("sent", handle=handle))
        return out

    async def group_send(self, item: Claimed) -> Delivery:
        msg_key, param = _message(item)
        resp = await self.ch.api.call("POST", "/v1.0/robot/groupMessages/send", {
            "robotCode": self.ch.robot_code, "openConversationId": item.recipient[len(GROUP_PREFIX):],
            "msgKey": msg_key, "msgParam": json.dumps(param, ensure_ascii=False)})
        return Delivery("sent", handle={"processQueryKey": str(resp.get("processQueryKey") or "")})

    async def group_text(self, item: Claimed) -> Delivery:
        cid = item.recipient[len(GROUP_PREFIX):] if item.recipient.startswith(GROUP_PREFIX) else item.recipient
        content = await self.ch.db.run(mention_prefix, self.ch.db, list(item.payload.get("mentions") or []))
        content += item.payload["text"]
        resp = await self.ch.api.call("POST", "/v1.0/robot/groupMessages/send", {
            "robotCode": self.ch.robot_code, "openConversationId": cid, "msgKey": "sampleText",
            "msgParam": json.dumps({"content": content}, ensure_ascii=False)})
        return Delivery("sent", handle={"processQueryKey": str(resp.get("processQueryKey") or "")})

    async def session_reply(self, item: Claimed) -> Delivery:
        """Users outside the org (no staff id) can only be answered on their live session webhook."""
        url = self.ch.session_for(item.recipient)
        if url is None:
            return Delivery("failed", error="no staff id and the session webhook expired")
        msg_key, param = _message(item)
        body: dict[str, Any] = ({"msgtype": "markdown", "markdown": param} if msg_key == "sampleMarkdown"
                                else {"msgtype": "text", "text": param})
        session = await self.ch.api.session()
        async with session.post(url, json=body) as resp:
            answer = await resp.json(content_type=None)
        if resp.status != 200 or (answer or {}).get("errcode") not in (0, None):
            return Delivery("failed", error=f"session webhook: {resp.status} {answer}")
        return Delivery("sent")

    # -- cards --------------------------------------------------------------------------------
    async def send_card(self, item: Claimed) -> Delivery:
        card = Card.from_dict(item.payload["card"])
        cid = card_id(self.ch.robot_code, item.key)
        rcpt = item.recipient
        template = self.ch.settings.card_template_id
        if template:
            space = (f"dtv1.card//IM_GROUP.{rcpt[len(GROUP_PREFIX):]}" if rcpt.startswith(GROUP_PREFIX)
                     else f"dtv1.card//IM_ROBOT.{rcpt}")
            resp = await self.ch.api.call("POST", "/v1.0/card/instances/createAndDeliver", {
                "cardTemplateId": template, "outTrackId": cid, "callbackType": "STREAM",
                "cardData": {"cardParamMap": render_params(card)}, "openSpaceId": space, "userIdType": 1,
                "imRobotOpenSpaceModel": {"supportForward": False},
                "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": self.ch.robot_code},
                "imGroupOpenSpaceModel": {"supportForward": False},
                "imGroupOpenDeliverModel": {"robotCode": self.ch.robot_code},
            })
            results = ((resp.get("result") or {}).get("deliverResults")) or []
            bad = [r for r in results if not r.get("success")]
            if bad:
                return Delivery("failed", error=f"card not delivered: {bad[0].get('errorMsg')}")
            return Delivery("sent", handle={"cardBizId": cid, "mode": "template"}, handle_key=cid)
        body: dict[str, Any] = {"cardTemplateId": STANDARD_TEMPLATE, "robotCode": self.ch.robot_code,
                                "cardBizId": cid, "cardData": json.dumps(render_standard(card), ensure_ascii=False),
                                "sendOptions": {}}
        if rcpt.startswith(GROUP_PREFIX):
            body["openConversationId"] = rcpt[len(GROUP_PREFIX):]
        else:
            body["singleChatReceiver"] = json.dumps({"userId": rcpt})
        resp = await self.ch.api.call("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", body)
        handle = {"cardBizId": cid, "mode": "standard", "processQueryKey": str(resp.get("processQueryKey") or "")}
        return Delivery("sent", handle=handle, handle_key=cid)

    async def update_card(self, item: Claimed) -> Delivery:
        rec = await self.ch.db.run(cardstore.get, self.ch.db, item.payload["record_id"])
        if rec is None or not rec.handle.get("cardBizId"):
            return Delivery("failed", error=f"no delivered DingTalk card for record {item.payload['record_id']}")
        card = Card.from_dict(item.payload["card"])
        cid = rec.handle["cardBizId"]
        if rec.handle.get("mode") == "template":
            await self.ch.api.call("PUT", "/v1.0/card/instances", {
                "outTrackId": cid, "cardData": {"cardParamMap": render_params(card)},
                "cardUpdateOptions": {"updateCardDataByKey": True}, "userIdType": 1})
        else:
            await self.ch.api.call("PUT", "/v1.0/im/robots/interactiveCards", {
                "cardBizId": cid, "cardData": json.dumps(render_standard(card), ensure_ascii=False)})
        return Delivery("sent", handle={"cardBizId": cid})


def mention_prefix(db: Database, user_ids: list[str]) -> str:
    return shared_mention_prefix(db, "dingtalk_userid", user_ids)
