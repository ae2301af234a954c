"""Which outbox rows carry the same content, so one platform call can take them all."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any


def content_digest(kind: str, payload: dict[str, Any]) -> str | None:
    """The digest of a row's content when it can go to many people in one call (a text, markdown, a
    shared card), else None: rows with equal digests are claimed together (``storage.outbox.claim_due``).
    For a text, its whole payload; for a shared card, the card (its per-person subject, which names
    the card record, is not content: the channels merge shared cards by the card alone)."""
    if kind in ("text", "markdown"):
        content: Any = payload
    elif kind == "card" and payload.get("shared") and "card" in payload:
        content = payload["card"]
    else:
        return None
    body = json.dumps([kind, content], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()


def first_contents(rows: list[Sequence[Any]], calls: int) -> list[Sequence[Any]]:
    """Of ``(id, digest)`` rows in queue order, those of the first ``calls`` distinct contents (a row
    without a digest is a content of its own): what that many calls can take."""
    seen: set[Any] = set()
    kept = []
    for row in rows:
        key = row[1] if row[1] is not None else ("row", row[0])
        if key not in seen and len(seen) < calls:
            seen.add(key)
        if key in seen:
            kept.append(row)
    return kept
