"""The analysis hook: hand every free-text reply to the risk feature when it is available."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


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
