"""WeCom's server side for tests: gettoken, message/send, message/update_template_card, media/upload,
appchat/send (group chats the app created; register them with ``add_chat``), and the contacts read
side (``directory``: department/list, user/list, see tests/emulators/wecom_directory.py).

Behaviour follows ../shared/protocols.md A8 and C1: errors are HTTP 200 with an errcode; invalid
recipients are echoed in ``invaliduser`` (81013 when nobody is valid); task_ids are unique per app;
response_codes are single-use with a TTL; per-user limits (30/min, 1000/h) drop messages silently
(recorded in ``dropped``); ``enable_duplicate_check`` drops a repeat of the same content to the same
user within the interval (recorded in ``duplicates``). Everything a user "saw" is in ``seen``.

Fault layer (``faults`` queue for the next API calls, ``outage`` window in emulator time that cycles
through ``outage_pattern``): ``"502"`` answers 502 without doing anything, ``"timeout"`` never
answers (until the emulator stops), ``"502-after"`` does the work and then answers 502, ``"late"``
does the work and answers only after the caller gave up. gettoken during an outage answers 502.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.emulators.wecom_cards import INTERACTIVE, CardInvalid, validate
from tests.emulators.wecom_directory import WeComDirectory

DUPLICATE_TASK_ID = 40098  # the real code is unconfirmed (protocols.md E); the bot maps this one
BAD_RESPONSE_CODE = 40058
BAD_CHATID = 86001  # "参数 chatid 不合法" (missing/empty chatid; exact code for "missing" unconfirmed)
UNKNOWN_CHAT = 86003  # "chatid 不存在": not a chat this app created via appchat/create


@dataclass
class Seen:
    msgtype: str
    body: dict[str, Any]
    msgid: str
    at: float

    @property
    def text(self) -> str:
        if self.msgtype in ("text", "markdown"):
            return str(self.body["content"])
        if self.msgtype == "template_card":
            return str(self.body.get("main_title", {}).get("title", ""))
        return f"[{self.msgtype}]"


@dataclass
class WeComEmulator:
    corp_id: str = "wwEMULATORCORP"
    agent_id: int = 1000002
    secret: str = "emulator-secret"
    callback_url: str | None = "http://127.0.0.1/wecom/callback"  # None: app without callback URL
    users: set[str] = field(default_factory=set)
    now: Callable[[], float] = time.time
    token_ttl: int = 7200
    response_code_ttl: float = 72 * 3600
    per_user_per_minute: int = 30
    per_user_per_hour: int = 1000
    # message/send calls a minute before 45009 and a 60 s block (0: no cap). WeCom does not count
    # message sends against its base API quota (protocols.md A8.5), so the default is off; tests set
    # it to play a platform refusing calls for a minute (another app's traffic, a stricter tenant).
    send_calls_per_minute: int = 0
    always_invalid_token: bool = False  # every API call answers 40014

    def __post_init__(self) -> None:
        self.tokens: dict[str, float] = {}  # token -> expires at
        self.gettoken_calls = 0
        self.token_rejections = 0  # API calls answered 40014/42001
        self.api_calls: list[tuple[str, dict[str, Any]]] = []
        self.send_times: deque[float] = deque()  # message/send calls of the last minute
        self.frequency_errors = 0  # calls answered 45009 because send_calls_per_minute was spent
        self._blocked_until = 0.0
        self.seen: dict[str, list[Seen]] = defaultdict(list)
        self.dropped: dict[str, list[Seen]] = defaultdict(list)
        self.duplicates: dict[str, list[Seen]] = defaultdict(list)
        self.task_ids: dict[str, set[str]] = {}  # task_id -> recipients
        self.cards: dict[tuple[str, str], dict[str, Any]] = {}  # (user, task_id) -> card as shown
        self.codes: dict[str, dict[str, Any]] = {}  # response_code -> {task_id, users, at, used}
        self.updates: list[dict[str, Any]] = []
        self.media: dict[str, tuple[str, bytes, float]] = {}
        self.fail_next: list[int] = []  # errcodes to answer to the next message/send calls
        self.chats: dict[str, dict[str, Any]] = {}  # chatid -> {name, owner, userlist} (appchat/create)
        self.chat_messages: dict[str, list[dict[str, Any]]] = defaultdict(list)  # chatid -> message bodies
        self.directory = WeComDirectory()
        self._msgids = itertools.count(1)
        self.faults: list[str] = []  # one fault per next API call (not gettoken)
        self.outage: tuple[float, float] | None = None  # [start, end) in emulator time
        self.outage_pattern = ["502", "timeout", "502-after", "late"]
        self._outage_cycle = itertools.cycle(self.outage_pattern)
        self.faulted: dict[str, int] = defaultdict(int)
        self._released = asyncio.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None

    # -- server ---------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=30 * 1024 * 1024, middlewares=[self._fault_layer])
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_post("/cgi-bin/message/send", self.api(self.send))
        app.router.add_post("/cgi-bin/message/update_template_card", self.api(self.update_template_card))
        app.router.add_post("/cgi-bin/media/upload", self.api(self.upload))
        app.router.add_post("/cgi-bin/appchat/send", self.api(self.appchat_send))
        self.directory.add_routes(app, self.api, self.err)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self.api_base

    async def stop(self) -> None:
        self._released.set()  # answer every held request (the callers gave up long ago)
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin"

    # -- fault layer ----------------------------------------------------------------------------
    def set_outage(self, seconds: float, pattern: list[str] | None = None) -> None:
        """From now (emulator time) for ``seconds``, API calls fail in the ``pattern`` cycle."""
        self.outage = (self.now(), self.now() + seconds)
        if pattern is not None:
            self.outage_pattern = pattern
        self._outage_cycle = itertools.cycle(self.outage_pattern)

    def _fault_for(self, path: str) -> str | None:
        in_outage = self.outage is not None and self.outage[0] <= self.now() < self.outage[1]
        if path.endswith("/gettoken"):
            return "502" if in_outage else None
        if self.faults:
            return self.faults.pop(0)
        return next(self._outage_cycle) if in_outage else None

    @web.middleware
    async def _fault_layer(self, request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        fault = self._fault_for(request.path)
        if fault is None:
            return await handler(request)
        self.faulted[fault] += 1
        if fault == "502":
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        if fault == "timeout":
            await self._released.wait()
            return web.Response(status=504)
        resp = await handler(request)  # the work is done: delivered
        if fault == "late":
            await self._released.wait()
            return resp
        return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")

    def deliveries(self, user: str, msgtype: str | None = None) -> int:
        """How many messages ``user`` saw (of ``msgtype``)."""
        return sum(1 for s in self.seen[user] if msgtype is None or s.msgtype == msgtype)

    # -- knobs for tests ------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """WeCom invalidated every token early: the next call answers 42001."""
        for t in self.tokens:
            self.tokens[t] = 0.0

    def add_chat(self, chatid: str, name: str, owner: str, members: list[str]) -> None:
        """A group chat created by this app (``appchat/create``): only such chats accept appchat/send."""
        self.chats[chatid] = {"name": name, "owner": owner, "userlist": list(members)}

    def texts(self, user: str) -> list[str]:
        return [s.text for s in self.seen[user]]

    def card_for(self, user: str, task_id: str) -> dict[str, Any]:
        return self.cards[(user, task_id)]

    def last_card(self, user: str) -> tuple[str, dict[str, Any]]:
        for s in reversed(self.seen[user]):
            if s.msgtype == "template_card":
                tid = s.body["task_id"]
                return tid, self.cards[(user, tid)]
        raise LookupError(f"{user} has seen no card")

    def issue_response_code(self, task_id: str, users: list[str]) -> str:
        code = "rc-" + secrets.token_hex(12)
        self.codes[code] = {"task_id": task_id, "users": set(users), "at": self.now(), "used": False}
        return code

    # -- handlers -------------------------------------------------------------------------------
    @staticmethod
    def err(code: int, msg: str, **extra: Any) -> web.Response:
        hint = f"{msg}, hint: [emulator], more info at https://open.work.weixin.qq.com/devtool/query?e={code}"
        return web.json_response({"errcode": code, "errmsg": hint, **extra})

    async def gettoken(self, request: web.Request) -> web.Response:
        self.gettoken_calls += 1
        if request.query.get("corpid") != self.corp_id:
            return self.err(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return self.err(40001, "invalid credential")
        token = secrets.token_urlsafe(48)
        self.tokens[token] = self.now() + self.token_ttl
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl})

    def api(self, fn: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
        async def wrapped(request: web.Request) -> web.Response:
            token = request.query.get("access_token")
            if not token:
                return self.err(41001, "access_token missing")
            if self.always_invalid_token or token not in self.tokens:
                self.token_rejections += 1
                return self.err(40014, "invalid access_token")
            if self.tokens[token] <= self.now():
                self.token_rejections += 1
                return self.err(42001, "access_token expired")
            return await fn(request)

        return wrapped

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return {}
        return body if isinstance(body, dict) else {}

    async def send(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self.api_calls.append(("message/send", body))
        if self._over_minute_limit():
            self.frequency_errors += 1
            return self.err(45009, "api freq out of limit")
        if self.fail_next:
            code = self.fail_next.pop(0)
            return self.err(code, {45009: "api freq out of limit", -1: "system busy"}.get(code, "error"))
        if body.get("agentid") != self.agent_id:
            return self.err(40056, "invalid agentid")
        touser = str(body.get("touser", ""))
        wanted = list(self.users) if touser == "@all" else [u for u in touser.split("|") if u]
        if len(wanted) > 1000:
            return self.err(40058, "touser exceeds 1000 users")
        valid = [u for u in wanted if u in self.users]
        invalid = [u for u in wanted if u not in self.users]
        if not valid:
            return self.err(81013, "user & party & tag all invalid", invaliduser="|".join(invalid))
        msgtype = body.get("msgtype")
        content = body.get(msgtype) if isinstance(msgtype, str) else None
        if not isinstance(content, dict):
            return self.err(40008, "invalid message type")
        if msgtype in ("text", "markdown"):
            text = content.get("content")
            if not isinstance(text, str) or not text:
                return self.err(44004, "empty content")
            if len(text.encode()) > 2048:
                return self.err(45002, "content size out of limit")
        elif msgtype in ("image", "file"):
            media = self.media.get(str(content.get("media_id")))
            if media is None or media[2] < self.now():
                return self.err(40007, "invalid media_id")
        elif msgtype == "template_card":
            try:
                ctype = validate(content)
            except CardInvalid as exc:
                return self.err(exc.errcode, str(exc))
            interactive = ctype in INTERACTIVE or bool(content.get("action_menu"))
            if interactive and not self.callback_url:
                return self.err(48002, "api forbidden: app has no callback url for interactive template_card")
        else:
            return self.err(40008, "invalid message type")
        msgid = f"msg{next(self._msgids)}"
        result = self._deliver(valid, msgtype, content, msgid, body)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                                  "invalidparty": "", "invalidtag": "", "unlicenseduser": "", "msgid": msgid,
                                  **result})

    def _deliver(self, users: list[str], msgtype: str, content: dict[str, Any], msgid: str,
                 body: dict[str, Any]) -> dict[str, Any] | web.Response:
        now = self.now()
        fingerprint = json.dumps(content, sort_keys=True, ensure_ascii=False)
        check = body.get("enable_duplicate_check") == 1
        interval = min(int(body.get("duplicate_check_interval", 1800)), 4 * 3600)
        fresh = []
        for u in users:
            item = Seen(msgtype, content, msgid, now)
            if check and any(json.dumps(s.body, sort_keys=True, ensure_ascii=False) == fingerprint
                             and now - s.at <= interval for s in self.seen[u]):
                self.duplicates[u].append(item)
                continue
            fresh.append(u)
        if msgtype == "template_card":
            task_id = content.get("task_id")
            if task_id and fresh:
                if task_id in self.task_ids:
                    return self.err(DUPLICATE_TASK_ID, "task_id already exists")
                self.task_ids[task_id] = set(fresh)
        for u in fresh:
            recent = [s.at for s in self.seen[u] if now - s.at < 3600]
            if len([t for t in recent if now - t < 60]) >= self.per_user_per_minute or \
                    len(recent) >= self.per_user_per_hour:
                self.dropped[u].append(Seen(msgtype, content, msgid, now))  # silently, like WeCom
                continue
            self.seen[u].append(Seen(msgtype, content, msgid, now))
            if msgtype == "template_card":
                self.cards[(u, content["task_id"])] = content
        if msgtype == "template_card" and fresh and content.get("card_type") in INTERACTIVE:
            return {"response_code": self.issue_response_code(content["task_id"], fresh)}
        return {}

    def _over_minute_limit(self) -> bool:
        """A cap of message/send calls a minute: a call beyond it is refused with 45009 and the API
        stays blocked for 60 s, as WeCom does for its minute limits (protocols.md A8.5)."""
        if not self.send_calls_per_minute:
            return False
        now = self.now()
        if now < self._blocked_until:
            return True
        while self.send_times and now - self.send_times[0] >= 60:
            self.send_times.popleft()
        if len(self.send_times) >= self.send_calls_per_minute:
            self._blocked_until = now + 60
            return True
        self.send_times.append(now)
        return False

    async def update_template_card(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self.api_calls.append(("message/update_template_card", body))
        if body.get("agentid") != self.agent_id:
            return self.err(40056, "invalid agentid")
        code = self.codes.get(str(body.get("response_code")))
        if code is None or code["used"]:
            return self.err(BAD_RESPONSE_CODE, "invalid response_code (unknown or already used)")
        if self.now() - code["at"] > self.response_code_ttl:
            return self.err(BAD_RESPONSE_CODE, "response_code expired")
        users = body.get("userids") or []
        if len(users) > 1000:
            return self.err(40058, "userids exceeds 1000")
        targets = code["users"] if body.get("atall") == 1 else set(users) & code["users"]
        if not targets:
            return self.err(81013, "user & party & tag all invalid")
        task_id = code["task_id"]
        if "template_card" in body:
            try:
                validate(body["template_card"])
            except CardInvalid as exc:
                return self.err(exc.errcode, str(exc))
            new = body["template_card"]
        elif "button" in body and body["button"].get("replace_name"):
            new = None
        else:
            return self.err(40058, "template_card or button required")
        code["used"] = True
        for u in targets:
            card = new or {**self.cards[(u, task_id)], "replace_text": body["button"]["replace_name"]}
            self.cards[(u, task_id)] = card
        self.updates.append({"task_id": task_id, "users": sorted(targets), "body": body})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def upload(self, request: web.Request) -> web.Response:
        media_type = request.query.get("type")
        limits = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "file": 20 << 20}
        if media_type not in limits:
            return self.err(40004, "invalid media type")
        form = await request.post()
        part = form.get("media")
        if part is None or not hasattr(part, "file"):
            return self.err(41005, "media data missing (form field must be named 'media')")
        data = part.file.read()
        self.api_calls.append(("media/upload", {"type": media_type, "filename": part.filename, "size": len(data)}))
        if len(data) <= 5 or len(data) > limits[media_type]:
            return self.err(40006, "invalid file size")
        if media_type == "image" and not part.filename.lower().endswith((".jpg", ".jpeg", ".png")):
            return self.err(40005, "invalid file type")
        media_id = "m-" + secrets.token_hex(16)
        self.media[media_id] = (part.filename, data, self.now() + 3 * 86400)
        return web.json_response({"errcode": 0, "errmsg": "", "type": media_type, "media_id": media_id,
                                  "created_at": str(int(self.now()))})

    async def appchat_send(self, request: web.Request) -> web.Response:
        """Send to an app-created group chat: text/markdown only here; no @-mentions for app chats
        (``mentioned_list`` belongs to the group-robot webhook, not to appchat/send)."""
        body = await self._json(request)
        self.api_calls.append(("appchat/send", body))
        chatid = body.get("chatid")
        if not isinstance(chatid, str) or not chatid:
            return self.err(BAD_CHATID, "invalid chatid (chatid is required)")
        if chatid not in self.chats:
            return self.err(UNKNOWN_CHAT, "chatid not exist (only chats created by this app via appchat/create)")
        if body.get("safe", 0) not in (0, 1):
            return self.err(40058, "invalid safe")
        msgtype = body.get("msgtype")
        content = body.get(msgtype) if isinstance(msgtype, str) else None
        if msgtype not in ("text", "markdown") or not isinstance(content, dict):
            return self.err(40008, "invalid message type")
        text = content.get("content")
        if not isinstance(text, str) or not text:
            return self.err(44004, "empty content")
        if len(text.encode()) > 2048:
            return self.err(45002, "content size out of limit")
        self.chat_messages[chatid].append({"msgtype": msgtype, msgtype: content, "at": self.now()})
        return web.json_response({"errcode": 0, "errmsg": "ok"})
