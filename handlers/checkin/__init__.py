"""Weekly check-in: push, fill-in flow, manager review, escalation, growth archive (router.py)."""

from handlers.checkin.router import router

__all__ = ["router"]
