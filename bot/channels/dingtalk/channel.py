"""The DingTalk channel: an app robot in Stream mode (dingtalk-stream) plus our async OpenAPI client."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from dingtalk_stream import Credential

from bot.channels.base import Channel, Delivery
from bot.channels.dingtalk.inbound import BOT_TOPIC, CARD_TOPIC, BotMessageHandler, CardCallbackHandler
from bot.channels.dingtalk.openapi import OpenApiClient
from bot.channels.dingtalk.outbound import Outbound, card_id
from bot.channels.dingtalk.sdk import point_sdk_at
from bot.channels.dingtalk.stream import StreamClient
from bot.config import DingTalkSettings
from bot.events import InboundEvent
from bot.ratelimit import AppLimiter
from bot.services import Services
from storage.db import Database
from storage.models import Employee
from storage.outbox import Claimed

log = logging.getLogger(__name__)


class DingTalkChannel(Channel):
    name = "dingtalk"
    # ``group_text`` rows go to the department's group via groupMessages/send (see Outbound.group_text).
    supports_group_text = True

    def __init__(self, settings: DingTalkSettings) -> None:
        super().__init__()
        self.settings = settings
        self.batch_size = max(1, min(20, settings.batch_size))
        self.per_user_per_minute = settings.per_user_per_minute
        self.robot_code = settings.robot_code or settings.client_id
        point_sdk_at(settings.openapi_base)  # the SDK copied the endpoint at import time (§B1)
        self.api = OpenApiClient(settings.openapi_base, settings.client_id, settings.client_secret,
                                 timeout=settings.api_timeout_seconds)
        self.stream = StreamClient(Credential(settings.client_id, settings.client_secret), self.api)
        self.stream.register_callback_handler(BOT_TOPIC, BotMessageHandler(self))
        self.stream.register_callback_handler(CARD_TOPIC, CardCallbackHandler(self))
        self.outbound = Outbound(self)
        self.listens = settings.stream  # [dingtalk] stream = false: this process only sends
        self._sessions: dict[str, tuple[str, float]] = {}  # external sender → (webhook, expiry epoch s)

    # -- seam ---------------------------------------------------------------------------------
    def bind(self, services: Services) -> None:
        super().bind(services)
        self.limiter = AppLimiter(services.db, f"dingtalk:{self.settings.client_id}", self.settings.app_qps, 1)

    def card_handle_key(self, outbox_key: str) -> str:
        return card_id(self.robot_code, outbox_key)

    def recipient_for(self, employee: Employee) -> str | None:
        return employee.dingtalk_userid or None

    def employee_key(self) -> str | None:
        return "dingtalk_userid"

    async def start(self) -> None:
        if self.listens and not self.stream.running:
            self.stream.launch()

    async def stop(self) -> None:
        await self.stream.stop()
        await self.api.close()

    async def deliver(self, items: list[Claimed]) -> list[Delivery]:
        return await self.outbound.deliver(items)

    def health(self) -> dict[str, Any]:
        last = self.stream.last_frame_at
        try:
            loop_time = asyncio.get_running_loop().time()
        except RuntimeError:  # called outside the event loop
            last = None
        return {
            "name": self.name,
            "listens": self.listens,  # False: [dingtalk] stream = false, or another process of `serve --processes N` holds it
            "connected": self.stream.connected.is_set(),
            "connections": self.stream.connections,
            "reconnects": len(self.stream.delays),
            "stream_age_seconds": round(loop_time - last, 1) if last is not None else None,
        }

    # -- helpers for inbound/outbound ---------------------------------------------------------
    def _bound(self) -> Services:
        if self.services is None:
            raise RuntimeError("DingTalkChannel used before bind(): the app binds channels at start")
        return self.services

    @property
    def db(self) -> Database:
        return self._bound().db

    def now(self) -> datetime:
        return self._bound().now()

    async def submit(self, event: InboundEvent) -> bool:
        services = self._bound()
        if services.dispatcher is None:
            raise RuntimeError("DingTalkChannel.submit before the app created the dispatcher")
        return await services.dispatcher.submit(event)

    def remember_session(self, sender: str, url: Any, expires_ms: Any) -> None:
        if sender and isinstance(url, str) and url:
            self._sessions[sender] = (url, float(expires_ms or 0) / 1000.0)

    def session_for(self, recipient: str) -> str | None:
        """A still-valid session webhook for a sender without staff id (nothing late: LESSONS #8)."""
        entry = self._sessions.get(recipient)
        if entry is None or entry[1] <= time.time() + 60:
            return None
        return entry[0]
