"""Write-ahead note on outbox rows: DingTalk accepted them (before the worker marks them sent).

A worker that dies between DingTalk's answer and ``mark_sent`` leaves the rows ``sending``; when
they are reclaimed as in-doubt, the note shows they were delivered, so they are not sent twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from storage.db import Database
from storage.models import OutboxMessage


def note_accepted(db: Database, row_ids: list[int], result: dict[str, Any]) -> None:
    if not row_ids:
        return
    with db.session() as s:
        s.execute(update(OutboxMessage)
                  .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == "sending")
                  .values(result=result))
