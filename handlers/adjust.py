"""Feature router: adjust (filled in by its issue)."""

from __future__ import annotations

from bot.router import Router

router = Router("adjust")
