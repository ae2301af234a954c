"""Checks at the door for the ingest API (and any other HTTP input from other systems).

Every helper returns the clean value or raises :class:`Invalid` with a reason meant for the caller
(the answer's ``error``), so one bad id never gets stored and then crashes a scheduled job later.
Reuse these for every ``/ingest/...`` endpoint: ``bearer_ok``, ``read_json_object``, ``items_of``,
``clean_id``, ``clean_text``, ``clean_time``.
"""

from __future__ import annotations

import hmac
import json
import re
import unicodedata
from datetime import datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web

MAX_DEPTH = 6  # {"visits": [{...}]} needs 3; anything much deeper is not one of our shapes
MAX_FUTURE = timedelta(days=1)  # a time more than this ahead of now is a bug on the sender's side
MIN_YEAR = 2000
ID_MAX = 64
# ids end up in outbox keys ("…:<id>:…"), card payloads ("visit:tag:<id>:v1") and log lines
_BAD_ID = re.compile(r"[\s:|/\\\"'<>]")


class Invalid(ValueError):
    """A rejected input; ``str(exc)`` says why."""


def bearer_ok(request: web.Request, token: str) -> bool:
    """``Authorization: Bearer <token>`` exactly (a bare token without the scheme is refused)."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip() or not token:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_DEPTH:
            return d
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (not a list, string or number), nested at most ``MAX_DEPTH`` deep."""
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("body is not JSON") from None
    except RecursionError:
        raise Invalid(f"JSON nested too deeply (at most {MAX_DEPTH} levels)") from None
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    if _depth(body) > MAX_DEPTH:
        raise Invalid(f"JSON nested too deeply (at most {MAX_DEPTH} levels)")
    return body


def items_of(body: dict[str, Any], plural: str, max_items: int) -> list[Any]:
    """``{"<plural>": [...]}`` or one item given as the body itself."""
    items = body.get(plural) if plural in body else [body]
    if not isinstance(items, list) or not items or len(items) > max_items:
        raise Invalid(f"expected one object or {{\"{plural}\": [1–{max_items} objects]}}")
    return items


def clean_id(value: Any, name: str, max_len: int = ID_MAX) -> str:
    """A printable id: no whitespace, no ``: | / \\ " ' < >``, no control characters, ≤ ``max_len``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise Invalid(f"{name} is missing or not a string")
    if len(value) > max_len:
        raise Invalid(f"{name} is longer than {max_len} characters")
    if _BAD_ID.search(value) or any(unicodedata.category(c)[0] in "CZ" for c in value):
        raise Invalid(f"{name} {value[:max_len]!r} contains whitespace, a control character or one of : | / \\ \" ' < >")
    return value


def clean_text(value: Any, name: str, max_len: int = 200) -> str:
    """Free text on one line: trimmed, not empty, no control characters, ≤ ``max_len``."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{name} is missing or not a string")
    value = value.strip()
    if len(value) > max_len:
        raise Invalid(f"{name} is longer than {max_len} characters")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise Invalid(f"{name} contains control characters")
    return value


def clean_time(value: Any, name: str, now: datetime, tz: tzinfo, max_future: timedelta = MAX_FUTURE) -> datetime:
    """An ISO datetime (no zone = company time zone), from ``MIN_YEAR`` up to ``max_future`` ahead of now."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{name} is missing or not a string")
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{name} is not an ISO datetime: {value[:40]!r}") from None
    if t.year < MIN_YEAR:
        raise Invalid(f"{name} is before {MIN_YEAR}: {value[:40]!r}")
    try:
        t = t.replace(tzinfo=tz) if t.tzinfo is None else t
        t.astimezone(now.tzinfo)
    except (OverflowError, ValueError):
        raise Invalid(f"{name} is out of range: {value[:40]!r}") from None
    if t - now > max_future:
        raise Invalid(f"{name} is more than {max_future} in the future: {value[:40]!r}")
    return t
