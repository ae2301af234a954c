"""Feature packages, included by the app in this explicit order (first match wins). Each exposes
``router`` and may expose ``jobs`` (its scheduled jobs, ``scheduler.registry.JobSpec``)."""

from __future__ import annotations

import importlib

from bot.router import Router
from scheduler.registry import JobSpec

ROUTER_MODULES = (
    "handlers.menu",
    "handlers.checkin",
    "handlers.visit",
    "handlers.adjust",
    "handlers.risk",
    "handlers.alerts",
    "handlers.qa",
    "handlers.directory",
    "handlers.housekeeping",
)


def load_routers() -> list[Router]:
    """Every feature's router, in order."""
    return [importlib.import_module(name).router for name in ROUTER_MODULES]


def load_jobs() -> list[JobSpec]:
    """Every job the features declare (registered by the app, nothing by import side effect)."""
    return [spec for name in ROUTER_MODULES for spec in getattr(importlib.import_module(name), "jobs", [])]
