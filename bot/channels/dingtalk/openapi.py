"""Async client for the DingTalk OpenAPI (api.dingtalk.com) — our own, not the SDK's blocking helpers.

One shared access-token cache with an expiry buffer and a lock; at most one
invalidate-and-retry per call when DingTalk answers HTTP 400 ``InvalidAuthentication``.
The base URL comes from settings and is never mutated (LESSONS #10).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

TOKEN_BUFFER_SECONDS = 300
AUTH_ERRORS = {"InvalidAuthentication", "AuthenticationFailed.MissingParameter"}
THROTTLE_CODES = {"90002", "Throttling", "Throttling.Api", "Throttling.User", "send.too.fast",
                  "send.byToken.tooFast", "Forbidden.AccessDenied.QpsLimitForApi"}


class DingTalkApiError(Exception):
    """A DingTalk error answer: HTTP status plus the ``{code, message, requestid}`` body."""

    def __init__(self, status: int, code: str, message: str, requestid: str = "") -> None:
        super().__init__(f"HTTP {status} {code}: {message} (requestid={requestid})")
        self.status, self.code, self.message, self.requestid = status, code, message, requestid

    @property
    def throttled(self) -> bool:
        return self.status == 429 or self.code in THROTTLE_CODES

    @property
    def retryable(self) -> bool:
        return self.throttled or self.status >= 500

    @property
    def auth(self) -> bool:
        return self.code in AUTH_ERRORS


@dataclass
class _Token:
    value: str
    expires_at: float  # monotonic seconds


class OpenApiClient:
    def __init__(self, base: str, app_key: str, app_secret: str, timeout: float = 10.0) -> None:
        self.base = base.rstrip("/")
        self.app_key, self.app_secret = app_key, app_secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        self.token_fetches = 0

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- token --------------------------------------------------------------------------------
    async def access_token(self) -> str:
        async with self._token_lock:
            tok = self._token
            if tok is not None and time.monotonic() < tok.expires_at:
                return tok.value
            body = await self._raw("POST", "/v1.0/oauth2/accessToken",
                                   {"appKey": self.app_key, "appSecret": self.app_secret}, token=None)
            self.token_fetches += 1
            expire_in = int(body.get("expireIn", 7200))
            self._token = _Token(str(body["accessToken"]),
                                 time.monotonic() + max(0, expire_in - TOKEN_BUFFER_SECONDS))
            return self._token.value

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (only if it is still the cached one: another call may have refreshed it)."""
        if self._token is not None and self._token.value == token:
            self._token = None

    # -- calls --------------------------------------------------------------------------------
    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        """An authenticated OpenAPI call; refreshes the token once on InvalidAuthentication."""
        token = await self.access_token()
        try:
            return await self._raw(method, path, body, token=token, params=params)
        except DingTalkApiError as exc:
            if not exc.auth:
                raise
            log.warning("DingTalk rejected the access token (%s); refreshing it once", exc.code)
            self.invalidate(token)
            token = await self.access_token()
            return await self._raw(method, path, body, token=token, params=params)

    async def _raw(self, method: str, path: str, body: dict[str, Any] | None, *, token: str | None,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            headers["x-acs-dingtalk-access-token"] = token
        session = await self.session()
        data = json.dumps(body or {}, ensure_ascii=False).encode()
        async with session.request(method, self.base + path, data=data, headers=headers, params=params) as resp:
            text = await resp.text()
            try:
                payload = json.loads(text) if text else {}
            except ValueError:
                payload = {"code": "notJson", "message": text[:200]}
            if resp.status >= 400 or not isinstance(payload, dict):
                p = payload if isinstance(payload, dict) else {}
                raise DingTalkApiError(resp.status, str(p.get("code", resp.status)), str(p.get("message", "")),
                                       str(p.get("requestid", p.get("requestId", ""))))
            # Some gateways answer throttling as 200 with an errcode (legacy shape).
            if payload.get("errcode") not in (None, 0):
                raise DingTalkApiError(resp.status, str(payload["errcode"]), str(payload.get("errmsg", "")))
            return payload

    # -- open connection (Stream gateway) -----------------------------------------------------
    async def open_connection(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._raw("POST", "/v1.0/gateway/connections/open", body, token=None)
