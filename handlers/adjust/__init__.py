"""Target adjustments: request flow, manager decision, report (router.py)."""

from handlers.adjust.router import router

__all__ = ["router"]
