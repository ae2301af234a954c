"""The ingest API: other systems (CRM, field-sales apps) report ended visits over HTTP.

``POST /ingest/visits`` with ``Authorization: Bearer <[server] ingest_token>`` and a JSON body
``{"visit_id", "employee_id", "customer", "ended_at"}`` or ``{"visits": [ ... ]}`` (≤ 500).
Each visit becomes a typed ``SystemEvent("visit_ended")`` on the same dispatcher as chat, so it is
deduplicated durably (re-posting the same visit_id does nothing) and the rep gets the visit card.
Answers 202 ``{"accepted", "duplicates", "errors": [{"index", "error"}]}``; 400 for a body that is
not JSON of that shape, 401 for a wrong token, 413 for an oversize body.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.events import SystemEvent
from storage.models import Employee

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
MAX_VISITS = 500


def _check(item: Any, services: Services) -> str | dict[str, str]:
    """A clean visit dict, or the reason it is rejected."""
    if not isinstance(item, dict):
        return "each visit must be a JSON object"
    vals = {k: item.get(k) for k in ("visit_id", "employee_id", "customer", "ended_at")}
    missing = [k for k, v in vals.items() if not isinstance(v, str) or not v.strip()]
    if missing:
        return f"missing or non-string field(s): {', '.join(missing)}"
    if len(vals["visit_id"]) > 64 or len(vals["customer"]) > 200:
        return "visit_id (64) or customer (200) too long"
    try:
        datetime.fromisoformat(vals["ended_at"])
    except ValueError:
        return f"ended_at is not an ISO datetime: {vals['ended_at']!r}"
    with services.db.session() as s:
        emp = s.get(Employee, vals["employee_id"])
    if emp is None or not emp.active:
        return f"unknown or inactive employee {vals['employee_id']!r}"
    return {k: v.strip() for k, v in vals.items()}


def routes(services: Services) -> list[web.RouteDef]:
    token = services.settings.server.ingest_token

    async def post_visits(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            log.warning("ingest: rejected a request with a wrong token from %s", request.remote)
            return web.json_response({"error": "invalid token"}, status=401)
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "body is not JSON"}, status=400)
        items = body.get("visits") if isinstance(body, dict) and "visits" in body else [body]
        if not isinstance(items, list) or not items or len(items) > MAX_VISITS:
            return web.json_response({"error": f"expected a visit or 1–{MAX_VISITS} visits"}, status=400)
        accepted = duplicates = 0
        errors: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            v = _check(item, services)
            if isinstance(v, str):
                errors.append({"index": i, "error": v})
                continue
            event = SystemEvent(channel="system", sender=v["employee_id"], key=f"ingest:visit:{v['visit_id']}",
                                name="visit_ended", data={k: v[k] for k in ("visit_id", "customer", "ended_at")})
            if await services.dispatcher.submit(event):
                accepted += 1
            else:
                duplicates += 1
        return web.json_response({"accepted": accepted, "duplicates": duplicates, "errors": errors}, status=202)

    return [web.post("/ingest/visits", post_visits)]
