"""Attrition/risk flags from free-text replies, their handling and the weekly digest (router.py).
``record_reply(...)`` (and ``record_replies`` for several at once) is the entry point other features use."""

from handlers.risk.digest import risk_digest
from handlers.risk.router import record_replies, record_reply, router

jobs = [risk_digest]

__all__ = ["jobs", "record_replies", "record_reply", "router"]
