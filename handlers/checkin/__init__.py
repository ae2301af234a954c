"""Weekly check-in: push, fill-in flow, manager review, escalation, growth archive (router.py)."""

from handlers.checkin.escalation import escalation_scan
from handlers.checkin.router import checkin_push, router

jobs = [checkin_push, escalation_scan]

__all__ = ["jobs", "router"]
