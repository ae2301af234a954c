"""The ingest API: other systems (CRM, field-sales apps, BI, task and work-log tools) post data.

``POST /ingest/visits`` with ``Authorization: Bearer <[server] ingest_token>`` and a JSON body
``{"visit_id", "employee_id", "customer", "ended_at"}`` or ``{"visits": [ ... ]}`` (≤ 500).
Each visit becomes a typed ``SystemEvent("visit_ended")`` on the same dispatcher as chat, so it is
deduplicated durably (re-posting the same visit_id does nothing) and the rep gets the visit card.
Answers 202 ``{"accepted", "duplicates", "errors": [{"index", "error"}]}``; 400 for a body that is
not a JSON object of that shape (or nested too deeply), 401 for a wrong or bare token (the
``Bearer`` scheme is required), 413 for an oversize body. Ids are checked at the door
(``bot.validation``: no whitespace, ``:``, control characters; ≤ 64 characters), ``ended_at``
must be an ISO time from 2000 up to one day ahead (no zone = company time zone); a batch where
every visit is rejected answers 400 with the reasons.

``POST /ingest/metrics``, ``/ingest/tasks`` and ``/ingest/worklogs`` take the columns of
``metrics.csv``, ``tasks.csv`` and ``worklogs.csv`` as JSON (one object, or ``{"metrics"|"tasks"|
"worklogs": [ … ≤ 500 … ]}``), with the same token and door checks, and the same row checks as the
importer (``storage.importer.ingest_items``: every reference must exist, employees must be active,
every problem of an item reported). Idempotent by the external id: ``task_id``; ``goal_id`` + ``date``
for a metric; ``worklog_id`` for a work log (without one: employee, date and content). Answers 202
``{"accepted", "updated", "duplicates", "errors": [{"index", "error"}]}`` (``updated``: the id was
known and something changed; ``duplicates``: identical re-sends); 400 when every item is rejected.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.events import SystemEvent
from bot.validation import Invalid, bearer_ok, clean_id, clean_text, clean_time, items_of, read_json_object
from storage import employees
from storage.db import Database
from storage.importer import ItemsResult, ingest_items

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
MAX_VISITS = 500
MAX_ITEMS = 500
# entity -> the ids checked at the door (required, optional); the rest is checked like an imported row
DOOR_IDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "metrics": (("goal_id",), ()),
    "tasks": (("task_id", "owner_id"), ("goal_id",)),
    "worklogs": (("employee_id",), ("worklog_id",)),
}


def _check(item: Any, services: Services) -> dict[str, str]:
    """A clean visit (``ended_at`` as an aware ISO string) or :class:`Invalid` with the reason."""
    if not isinstance(item, dict):
        raise Invalid("each visit must be a JSON object")
    ended = clean_time(item.get("ended_at"), "ended_at", services.now(), services.tz)
    return {"visit_id": clean_id(item.get("visit_id"), "visit_id"),
            "employee_id": clean_id(item.get("employee_id"), "employee_id"),
            "customer": clean_text(item.get("customer"), "customer", 200),
            "ended_at": ended.isoformat()}


def _active_employees(db: Database, ids: list[str]) -> set[str]:
    return employees.active_ids(db, ids)


def _door(name: str, item: Any) -> dict[str, Any]:
    """The item with its ids checked at the door, or :class:`Invalid`."""
    if not isinstance(item, dict):
        raise Invalid(f"each item of {name} must be a JSON object")
    required, optional = DOOR_IDS[name]
    for col in required:
        clean_id(item.get(col), col)
    for col in optional:
        if item.get(col) not in (None, ""):
            clean_id(item.get(col), col)
    return item


def routes(services: Services) -> list[web.RouteDef]:
    token = services.settings.server.ingest_token

    def rows_endpoint(name: str):
        async def post_rows(request: web.Request) -> web.Response:
            if not bearer_ok(request, token):
                log.warning("ingest: rejected a request without the right bearer token from %s", request.remote)
                return web.json_response({"error": "invalid token"}, status=401)
            try:
                items = items_of(await read_json_object(request), name, MAX_ITEMS)
            except Invalid as exc:
                return web.json_response({"error": str(exc)}, status=400)
            door: dict[int, str] = {}
            good: list[tuple[int, dict[str, Any]]] = []
            for i, item in enumerate(items):
                try:
                    good.append((i, _door(name, item)))
                except Invalid as exc:
                    door[i] = str(exc)
            result = await services.db.run(ingest_items, services.db, name, good, services.tz) if good else ItemsResult()
            errors = sorted(result.errors + [{"index": i, "error": err} for i, err in door.items()],
                            key=lambda e: e["index"])
            for e in errors:
                log.info("ingest: %s item %d rejected: %s", name, e["index"], e["error"])
            body = {"accepted": result.accepted, "updated": result.updated, "duplicates": result.duplicates,
                    "errors": errors}
            if errors and len(errors) == len(items):  # nothing usable: say why, as a client error
                return web.json_response({"error": errors[0]["error"], **body}, status=400)
            return web.json_response(body, status=202)

        return post_rows

    async def post_visits(request: web.Request) -> web.Response:
        if not bearer_ok(request, token):
            log.warning("ingest: rejected a request without the right bearer token from %s", request.remote)
            return web.json_response({"error": "invalid token"}, status=401)
        try:
            items = items_of(await read_json_object(request), "visits", MAX_VISITS)
        except Invalid as exc:
            return web.json_response({"error": str(exc)}, status=400)
        checked: list[dict[str, str] | str] = []
        for item in items:
            try:
                checked.append(_check(item, services))
            except Invalid as exc:
                checked.append(str(exc))
        wanted = [v["employee_id"] for v in checked if isinstance(v, dict)]
        known = await services.db.run(_active_employees, services.db, wanted) if wanted else set()
        accepted = duplicates = 0
        errors: list[dict[str, Any]] = []
        for i, v in enumerate(checked):
            if isinstance(v, dict) and v["employee_id"] not in known:
                v = f"unknown or inactive employee {v['employee_id']!r}"
            if isinstance(v, str):
                log.info("ingest: visit %d rejected: %s", i, v)
                errors.append({"index": i, "error": v})
                continue
            event = SystemEvent(channel="system", sender=v["employee_id"], key=f"ingest:visit:{v['visit_id']}",
                                name="visit_ended", data={k: v[k] for k in ("visit_id", "customer", "ended_at")})
            if await services.dispatcher.submit(event):
                accepted += 1
            else:
                duplicates += 1
        if errors and not accepted and not duplicates:  # nothing usable: say why, as a client error
            return web.json_response({"error": errors[0]["error"], "accepted": 0, "duplicates": 0,
                                      "errors": errors}, status=400)
        return web.json_response({"accepted": accepted, "duplicates": duplicates, "errors": errors}, status=202)

    return [web.post("/ingest/visits", post_visits),
            *(web.post(f"/ingest/{name}", rows_endpoint(name)) for name in DOOR_IDS)]
