"""DingTalk's side of a Stream-mode app robot, for tests (spec B2–B5, B9.4, B11, C2).

- ``POST /v1.0/gateway/connections/open``: checks credentials, records subscriptions, hands out a
  single-use ticket (90 s TTL) and ``ws://127.0.0.1:P/connect``.
- ``GET /connect?ticket=``: a WebSocket that pushes real frames (``data`` a JSON *string*, ``time``
  a numeric string, unique ``messageId``) and collects the ACKs; optional redelivery when no ACK
  arrives; system ``ping`` (opaque echo checked) and ``disconnect`` (then close after a delay).
- Knobs for the gateway (hang, bad answer), clean close right after connect, muting a connection.
- The OpenAPI side (tokens, sends, cards, session webhooks) lives in ``dingtalk_api.ApiState``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.emulators.dingtalk_api import ApiState, CardState, card_buttons, err
from tests.emulators.dingtalk_directory import DingTalkDirectory

BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
TICKET_TTL = 90.0


@dataclass
class Conn:
    id: str
    ws: web.WebSocketResponse
    closing: bool = False  # got `disconnect`: no more pushes here
    muted: bool = False  # silent dead connection: nothing is pushed, nothing answered
    acks: list[dict[str, Any]] = field(default_factory=list)


async def until(pred: Any, limit: float = 10.0, what: str = "condition") -> None:
    """Bounded polling for a condition (never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not pred():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class DingTalkEmulator:
    def __init__(self, client_id: str = "dingappkey", client_secret: str = "dingsecret",
                 corp_id: str = "dingcorp") -> None:
        self.client_id, self.client_secret, self.corp_id = client_id, client_secret, corp_id
        self.api = ApiState(client_id, client_secret)
        self.directory = DingTalkDirectory(self.api.tokens)  # contacts on the oapi host (same server)
        self.base = ""
        self.tickets: dict[str, float] = {}  # unused ticket → expiry
        self.gateway_calls: list[dict[str, Any]] = []
        self.rejected_handshakes = 0
        self.connections: list[Conn] = []
        self.acks: dict[str, list[dict[str, Any]]] = {}
        self.frames_sent: list[dict[str, Any]] = []
        self.ping_errors: list[str] = []
        # knobs
        self.gateway_hang = 0  # the next N gateway calls never answer
        self.gateway_bad = 0  # the next N gateway calls answer 200 without endpoint
        self.close_on_connect = False  # accept the socket, then close it cleanly at once
        self.redeliver_unacked: float | None = None  # seconds; redeliver frames without an ACK
        self.lose_acks = 0  # the next N ACKs get lost on the way (→ redelivery when enabled)
        self.disconnect_close_delay = 0.2  # "TCP closes ~10 s later" (shortened)
        # seconds between SYSTEM pings on each live connection, as the real server sends them (protocols.md
        # B3, emulator item 4); None (the tests' default) pings only when a test calls ping()
        self.ping_interval: float | None = None
        self._pending: list[dict[str, Any]] = []  # pushes waiting for a live connection
        self._ack_events: dict[str, asyncio.Event] = {}
        self._ids = itertools.count(1)
        self._stop = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- server -------------------------------------------------------------------------------
    async def start(self) -> DingTalkEmulator:
        app = web.Application()
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._connect)
        self.api.add_routes(app)
        self.directory.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._stop.set()
        self.api.release.set()
        for c in list(self.connections):
            await c.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _open(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text() or "{}")
        self.gateway_calls.append(body)
        if self.gateway_hang > 0:
            self.gateway_hang -= 1
            await self._stop.wait()
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return err(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        if self.gateway_bad > 0:
            self.gateway_bad -= 1
            return web.json_response({"message": "ok"})
        ticket = f"t-{secrets.token_hex(6)}+{next(self._ids)}"  # '+' must arrive quote_plus-encoded
        self.tickets[ticket] = time.monotonic() + TICKET_TTL
        return web.json_response({"endpoint": self.base.replace("http", "ws") + "/connect", "ticket": ticket})

    @property
    def subscriptions(self) -> list[dict[str, str]]:
        return self.gateway_calls[-1].get("subscriptions", []) if self.gateway_calls else []

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        expiry = self.tickets.pop(ticket, 0.0)  # single use
        if expiry <= time.monotonic():
            self.rejected_handshakes += 1
            return err(401, "invalidTicket", "ticket 无效或已使用")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Conn(f"conn-{next(self._ids)}", ws)
        self.connections.append(conn)
        if self.close_on_connect:
            await ws.close()
        else:
            for frame in self._pending:
                await self._send(conn, frame)
            self._pending.clear()
            pinger = asyncio.ensure_future(self._ping_every(conn)) if self.ping_interval else None
            try:
                async for msg in ws:
                    if msg.type == WSMsgType.TEXT and not conn.muted:
                        self._on_ack(conn, json.loads(msg.data))
            finally:
                if pinger is not None:
                    pinger.cancel()
        self.connections.remove(conn)
        return ws

    def _on_ack(self, conn: Conn, ack: dict[str, Any]) -> None:
        mid = ack.get("headers", {}).get("messageId")
        if self.lose_acks > 0:
            self.lose_acks -= 1
            return
        conn.acks.append(ack)
        self.acks.setdefault(mid, []).append(ack)
        if mid in self._ack_events:
            self._ack_events[mid].set()
        sent = next((f for f in self.frames_sent if f["headers"]["messageId"] == mid), None)
        if sent and sent["headers"]["topic"] == "ping":
            if ack.get("code") != 200 or json.loads(ack.get("data") or "{}") != json.loads(sent["data"]):
                self.ping_errors.append(f"bad ping ack {ack}")
        if sent and sent["headers"]["topic"] == CARD_TOPIC and ack.get("code") == 200:
            self._apply_card_response(sent, ack)

    # -- pushing frames -----------------------------------------------------------------------
    def live(self) -> list[Conn]:
        return [c for c in self.connections if not c.closing and not c.ws.closed]

    def frame(self, type_: str, topic: str, data: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        return {"specVersion": "1.0", "type": type_,
                "headers": {"appId": self.client_id, "contentType": "application/json",
                            "messageId": message_id or f"{secrets.token_hex(4)}_{next(self._ids)}_{int(time.time())}",
                            "time": str(int(time.time() * 1000)), "topic": topic},
                "data": json.dumps(data, ensure_ascii=False)}

    async def push(self, frame: dict[str, Any]) -> str:
        """Send a frame on a random live connection (queued until one exists); returns messageId."""
        mid = frame["headers"]["messageId"]
        self._ack_events.setdefault(mid, asyncio.Event())
        live = self.live()
        if live:
            await self._send(random.choice(live), frame)
        else:
            self._pending.append(frame)
        if self.redeliver_unacked is not None:
            asyncio.get_running_loop().call_later(self.redeliver_unacked, self._maybe_redeliver, frame)
        return mid

    def _maybe_redeliver(self, frame: dict[str, Any]) -> None:
        if not self.acks.get(frame["headers"]["messageId"]) and not self._stop.is_set():
            asyncio.ensure_future(self.push(frame))

    async def _send(self, conn: Conn, frame: dict[str, Any]) -> None:
        self.frames_sent.append(frame)
        frame = {**frame, "headers": {**frame["headers"], "connectionId": conn.id}}
        await conn.ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def send_raw(self, text: str) -> None:
        """Push arbitrary text (malformed-frame tests)."""
        await self.live()[0].ws.send_str(text)

    async def acked(self, message_id: str, limit: float = 10.0) -> dict[str, Any]:
        ev = self._ack_events.setdefault(message_id, asyncio.Event())
        await asyncio.wait_for(ev.wait(), limit)
        return self.acks[message_id][-1]

    async def ping(self) -> str:
        return await self.push(self.frame("SYSTEM", "ping", {"opaque": secrets.token_hex(8)}))

    async def _ping_every(self, conn: Conn) -> None:
        while self.ping_interval and not conn.ws.closed and not self._stop.is_set():
            await asyncio.sleep(self.ping_interval)
            if not conn.closing and not conn.ws.closed and not conn.muted:
                with contextlib.suppress(ConnectionError, RuntimeError):  # closed between the check and the send
                    await self._send(conn, self.frame("SYSTEM", "ping", {"opaque": secrets.token_hex(8)}))

    async def disconnect(self, reason: str = "persistent connection is timeout") -> None:
        """System `disconnect` on every live connection; the socket is closed a little later."""
        for conn in self.live():
            await self._send(conn, self.frame("SYSTEM", "disconnect", {"reason": reason}))
            conn.closing = True
            asyncio.get_running_loop().call_later(self.disconnect_close_delay,
                                                  lambda c=conn: asyncio.ensure_future(c.ws.close()))

    async def drop(self) -> None:
        """Kill every connection abruptly (no close handshake)."""
        for conn in list(self.connections):
            if conn.ws._req and conn.ws._req.transport:  # noqa: SLF001 - test-only abort
                conn.ws._req.transport.abort()

    def mute(self) -> None:
        """The current connections go silent (no pushes, no ACK processing), TCP stays up."""
        for conn in self.connections:
            conn.muted = True
            conn.closing = True

    # -- inbound helpers ----------------------------------------------------------------------
    def bot_message(self, staff_id: str | None, text: str, *, group: bool = False, msg_id: str | None = None,
                    nick: str = "同事", session_ttl: float = 5400) -> dict[str, Any]:
        cid = "cidGROUP0001==" if group else f"cid{staff_id or 'ext'}=="
        now_ms = int(time.time() * 1000)
        sid = self.api.new_session(cid if group else (staff_id or "ext"), ttl=session_ttl)
        data: dict[str, Any] = {
            "msgId": msg_id or f"msg{secrets.token_hex(8)}==", "msgtype": "text",
            "text": {"content": (" " if group else "") + text},
            "conversationType": "2" if group else "1", "conversationId": cid,
            "senderId": f"$:LWCP_v1:${secrets.token_hex(6)}", "senderNick": nick, "senderCorpId": self.corp_id,
            "isAdmin": False, "chatbotUserId": "$:LWCP_v1:$bot", "chatbotCorpId": self.corp_id,
            "robotCode": self.client_id, "isInAtList": group, "createAt": now_ms,
            "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}] if group else [],
            "sessionWebhook": f"{self.base}/robot/sendBySession?session={sid}",
            "sessionWebhookExpiredTime": now_ms + int(session_ttl * 1000),
        }
        if group:
            data["conversationTitle"] = "华东销售组"
        if staff_id:
            data["senderStaffId"] = staff_id
        return self.frame("CALLBACK", BOT_TOPIC, data)

    async def say(self, staff_id: str | None, text: str, **kw: Any) -> str:
        return await self.push(self.bot_message(staff_id, text, **kw))

    def click_frame(self, user: str, card: CardState, label: str) -> dict[str, Any]:
        """A click on the control whose text contains ``label`` (B9.4 payload, ``content`` double-encoded)."""
        controls = [b for b in card_buttons(card) if label in b["text"]]
        assert controls, f"no button {label!r} on card {card.card_id}: {[b['text'] for b in card_buttons(card)]}"
        b = controls[0]
        content = json.dumps({"cardPrivateData": {"actionIds": [b["id"]], "params": b.get("params", {})}},
                             ensure_ascii=False)
        return self.frame("CALLBACK", CARD_TOPIC, {
            "extension": "{}", "corpId": self.corp_id, "spaceType": "im", "userIdType": 1,
            "type": "actionCallback", "userId": user, "outTrackId": card.card_id,
            "spaceId": card.receiver, "content": content, "value": content})

    async def click(self, user: str, label: str) -> str:
        card = self.api.card_of(user)
        assert card is not None, f"{user} has no card"
        return await self.push(self.click_frame(user, card, label))

    def _apply_card_response(self, sent: dict[str, Any], ack: dict[str, Any]) -> None:
        """Apply ``response.cardData / userPrivateData / privateData`` from a card-callback ACK."""
        response = (json.loads(ack.get("data") or "{}") or {}).get("response") or {}
        if not isinstance(response, dict):
            return
        data = json.loads(sent["data"])
        card = self.api.cards.get(data.get("outTrackId", ""))
        if card is None or card.mode != "template":
            return
        params = (response.get("cardData") or {}).get("cardParamMap") or {}
        card.data.update({k: str(v) for k, v in params.items()})
        private = (response.get("userPrivateData") or {}).get("cardParamMap")
        if private:
            card.private.setdefault(data["userId"], {}).update(private)
        for uid, p in (response.get("privateData") or {}).items():
            card.private.setdefault(uid, {}).update(p.get("cardParamMap", {}))
