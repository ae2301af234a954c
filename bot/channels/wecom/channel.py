"""The WeCom self-built-app channel: callback routes in, outbox rows out through the REST API."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.channels.base import Channel, Delivery
from bot.channels.wecom.api import WeComAPI
from bot.channels.wecom.callback import CallbackHandler
from bot.channels.wecom.outbound import Outbound
from bot.config import WeComSettings
from bot.ratelimit import AppLimiter
from cards.wecom import task_id_for

if TYPE_CHECKING:
    from bot.services import Services
    from storage.models import Employee
    from storage.outbox import Claimed

log = logging.getLogger(__name__)
# The per-minute budget is enforced in 1-second windows of a sixtieth each: any sliding minute sees at
# most 61/60 of it (one fixed 60-second window could let twice the budget through around its edge), and
# a spent window holds senders back for under a second (10-second windows stalled replies for up to 10 s
# once a burst had spent them).
APP_WINDOW_SECONDS = 1


class WeComChannel(Channel):
    name = "wecom"
    batch_size = 500  # rows per deliver(): identical texts become one call, the rest 20 calls at a time
    # ``group_text`` rows go to an app-created group chat (``appchat/send``); see outbound.group_text.
    supports_group_text = True

    def __init__(self, settings: WeComSettings) -> None:
        super().__init__()
        self.settings = settings
        # WeCom drops messages beyond 30/min and 1000/h per user silently: the worker paces below.
        self.per_user_per_minute = settings.per_user_per_minute
        self.per_user_per_hour = settings.per_user_per_hour
        self.api = WeComAPI(settings)
        self.callback = CallbackHandler(settings, self.name)
        self.outbound: Outbound | None = None

    def bind(self, services: Services) -> None:
        super().bind(services)
        self.callback.services = services
        s = self.settings
        per_window = max(1, s.app_calls_per_minute * APP_WINDOW_SECONDS // 60)
        self.limiter = AppLimiter(services.db, f"wecom:{s.corp_id}:{s.agent_id}", per_window, APP_WINDOW_SECONDS)
        self.outbound = Outbound(self.api, services.db, self.limiter, s.max_users_per_call)

    async def stop(self) -> None:
        await self.api.close()

    def routes(self) -> list[web.RouteDef]:
        path = self.settings.callback_path
        return [web.get(path, self.callback.get), web.post(path, self.callback.post)]

    def card_handle_key(self, outbox_key: str) -> str:
        return task_id_for(outbox_key)

    def recipient_for(self, employee: Employee) -> str | None:
        return employee.wecom_userid or None

    def employee_key(self) -> str | None:
        return "wecom_userid"

    async def deliver(self, items: list[Claimed]) -> list[Delivery]:
        if self.outbound is None:
            raise RuntimeError("WeComChannel.deliver before bind(): the app binds channels at start")
        return await self.outbound.deliver(items)

    def health(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "token_cached": self.api.tokens.valid() is not None,
            "token_fetches": self.api.tokens.fetches,
            "callbacks_rejected": self.callback.rejected,
            "rate_limit_waits": self.outbound.limiter.waits if self.outbound else 0,
        }
