"""Feature routers, included by the app in this explicit order (first match wins)."""

from __future__ import annotations

import importlib

from bot.router import Router

ROUTER_MODULES = (
    "handlers.menu",
    "handlers.checkin",
    "handlers.visit",
    "handlers.adjust",
    "handlers.risk",
    "handlers.alerts",
    "handlers.qa",
    "handlers.directory",
)


def load_routers() -> list[Router]:
    """Import every feature module (which also registers its scheduled jobs) and return routers."""
    return [importlib.import_module(name).router for name in ROUTER_MODULES]
