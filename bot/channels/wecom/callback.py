"""GET/POST ``/wecom/callback``: verify, decrypt, parse, hand to the dispatcher, answer at once.

Every check runs before anything is stored; a rejected request gets one log line and a status
(400 malformed, 403 not from WeCom / stale / replayed / wrong corp, 413 too large). The slow work
happens after the response: ``dispatcher.submit`` only records the event durably.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

from aiohttp import web
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.work.crypto import WeChatCrypto
from wechatpy.work.exceptions import InvalidCorpIdException

from bot.channels.wecom.inbound import BadXml, Unsupported, parse_xml, to_event
from bot.config import WeComSettings
from bot.events import CardAction
from storage import cardstore

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
UNSUPPORTED_REPLY = "目前只能处理文字消息和卡片按钮哦。请直接发送文字，或发送「帮助」查看我能做什么。"
REPLAY_MEMORY = 100_000


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CallbackHandler:
    def __init__(self, settings: WeComSettings, channel_name: str = "wecom") -> None:
        self.settings = settings
        self.channel_name = channel_name
        self.crypto = WeChatCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)
        self.services: Services | None = None
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()  # (signature, nonce) -> timestamp
        self.rejected = 0

    # -- HTTP entry points ---------------------------------------------------------------------
    async def get(self, request: web.Request) -> web.Response:
        try:
            q = self._query(request, "echostr")
            echostr = q["echostr"]
            if not self._signed(q, echostr) and " " in echostr:  # a raw "+" decoded as a space
                echostr = echostr.replace(" ", "+")
            self._check(q, echostr)
            try:
                plain = self.crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], echostr)
            except InvalidCorpIdException:
                raise Rejected(403, "echostr was encrypted for another corp id") from None
            except (InvalidSignatureException, ValueError, TypeError, KeyError) as exc:
                raise Rejected(400, f"echostr does not decrypt: {exc.__class__.__name__}") from None
        except Rejected as exc:
            return self._reject(request, exc)
        body = plain if isinstance(plain, bytes) else str(plain).encode()
        return web.Response(body=body, content_type="text/plain")

    async def post(self, request: web.Request) -> web.Response:
        try:
            q = self._query(request)
            body = await self._body(request)
            outer = parse_xml(body)
            encrypt = (outer.findtext("Encrypt") or "").strip()
            if not encrypt:
                raise Rejected(400, "no <Encrypt> element")
            to_user = (outer.findtext("ToUserName") or "").strip()
            if to_user and to_user != self.settings.corp_id:
                raise Rejected(403, f"ToUserName {to_user!r} is not our corp id")
            self._check(q, encrypt)
            plain = self._decrypt(encrypt, q)
            inner = parse_xml(plain)
            if (inner.findtext("ToUserName") or "").strip() != self.settings.corp_id:
                raise Rejected(403, "message addressed to another corp id")
            event = to_event(inner)
        except BadXml as exc:
            return self._reject(request, Rejected(400, f"malformed XML ({exc})"))
        except Rejected as exc:
            return self._reject(request, exc)
        await self._accept(event)  # durable; a failure here is a 500 and WeCom retries
        self._remember(q)
        return web.Response(status=200, body=b"")

    # -- checks --------------------------------------------------------------------------------
    def _query(self, request: web.Request, *extra: str) -> dict[str, str]:
        q = {k: request.query.get(k, "") for k in ("msg_signature", "timestamp", "nonce", *extra)}
        missing = [k for k, v in q.items() if not v]
        if missing:
            raise Rejected(400, f"missing query parameter(s) {', '.join(missing)}")
        return q

    async def _body(self, request: web.Request) -> bytes:
        limit = self.services.settings.server.max_body_bytes if self.services else 64 * 1024
        if request.content_length is not None and request.content_length > limit:
            raise Rejected(413, f"body of {request.content_length} bytes exceeds {limit}")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Rejected(413, f"body exceeds {limit} bytes") from None
        if len(body) > limit:
            raise Rejected(413, f"body of {len(body)} bytes exceeds {limit}")
        return body

    def _signed(self, q: dict[str, str], payload: str) -> bool:
        parts = sorted([self.settings.token, q["timestamp"], q["nonce"], payload])
        expected = hashlib.sha1("".join(parts).encode()).hexdigest()
        return hmac.compare_digest(expected.encode(), q["msg_signature"].encode())

    def _check(self, q: dict[str, str], payload: str) -> None:
        if not self._signed(q, payload):
            raise Rejected(403, "bad msg_signature")
        try:
            ts = int(q["timestamp"])
        except ValueError:
            raise Rejected(400, "timestamp is not an integer") from None
        now = self.services.now().timestamp() if self.services else 0.0
        if len(q["timestamp"]) > 12:  # unix seconds have 10 digits until the year 2286
            raise Rejected(403, "stale timestamp (far out of range)")
        if abs(now - ts) > self.settings.max_timestamp_skew_seconds:
            raise Rejected(403, f"stale timestamp ({int(now - ts)} s off)")
        if (q["msg_signature"], q["nonce"]) in self._seen:
            raise Rejected(403, "replayed msg_signature/nonce")

    def _remember(self, q: dict[str, str]) -> None:
        self._seen[(q["msg_signature"], q["nonce"])] = float(q["timestamp"])
        horizon = float(q["timestamp"]) - 2 * self.settings.max_timestamp_skew_seconds
        while self._seen and (len(self._seen) > REPLAY_MEMORY or next(iter(self._seen.values())) < horizon):
            self._seen.popitem(last=False)

    def _decrypt(self, encrypt: str, q: dict[str, str]) -> str:
        try:
            return self.crypto.decrypt_message({"Encrypt": encrypt}, q["msg_signature"], q["timestamp"], q["nonce"])
        except InvalidCorpIdException:
            raise Rejected(403, "message was encrypted for another corp id") from None
        except InvalidSignatureException:
            raise Rejected(403, "bad msg_signature") from None
        except Exception as exc:  # bad base64, bad padding, bad length: not a WeCom message
            raise Rejected(400, f"Encrypt does not decrypt ({exc.__class__.__name__})") from None

    def _reject(self, request: web.Request, exc: Rejected) -> web.Response:
        self.rejected += 1
        log.warning("WeCom callback from %s rejected with %d: %s", request.remote, exc.status, exc.reason)
        return web.Response(status=exc.status, text="")

    # -- hand over -----------------------------------------------------------------------------
    async def _accept(self, event: object) -> None:
        services = self.services
        if services is None or event is None:
            return
        if isinstance(event, Unsupported):
            await services.messenger.send_raw(self.channel_name, event.sender, "text", {"text": UNSUPPORTED_REPLY},
                                              f"{event.key}:unsupported")
            return
        if isinstance(event, CardAction) and event.handle.get("task_id") and event.handle.get("response_code"):
            await services.db.run(self._store_fresh_code, event)  # off the serving loop
        await services.dispatcher.submit(event)

    def _store_fresh_code(self, event: CardAction) -> None:
        """Keep the click's one-time response_code on the card so the update uses the freshest code."""
        db = self.services.db
        rec = cardstore.find_by_handle(db, self.channel_name, event.handle["task_id"], event.sender)
        if rec is None:
            return
        cardstore.update_handle(db, rec.id, {"click_response_code": event.handle["response_code"]},
                                self.services.now())
