"""Target adjustments: request flow, manager decision, report (router.py)."""

from handlers.adjust.decide import adjust_escalation
from handlers.adjust.router import router

jobs = [adjust_escalation]

__all__ = ["jobs", "router"]
