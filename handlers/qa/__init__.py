"""Questions answered from data (Q&A): ``answer(ctx, msg, intent)`` and the intent router (router.py)."""

from handlers.qa.router import answer, router

__all__ = ["answer", "router"]
