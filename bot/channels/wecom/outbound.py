"""Outbox rows → WeCom API calls → Delivery results (error codes mapped to retry/failed).

``group_text`` rows (payload ``{"text", "mentions": [wecom userids]}``, recipient = a chat id) go to
``appchat/send``. That API only reaches group chats this app created with ``appchat/create``
(configured per department as ``Department.wecom_chat_id``; anything else answers 86003) and has no
@-mention for app chats (``mentioned_list`` exists only for group-robot webhooks), so the mentioned
people are named in the text as 「@姓名」. appchat/send has no duplicate check: a row reclaimed in
doubt after a crash mid-call may be shown twice in the group (at-least-once there).

Identical text/markdown to many people goes as one ``message/send`` with ``touser`` joined by
``|`` (≤ ``[wecom] max_users_per_call``, at most 1000); ``invaliduser``/``unlicenseduser`` fail
only those people's rows. Every call takes a permit from the app-wide limiter
(``[wecom] app_calls_per_minute``, shared by all processes on PostgreSQL).

In doubt (docs/wecom.md "Delivery"): a send that timed out, lost its connection or got a 5xx may
have been delivered. Such rows (and rows reclaimed after a crash) are resent with
``enable_duplicate_check`` over the longest interval WeCom allows (4 h); a card is resent with the
same ``task_id`` and WeCom's "task_id already used" (40098) means it was delivered: the card is
recorded as sent. A card update in doubt whose response_code is then refused (40058) was applied.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.channels.base import Delivery, distinct_recipient_calls
from bot.channels.base import mention_prefix as shared_mention_prefix
from bot.channels.wecom.api import TOKEN_ERRORS, InDoubt, WeComAPI, WeComError
from bot.ratelimit import AppLimiter
from cards.model import Card
from cards.wecom import cut_bytes, render_template_card, task_id_for
from storage import cardstore
from storage.db import Database
from storage.outbox import Claimed, note_groups

log = logging.getLogger(__name__)

BUSY = {-1: 5.0, 45009: 60.0, 45033: 5.0}  # system busy / frequency / concurrency → retry after s
PERMANENT = {
    81013: "收件人无效（用户、部门、标签均无效）",
    60111: "用户不存在",
    60020: "服务器 IP 不在企业可信 IP 列表中，请在管理后台添加",
    40003: "无效的 UserID",
    86001: "群聊 chatid 不合法（检查部门的 wecom_chat_id）",
    86003: "群聊不存在：appchat/send 只能发往本应用通过 appchat/create 创建的群（检查部门的 wecom_chat_id）",
}
DUPLICATE_TASK_ID = 40098  # task_id already used by this app (exact code unconfirmed; see docs/wecom.md)
USED_RESPONSE_CODE = 40058  # response_code invalid/used (an in-doubt update was applied)
CONCURRENCY = 20  # parallel API calls
DUPLICATE_CHECK_INTERVAL = 4 * 3600  # the maximum WeCom allows
TEXT_MAX_BYTES = 2048


def _common(item: Claimed) -> dict[str, Any]:
    msg: dict[str, Any] = {"touser": item.recipient}
    if item.in_doubt and item.kind != "card":  # it may have arrived already: let WeCom drop a repeat
        # (a card's unique task_id is its dedup: a resend answers 40098, see _classify)
        msg["enable_duplicate_check"] = 1
        msg["duplicate_check_interval"] = DUPLICATE_CHECK_INTERVAL
    return msg


def _invalid(body: dict[str, Any], recipient: str) -> str | None:
    for field in ("invaliduser", "unlicenseduser"):
        if recipient in str(body.get(field) or "").split("|"):
            return f"{field}: {recipient}"
    return None


class Outbound:
    """Claimed rows → the fewest WeCom calls, within the app's call budget."""

    def __init__(self, api: WeComAPI, db: Database, limiter: AppLimiter, max_users: int) -> None:
        self.api, self.db, self.limiter, self.max_users = api, db, limiter, max_users

    async def deliver(self, items: list[Claimed]) -> list[Delivery]:
        results: list[Delivery | None] = [None] * len(items)
        calls: list[tuple[list[int], Callable[[], Awaitable[list[Delivery]]]]] = []
        groups: dict[str, list[int]] = {}
        cards: dict[str, list[int]] = {}  # shared cards not sent before, by content
        sent_before: dict[str, list[int]] = {}  # shared cards already sent (or tried) as a group, by task_id
        for i, item in enumerate(items):
            if item.kind in ("text", "markdown"):
                sig = json.dumps([_content(item), item.in_doubt], sort_keys=True, ensure_ascii=False)
                groups.setdefault(sig, []).append(i)
            elif item.kind == "card" and (group := item.result.get("group")):
                sent_before.setdefault(group["task_id"], []).append(i)
            elif item.kind == "card" and item.payload.get("shared") and not item.in_doubt:
                cards.setdefault(json.dumps(item.payload["card"], sort_keys=True, ensure_ascii=False), []).append(i)
            else:
                calls.append(([i], lambda item=item: self._one(item)))
        recipients = [it.recipient for it in items]
        for idxs in groups.values():
            for call in distinct_recipient_calls(idxs, recipients, self.max_users):
                calls.append((call, lambda call=call: self._many([items[j] for j in call])))
        notes: dict[int, dict[str, Any]] = {}
        for idxs in cards.values():
            for call in distinct_recipient_calls(idxs, recipients, self.max_users):
                if len(call) == 1:
                    calls.append((call, lambda item=items[call[0]]: self._one(item)))
                    continue
                note = {"task_id": task_id_for(f"group:{items[call[0]].key}"), "to": [recipients[j] for j in call]}
                notes.update((items[j].id, note) for j in call)
                calls.append((call, lambda call=call, note=note: self._shared([items[j] for j in call], note)))
        for idxs in sent_before.values():
            note = items[idxs[0]].result["group"]
            calls.append((idxs, lambda idxs=idxs, note=note: self._shared([items[j] for j in idxs], note)))
        # Before any call: who shares a card and under which task_id is on the rows, so a resend after
        # a crash or a lost answer goes to the same people with the same task_id (WeCom refuses a
        # task_id twice, so a resend of a card that arrived is recognised: 40098).
        if notes:
            await self.db.run(note_groups, self.db, notes, {it.id: it.result for it in items if it.id in notes})
        # In the rows' order (replies first: storage.outbox.claim_due), not cards before texts: a
        # reply a bulk round took along waited behind every card of the round (13 s in bench_wecom).
        calls.sort(key=lambda c: min(c[0]))
        slots = asyncio.Semaphore(CONCURRENCY)  # a slow call holds one slot, not a whole round
        with self.limiter.line_up(len(calls)) as line:  # the next round's claim counts them as made

            async def run(idxs: list[int], fn: Callable[[], Awaitable[list[Delivery]]]) -> None:
                async with slots:
                    await line.take(urgent=any(items[j].urgent for j in idxs))
                    for j, d in zip(idxs, await fn(), strict=True):
                        results[j] = d

            await asyncio.gather(*(run(idxs, fn) for idxs, fn in calls))
        return [r or Delivery("failed", error="not handled") for r in results]

    async def _one(self, item: Claimed) -> list[Delivery]:
        return [await deliver_one(self.api, self.db, item)]

    async def _many(self, rows: list[Claimed]) -> list[Delivery]:
        """One message/send for identical content to several people; per-person outcome."""
        if len(rows) == 1:
            return await self._one(rows[0])
        msgtype, content = _content(rows[0])
        msg = {**_common(rows[0]), "touser": "|".join(r.recipient for r in rows), "msgtype": msgtype,
               msgtype: content}
        return await self._send_for(rows, msg, lambda body: Delivery("sent", handle={"msgid": body.get("msgid")}))

    async def _shared(self, rows: list[Claimed], note: dict[str, Any]) -> list[Delivery]:
        """One ``template_card`` for the people of ``note`` (``task_id``, ``to``), whose rows are
        ``rows`` (all of them the first time; on a resend, those claimed now, while the call goes to the
        whole group again). Once WeCom has taken the task_id, a resend answers 40098: delivered."""
        task_id = note["task_id"]
        card = render_template_card(Card.from_dict(rows[0].payload["card"]), task_id)
        msg = {"touser": "|".join(note["to"]), "msgtype": "template_card", "template_card": card}

        def sent(body: dict[str, Any]) -> Delivery:
            handle = {"task_id": task_id, "msgid": body.get("msgid"), "response_code": body.get("response_code"),
                      "group": True}
            return Delivery("sent", handle=handle, handle_key=task_id)

        def had_it(exc: WeComError) -> list[Delivery] | None:
            if exc.errcode != DUPLICATE_TASK_ID:
                return None
            return [Delivery("sent", handle={"task_id": task_id, "group": True, "resent": True}, handle_key=task_id)
                    for _ in rows]

        return await self._send_for(rows, msg, sent, had_it)

    async def _send_for(self, rows: list[Claimed], msg: dict[str, Any], sent: Callable[[dict[str, Any]], Delivery],
                        refused: Callable[[WeComError], list[Delivery] | None] | None = None) -> list[Delivery]:
        """One message/send on behalf of ``rows``: each row's outcome, ``sent(body)`` unless WeCom names that
        person in ``invaliduser``; ``refused`` may settle an error answer itself (None: classify it)."""
        try:
            body = await self.api.send(msg)
        except WeComError as exc:
            settled = refused(exc) if refused is not None else None
            return settled if settled is not None else [_classify(exc, r) for r in rows]
        except InDoubt as exc:
            return [Delivery("retry", error=f"in doubt: {exc}", in_doubt=True) for _ in rows]
        except (aiohttp.ClientError, TimeoutError) as exc:
            return [Delivery("retry", error=f"network: {exc.__class__.__name__}: {exc}") for _ in rows]
        return [Delivery("failed", error=bad) if (bad := _invalid(body, r.recipient)) else sent(body) for r in rows]


def _content(item: Claimed) -> tuple[str, dict[str, Any]]:
    p = item.payload
    if item.kind == "markdown":
        content = f"**{p['title']}**\n{p['text']}" if p.get("title") else p["text"]
        return "markdown", {"content": cut_bytes(content, TEXT_MAX_BYTES)}
    return "text", {"content": cut_bytes(p["text"], TEXT_MAX_BYTES)}


async def deliver_one(api: WeComAPI, db: Database, item: Claimed) -> Delivery:
    """Send one outbox row; never raises for a per-row problem."""
    try:
        return await _deliver(api, db, item)
    except WeComError as exc:
        return _classify(exc, item)
    except InDoubt as exc:
        return Delivery("retry", error=f"in doubt: {exc}", in_doubt=True)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Delivery("retry", error=f"network: {exc.__class__.__name__}: {exc}")


def _classify(exc: WeComError, item: Claimed) -> Delivery:
    code = exc.errcode
    if code in BUSY:
        return Delivery("retry", error=f"busy {code}: {exc.errmsg}", retry_after=BUSY[code])
    if code in TOKEN_ERRORS:
        # already refreshed and retried once inside the call: back off like any outage, then park
        return Delivery("retry", error=f"token rejected twice ({code})")
    if code == DUPLICATE_TASK_ID and item.in_doubt and item.kind == "card":
        return Delivery("sent", handle={"task_id": task_id_for(item.key), "resent": True},
                        handle_key=task_id_for(item.key))
    if code == USED_RESPONSE_CODE and item.in_doubt and item.kind == "update_card":
        return Delivery("sent", handle={"update_in_doubt": True})
    reason = PERMANENT.get(code, exc.errmsg)
    return Delivery("failed", error=f"errcode {code}: {reason}")


async def _deliver(api: WeComAPI, db: Database, item: Claimed) -> Delivery:
    p = item.payload
    msg = _common(item)
    if item.kind in ("text", "markdown"):
        msgtype, content = _content(item)
        msg |= {"msgtype": msgtype, msgtype: content}
    elif item.kind == "card":
        task_id = task_id_for(item.key)
        card = render_template_card(Card.from_dict(p["card"]), task_id)
        msg |= {"msgtype": "template_card", "template_card": card}
        body = await api.send(msg)
        if bad := _invalid(body, item.recipient):
            return Delivery("failed", error=bad)
        handle = {"task_id": task_id, "msgid": body.get("msgid"), "response_code": body.get("response_code")}
        return Delivery("sent", handle=handle, handle_key=task_id)
    elif item.kind == "update_card":
        return await _update(api, db, item)
    elif item.kind == "group_text":
        return await _group_text(api, db, item)
    elif item.kind in ("image", "file"):
        data = base64.b64decode(p["data"])
        ctype = mimetypes.guess_type(p["filename"])[0] or "application/octet-stream"
        media_id = await api.upload(item.kind, p["filename"], data, ctype)
        msg |= {"msgtype": item.kind, item.kind: {"media_id": media_id}}
    else:
        return Delivery("failed", error=f"unknown kind {item.kind}")
    body = await api.send(msg)
    if bad := _invalid(body, item.recipient):
        return Delivery("failed", error=bad)
    return Delivery("sent", handle={"msgid": body.get("msgid")})


def mention_prefix(db: Database, user_ids: list[str]) -> str:
    return shared_mention_prefix(db, "wecom_userid", user_ids)


async def _group_text(api: WeComAPI, db: Database, item: Claimed) -> Delivery:
    p = item.payload
    content = await db.run(mention_prefix, db, list(p.get("mentions") or [])) + p["text"]
    await api.appchat_send({"chatid": item.recipient, "msgtype": "text",
                            "text": {"content": cut_bytes(content, TEXT_MAX_BYTES)}, "safe": 0})
    return Delivery("sent", handle={"chatid": item.recipient})


async def _update(api: WeComAPI, db: Database, item: Claimed) -> Delivery:
    """Replace a delivered card using the freshest unused response_code (the latest click, else the send's)."""
    rec = await db.run(cardstore.get, db, item.payload["record_id"])
    if rec is None or not rec.handle.get("task_id"):
        return Delivery("failed", error="card record not found: nothing to update")
    handle = rec.handle
    used = handle.get("used_response_codes", [])
    fresh = [c for c in (handle.get("click_response_code"), handle.get("response_code")) if c and c not in used]
    if not fresh:
        return Delivery("failed", error="no fresh response_code for this card (already updated once)")
    card = render_template_card(Card.from_dict(item.payload["card"]), handle["task_id"])
    code = fresh[0]
    body = {"userids": [item.recipient], "response_code": code, "template_card": card}
    await api.update_template_card(body)  # errors (e.g. a used/expired code) are classified by the caller
    return Delivery("sent", handle={"used_response_codes": [*used, code][-20:]})

