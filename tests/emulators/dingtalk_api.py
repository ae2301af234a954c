"""DingTalk's OpenAPI side for tests (spec B7–B10, C2.5–C2.8, C2.10): access token, robot batch
and group sends, the robot's StandardCard send/update, card_1_0 createAndDeliver/update, session
webhooks. Errors are ``{code, message, requestid}`` with HTTP 4xx; legacy/session webhooks answer
HTTP 200 ``{errcode, errmsg}``. Every delivered message is recorded per user in ``seen``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MSG_KEYS = {"sampleText": ("content",), "sampleMarkdown": ("title", "text"), "sampleImageMsg": ("photoURL",),
            "sampleLink": ("text", "title", "picUrl", "messageUrl"), "sampleAudio": ("mediaId", "duration"),
            "sampleVideo": ("duration", "videoMediaId", "videoType", "picMediaId"),
            "sampleFile": ("mediaId", "fileName", "fileType"), "sampleActionCard": ("title", "text"),
            **{f"sampleActionCard{i}": ("title", "text") for i in range(2, 7)}}


@dataclass
class Seen:
    kind: str  # text|markdown|card
    text: str
    card_id: str | None = None
    via: str = "robot"  # robot|group|session


@dataclass
class CardState:
    card_id: str
    receiver: str  # staff id or "group:<cid>"
    mode: str  # standard|template
    data: dict[str, Any]  # StandardCard cardData, or the template's cardParamMap
    template: str = ""
    versions: int = 1
    private: dict[str, dict[str, str]] = field(default_factory=dict)  # per-user cardParamMap


def err(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "requestid": secrets.token_hex(8)}, status=status)


class ApiState:
    """State and knobs of the OpenAPI side; routes are added by :meth:`add_routes`."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: dict[str, float] = {}  # token → expiry (monotonic)
        self.token_calls = 0
        self.token_ttl = 7200
        self.valid_users: set[str] | None = None  # None: every id except `invalid_users`
        self.invalid_users: set[str] = set()
        self.flow_control: dict[str, int] = {}  # user → how many more calls flow-control them
        self.throttle_next = 0  # the next N robot calls answer 429 Throttling (90002)
        self.hold_batch_after: int | None = None  # block batchSend call number N+1 (crash tests)
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self.hold_card_answers = False  # deliver standard cards but hold the HTTP answer until released
        self.card_answer_held = asyncio.Event()
        self.card_answer_release = asyncio.Event()
        self.batch_calls: list[list[str]] = []
        self.group_calls: list[dict[str, Any]] = []  # accepted groupMessages/send bodies
        self.groups: set[str] | None = None  # None: any openConversationId; else only these (robot is in them)
        self.calls: list[tuple[str, str]] = []  # (method, path)
        self.seen: dict[str, list[Seen]] = defaultdict(list)
        self.cards: dict[str, CardState] = {}
        self.sessions: dict[str, tuple[str, float]] = {}  # session → (conversation/user, expiry epoch)
        self._pqk = itertools.count(1)

    # -- knobs/helpers ------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Revoke every issued token early (the bot must refresh on InvalidAuthentication)."""
        self.tokens.clear()

    def user_ok(self, user: str) -> bool:
        if user in self.invalid_users:
            return False
        return self.valid_users is None or user in self.valid_users

    def texts(self, user: str) -> list[str]:
        return [s.text for s in self.seen.get(user, [])]

    def card_of(self, user: str) -> CardState | None:
        ids = [s.card_id for s in self.seen.get(user, []) if s.kind == "card"]
        return self.cards[ids[-1]] if ids else None

    def new_session(self, owner: str, ttl: float = 5400) -> str:
        sid = secrets.token_urlsafe(8)
        self.sessions[sid] = (owner, time.time() + ttl)
        return sid

    # -- middleware ---------------------------------------------------------------------------
    def _auth(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("x-acs-dingtalk-access-token")
        if not token:
            return err(400, "AuthenticationFailed.MissingParameter", "access token is missing")
        if self.tokens.get(token, 0) <= time.monotonic():
            return err(400, "InvalidAuthentication", "不合法的access_token")
        return None

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        self.calls.append((request.method, request.path))
        denied = self._auth(request)
        if denied is not None:
            return denied
        try:
            body = json.loads(await request.text())
        except ValueError:
            return err(400, "InvalidParameter", "body is not JSON")
        if not isinstance(body, dict):
            return err(400, "InvalidParameter", "body must be an object")
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return err(429, "Throttling.Api", "90002: 当前接口调用过于频繁，请稍后再试")
        return body

    # -- routes -------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1.0/oauth2/accessToken", self.access_token)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self.batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self.group_send)
        app.router.add_post("/v1.0/im/v1.0/robot/interactiveCards/send", self.card_send)
        app.router.add_put("/v1.0/im/robots/interactiveCards", self.card_update)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self.create_and_deliver)
        app.router.add_put("/v1.0/card/instances", self.instance_update)
        app.router.add_post("/robot/sendBySession", self.session_send)

    async def access_token(self, request: web.Request) -> web.Response:
        self.calls.append((request.method, request.path))
        body = json.loads(await request.text() or "{}")
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return err(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        self.token_calls += 1
        token = secrets.token_hex(16)
        self.tokens[token] = time.monotonic() + self.token_ttl
        return web.json_response({"accessToken": token, "expireIn": self.token_ttl})

    def _msg(self, body: dict[str, Any]) -> tuple[str, str] | web.Response:
        if body.get("robotCode") != self.client_id:
            return err(400, "invalidParameter.robotCode", "robotCode 不正确")
        key, param = body.get("msgKey"), body.get("msgParam")
        if key not in MSG_KEYS:
            return err(400, "invalidParameter.msgKey", f"不支持的 msgKey: {key}")
        if not isinstance(param, str):
            return err(400, "invalidParameter.msgParam", "msgParam 必须是 JSON 字符串")
        try:
            p = json.loads(param)
        except ValueError:
            return err(400, "invalidParameter.msgParam", "msgParam 不是合法的 JSON")
        missing = [f for f in MSG_KEYS[key][:1] if not isinstance(p.get(f), str)]
        if missing:
            return err(400, "invalidParameter.msgParam", f"msgParam 缺少字段 {missing}")
        if key == "sampleMarkdown":
            return "markdown", f'{p["title"]}\n{p.get("text", "")}'
        return ("text", p["content"]) if key == "sampleText" else (key, json.dumps(p, ensure_ascii=False))

    async def batch_send(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        users = body.get("userIds")
        if not isinstance(users, list) or not users or not all(isinstance(u, str) for u in users):
            return err(400, "invalidParameter.userIds", "userIds 不能为空")
        if len(users) > 20:
            return err(400, "invalidParameter.userIds.tooMany", "userIds 最多 20 个")
        msg = self._msg(body)
        if isinstance(msg, web.Response):
            return msg
        if self.hold_batch_after is not None and len(self.batch_calls) >= self.hold_batch_after:
            self.held.set()  # the test kills the sender now; nothing of this call is delivered
            await self.release.wait()
            return err(503, "ServiceUnavailable", "held")
        self.batch_calls.append(list(users))
        invalid = [u for u in users if not self.user_ok(u)]
        flow = [u for u in users if u not in invalid and self.flow_control.get(u, 0) > 0]
        for u in flow:
            self.flow_control[u] -= 1
        for u in users:
            if u not in invalid and u not in flow:
                self.seen[u].append(Seen(msg[0], msg[1]))
        return web.json_response({"processQueryKey": f"pqk-{next(self._pqk)}", "invalidStaffIdList": invalid,
                                  "flowControlledStaffIdList": flow, "filteredStaffIdList": []})

    async def group_send(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        cid = body.get("openConversationId")
        if not isinstance(cid, str) or not cid:
            return err(400, "invalidParameter.openConversationId", "openConversationId 不能为空")
        if self.groups is not None and cid not in self.groups:
            return err(400, "resource.not.found", "群会话不存在或机器人不在群中")  # exact code unconfirmed
        msg = self._msg(body)
        if isinstance(msg, web.Response):
            return msg
        self.group_calls.append(body)
        self.seen[f"group:{cid}"].append(Seen(msg[0], msg[1], via="group"))
        return web.json_response({"processQueryKey": f"pqk-{next(self._pqk)}"})

    def _deliver_card(self, state: CardState) -> None:
        self.cards[state.card_id] = state
        self.seen[state.receiver].append(Seen("card", card_title(state), card_id=state.card_id))

    async def card_send(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if body.get("cardTemplateId") != "StandardCard" or body.get("robotCode") != self.client_id:
            return err(400, "invalidParameter", "cardTemplateId/robotCode 不正确")
        biz, data = body.get("cardBizId"), body.get("cardData")
        if not isinstance(biz, str) or not biz or not isinstance(data, str):
            return err(400, "invalidParameter.cardData", "cardBizId 必填，cardData 必须是 JSON 字符串")
        parsed = json.loads(data)
        if not parsed.get("header", {}).get("title", {}).get("text") or not isinstance(parsed.get("contents"), list):
            return err(400, "invalidParameter.cardData", "cardData 缺少 header.title 或 contents")
        if body.get("openConversationId"):
            receiver = f'group:{body["openConversationId"]}'
        else:
            receiver = json.loads(body.get("singleChatReceiver") or "{}").get("userId", "")
            if not self.user_ok(receiver):
                return err(400, "staffId.notExisted", f"用户不存在: {receiver}")
        if biz in self.cards and self.cards[biz].receiver == receiver:  # cardBizId is the idempotency id
            return web.json_response({"processQueryKey": f"pqk-card-{biz[:8]}"})
        self._deliver_card(CardState(biz, receiver, "standard", parsed))
        if self.hold_card_answers:  # the person sees the card; the sender still waits for the answer
            self.card_answer_held.set()
            await self.card_answer_release.wait()
        return web.json_response({"processQueryKey": f"pqk-card-{biz[:8]}"})

    async def card_update(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        state = self.cards.get(str(body.get("cardBizId")))
        if state is None or state.mode != "standard":
            return err(400, "cardBizId.notExisted", "卡片不存在")
        if not isinstance(body.get("cardData"), str):
            return err(400, "invalidParameter.cardData", "cardData 必须是 JSON 字符串")
        state.data, state.versions = json.loads(body["cardData"]), state.versions + 1
        return web.json_response({"success": True})

    async def create_and_deliver(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        track, tpl = body.get("outTrackId"), body.get("cardTemplateId")
        params = (body.get("cardData") or {}).get("cardParamMap")
        if not track or not tpl or not isinstance(params, dict):
            return err(400, "invalidParameter", "outTrackId/cardTemplateId/cardData.cardParamMap 必填")
        if not all(isinstance(v, str) for v in params.values()):
            return err(400, "invalidParameter.cardParamMap", "cardParamMap 的值必须是字符串")
        if body.get("callbackType") != "STREAM":
            return err(400, "invalidParameter.callbackType", "Stream 模式需要 callbackType=STREAM")
        space = str(body.get("openSpaceId", ""))
        if space.startswith("dtv1.card//IM_ROBOT."):
            receiver = space.split(".", 2)[2]
        elif space.startswith("dtv1.card//IM_GROUP."):
            receiver = "group:" + space.split(".", 2)[2]
        else:
            return err(400, "invalidParameter.openSpaceId", f"openSpaceId 格式错误: {space}")
        ok = receiver.startswith("group:") or self.user_ok(receiver)
        if ok and track not in self.cards:
            self._deliver_card(CardState(track, receiver, "template", dict(params), template=tpl))
        result = {"spaceType": space.split(".")[1].split("//")[-1] if "//" in space else "",
                  "spaceId": receiver, "success": ok, "carrierId": f"carrier-{track[:8]}",
                  "errorMsg": "" if ok else "user not found"}
        return web.json_response({"success": True, "result": {"outTrackId": track, "deliverResults": [result]}})

    async def instance_update(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        state = self.cards.get(str(body.get("outTrackId")))
        if state is None or state.mode != "template":
            return err(400, "outTrackId.notExisted", "卡片不存在")
        params = (body.get("cardData") or {}).get("cardParamMap") or {}
        if not all(isinstance(v, str) for v in params.values()):
            return err(400, "invalidParameter.cardParamMap", "cardParamMap 的值必须是字符串")
        by_key = (body.get("cardUpdateOptions") or {}).get("updateCardDataByKey")
        state.data = {**state.data, **params} if by_key else dict(params)
        state.versions += 1
        return web.json_response({"success": True, "result": True})

    async def session_send(self, request: web.Request) -> web.Response:
        sid = request.query.get("session", "")
        owner, expiry = self.sessions.get(sid, ("", 0.0))
        if expiry <= time.time():
            return web.json_response({"errcode": 300001, "errmsg": "session 不存在"})
        body = await request.json()
        kind = body.get("msgtype")
        text = body.get(kind, {}).get("content") if kind == "text" else body.get(kind, {}).get("text")
        if kind not in ("text", "markdown") or not isinstance(text, str):
            return web.json_response({"errcode": 400102, "errmsg": "不支持的消息类型"})
        self.seen[owner].append(Seen(kind, text, via="session"))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def card_title(state: CardState) -> str:
    if state.mode == "template":
        return state.data.get("title", "")
    return str(state.data.get("header", {}).get("title", {}).get("text", ""))


def card_buttons(state: CardState) -> list[dict[str, Any]]:
    """Clickable controls currently on a card: ``{id, text, params}``."""
    if state.mode == "template":
        return json.loads(state.data.get("buttons") or "[]")
    out = []
    for block in state.data.get("contents", []):
        if block.get("type") == "action":
            for b in block.get("actions", []):
                if b.get("actionType") == "request":
                    out.append({"id": b["id"], "text": b["label"]["text"], "params": b.get("params", {})})
    return out


def card_text(state: CardState) -> str:
    if state.mode == "template":
        return "\n".join(state.data.get(k, "") for k in ("title", "markdown", "state", "footer"))
    parts = [card_title(state)]
    parts += [c.get("text", "") for c in state.data.get("contents", []) if c.get("type") == "markdown"]
    return "\n".join(parts)
