"""Async WeCom REST client: one token cache per app, one refresh-and-retry per call, timeouts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.config import WeComSettings

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001, 41001}  # invalid credential / token, expired, missing
TOKEN_MARGIN_SECONDS = 300  # refresh this long before WeCom says the token expires


class WeComError(Exception):
    """A non-zero errcode from WeCom (``body`` is the whole JSON answer)."""

    def __init__(self, errcode: int, errmsg: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"WeCom errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.body = body or {}


class InDoubt(aiohttp.ClientError):
    """The request left us but its outcome is unknown (time-out, dropped connection, HTTP 5xx):
    WeCom may have acted on it, so a resend must be one WeCom deduplicates."""


class TokenCache:
    """The app's access token, shared by every call; a lock makes concurrent callers fetch once."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.expires_at = 0.0  # time.monotonic()
        self.fetches = 0
        self._lock: asyncio.Lock | None = None

    def lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def valid(self) -> str | None:
        return self.token if self.token and time.monotonic() < self.expires_at else None


class WeComAPI:
    def __init__(self, settings: WeComSettings, timeout: aiohttp.ClientTimeout | None = None) -> None:
        self.settings = settings
        self.base = settings.api_base.rstrip("/")
        self.timeout = timeout or aiohttp.ClientTimeout(total=settings.api_timeout_seconds,
                                                        connect=min(5.0, settings.api_timeout_seconds))
        self.tokens = TokenCache()
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=50), raise_for_status=False
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- token --------------------------------------------------------------------------------
    async def token(self, stale: str | None = None) -> str:
        """The cached token, fetched if missing/expiring, or refreshed if it is ``stale``."""
        cache = self.tokens
        current = cache.valid()
        if current and current != stale:
            return current
        async with cache.lock():
            current = cache.valid()
            if current and current != stale:  # someone else refreshed while we waited
                return current
            params = {"corpid": self.settings.corp_id, "corpsecret": self.settings.secret}
            async with self.session().get(f"{self.base}/gettoken", params=params) as resp:
                body = await self._json(resp)
            cache.fetches += 1
            if body.get("errcode", 0) != 0:
                code = int(body.get("errcode", -1))
                if code in (40001, 40013):
                    log.error("WeCom gettoken refused (%s): check [wecom] corp_id and secret", code)
                raise WeComError(code, str(body.get("errmsg", "")), body)
            ttl = int(body.get("expires_in", 7200))
            cache.token = str(body["access_token"])
            cache.expires_at = time.monotonic() + max(0, ttl - min(TOKEN_MARGIN_SECONDS, ttl // 2))
            return cache.token

    # -- calls --------------------------------------------------------------------------------
    async def call(self, path: str, payload: dict[str, Any] | None = None, *,
                   params: dict[str, str] | None = None,
                   form: Callable[[], aiohttp.FormData] | None = None, method: str = "POST") -> dict[str, Any]:
        """POST ``path`` (JSON or multipart; ``method="GET"`` for read APIs such as department/list);
        on an invalid/expired token refresh once and retry once."""
        tok = await self.token()
        body = await self._post(path, tok, payload, params, form, method)
        if int(body.get("errcode", 0)) in TOKEN_ERRORS:
            log.info("WeCom token rejected on %s (errcode %s); refreshing once", path, body.get("errcode"))
            tok = await self.token(stale=tok)
            body = await self._post(path, tok, payload, params, form, method)
        code = int(body.get("errcode", 0))
        if code != 0:
            raise WeComError(code, str(body.get("errmsg", "")), body)
        return body

    async def _post(self, path: str, tok: str, payload: dict[str, Any] | None, params: dict[str, str] | None,
                    form: Callable[[], aiohttp.FormData] | None, method: str = "POST") -> dict[str, Any]:
        """One request; failures after it may have reached WeCom become :class:`InDoubt`."""
        try:
            return await self._post_once(path, tok, payload, params, form, method)
        except aiohttp.ClientConnectorError:
            raise  # never connected: nothing was sent
        except aiohttp.ClientResponseError as exc:
            if exc.status >= 500:
                raise InDoubt(f"{path}: HTTP {exc.status}") from exc
            raise
        except (TimeoutError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                aiohttp.ClientOSError) as exc:
            raise InDoubt(f"{path}: {exc.__class__.__name__} {exc}".strip()) from exc

    async def _post_once(self, path: str, tok: str, payload: dict[str, Any] | None, params: dict[str, str] | None,
                         form: Callable[[], aiohttp.FormData] | None, method: str) -> dict[str, Any]:
        query = {"access_token": tok, **(params or {})}
        url = f"{self.base}/{path}"
        if method == "GET":
            async with self.session().get(url, params=query) as resp:
                return await self._json(resp)
        if form is not None:
            async with self.session().post(url, params=query, data=form()) as resp:  # a form is single-use
                return await self._json(resp)
        async with self.session().post(url, params=query, json=payload or {}) as resp:
            return await self._json(resp)

    @staticmethod
    async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
        if resp.status != 200:
            raise aiohttp.ClientResponseError(resp.request_info, resp.history, status=resp.status,
                                              message=f"HTTP {resp.status} from WeCom")
        data = await resp.json(content_type=None)
        if not isinstance(data, dict):
            raise aiohttp.ClientPayloadError("WeCom answered something that is not a JSON object")
        return data

    # -- endpoints ----------------------------------------------------------------------------
    async def send(self, message: dict[str, Any]) -> dict[str, Any]:
        return await self.call("message/send", {"agentid": self.settings.agent_id, **message})

    async def update_template_card(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("message/update_template_card", {"agentid": self.settings.agent_id, **body})

    async def appchat_send(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send to a group chat the app created (``appchat/create``); no agentid in this body."""
        return await self.call("appchat/send", message)

    async def upload(self, media_type: str, filename: str, data: bytes, content_type: str) -> str:
        def form() -> aiohttp.FormData:
            f = aiohttp.FormData()
            f.add_field("media", data, filename=filename, content_type=content_type)
            return f

        body = await self.call("media/upload", params={"type": media_type}, form=form)
        return str(body["media_id"])
