"""Visit feedback: tag card after a customer visit, notes, points, weekly summary (router.py)."""

from handlers.visit.router import router

__all__ = ["router"]
