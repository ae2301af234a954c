"""Outbox rows → WeCom API calls → Delivery results (error codes mapped to retry/failed).

``group_text`` rows (payload ``{"text", "mentions": [wecom userids]}``, recipient = a chat id) go to
``appchat/send``. That API only reaches group chats this app created with ``appchat/create``
(configured per department as ``Department.wecom_chat_id``; anything else answers 86003) and has no
@-mention for app chats (``mentioned_list`` exists only for group-robot webhooks), so the mentioned
people are named in the text as 「@姓名」. appchat/send has no duplicate check: a row reclaimed in
doubt after a crash mid-call may be shown twice in the group (at-least-once there).
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from typing import Any

import aiohttp

from bot.channels.base import Delivery
from bot.channels.base import mention_prefix as shared_mention_prefix
from bot.channels.wecom.api import TOKEN_ERRORS, WeComAPI, WeComError
from cards.model import Card
from cards.wecom import cut_bytes, render_template_card, task_id_for
from storage import cardstore
from storage.db import Database
from storage.outbox import Claimed

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
DUPLICATE_CHECK_INTERVAL = 4 * 3600  # the maximum WeCom allows
TEXT_MAX_BYTES = 2048


def _common(item: Claimed) -> dict[str, Any]:
    msg: dict[str, Any] = {"touser": item.recipient}
    if item.in_doubt:  # a previous worker may have sent it already: let WeCom drop a duplicate
        msg["enable_duplicate_check"] = 1
        msg["duplicate_check_interval"] = DUPLICATE_CHECK_INTERVAL
    return msg


def _invalid(body: dict[str, Any], recipient: str) -> str | None:
    for field in ("invaliduser", "unlicenseduser"):
        if recipient in str(body.get(field) or "").split("|"):
            return f"{field}: {recipient}"
    return None


async def deliver_one(api: WeComAPI, db: Database, item: Claimed) -> Delivery:
    """Send one outbox row; never raises for a per-row problem."""
    try:
        return await _deliver(api, db, item)
    except WeComError as exc:
        return _classify(exc, item)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Delivery("retry", error=f"network: {exc.__class__.__name__}: {exc}")


def _classify(exc: WeComError, item: Claimed) -> Delivery:
    code = exc.errcode
    if code in BUSY:
        return Delivery("retry", error=f"busy {code}: {exc.errmsg}", retry_after=BUSY[code])
    if code in TOKEN_ERRORS:
        # already refreshed and retried once inside the call: back off, the worker bounds attempts
        return Delivery("retry", error=f"token rejected twice ({code})", retry_after=60.0)
    if code == DUPLICATE_TASK_ID and item.in_doubt and item.kind == "card":
        return Delivery("sent", handle={"task_id": task_id_for(item.key), "resent": True},
                        handle_key=task_id_for(item.key))
    reason = PERMANENT.get(code, exc.errmsg)
    return Delivery("failed", error=f"errcode {code}: {reason}")


async def _deliver(api: WeComAPI, db: Database, item: Claimed) -> Delivery:
    p = item.payload
    msg = _common(item)
    if item.kind == "text":
        msg |= {"msgtype": "text", "text": {"content": cut_bytes(p["text"], TEXT_MAX_BYTES)}}
    elif item.kind == "markdown":
        content = f"**{p['title']}**\n{p['text']}" if p.get("title") else p["text"]
        msg |= {"msgtype": "markdown", "markdown": {"content": cut_bytes(content, TEXT_MAX_BYTES)}}
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
    content = mention_prefix(db, list(p.get("mentions") or [])) + p["text"]
    await api.appchat_send({"chatid": item.recipient, "msgtype": "text",
                            "text": {"content": cut_bytes(content, TEXT_MAX_BYTES)}, "safe": 0})
    return Delivery("sent", handle={"chatid": item.recipient})


async def _update(api: WeComAPI, db: Database, item: Claimed) -> Delivery:
    """Replace a delivered card using the freshest unused response_code (the latest click, else the send's)."""
    rec = cardstore.get(db, item.payload["record_id"])
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

