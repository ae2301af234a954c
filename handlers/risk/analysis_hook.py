"""The analysis hook: hand every free-text reply to the risk feature when it is available."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


async def record_many(ctx_or_services: Any, employee_id: str, items: list[tuple[str, str, str]]) -> None:
    """:func:`record` for several replies of one employee at once, ``(text, source, ref)`` each."""
    try:
        from handlers import risk
    except ImportError:  # pragma: no cover
        return
    fn = getattr(risk, "record_replies", None)
    items = [it for it in items if it[0].strip()]
    if fn is None or not items:
        return
    try:
        await fn(ctx_or_services, employee_id, items)
    except Exception:
        log.exception("risk.record_replies failed for %s; the replies themselves were saved", items[0][2])


async def record(ctx_or_services: Any, employee_id: str, text: str, source: str, ref: str) -> None:
    """Call ``handlers.risk.record_reply`` if that feature provides it; never break the caller."""
    try:
        from handlers import risk
    except ImportError:  # pragma: no cover
        return
    fn = getattr(risk, "record_reply", None)
    if fn is None or not text.strip():
        return
    try:
        await fn(ctx_or_services, employee_id, text, source, ref)
    except Exception:
        log.exception("risk.record_reply failed for %s (%s); the reply itself was saved", ref, source)
