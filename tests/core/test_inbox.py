"""Group-committed acceptance (``inbox.accept_many``): new keys answered once, duplicates (earlier or
in the same batch) refused, payloads and times stored as given, ids in arrival order; the same on
SQLite and PostgreSQL (which takes the batch as arrays)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from storage import inbox
from storage.models import InboundEvent

NOW = datetime(2026, 12, 4, 16, 30, 5, 123456, tzinfo=timezone(timedelta(hours=8)))


PAYLOAD = {"kind": "text", "text": "最近天天加班到半夜，真的有点顶不住了", "nested": {"n": [1, 2.5, None, True]}}
BATCH = [  # after "wecom:old" was accepted on its own
    ("wecom:b", "wecom", PAYLOAD),
    ("wecom:old", "wecom", {"kind": "text", "text": "重发"}),  # a platform retry of an accepted event
    ("dingtalk:a", "dingtalk", {"kind": "card_action", "action": "ci:skip:7"}),
    ("wecom:b", "wecom", {"kind": "text", "text": "同一批里的重复"}),  # twice in one batch
    ("wecom:c", "wecom", {}),
]


def test_a_batch_stores_each_new_event_once_in_arrival_order(db):
    assert inbox.accept(db, "wecom:old", "wecom", {"kind": "text", "text": "早"}, NOW)
    payload, batch = PAYLOAD, BATCH
    assert inbox.accept_many(db, batch, NOW) == {"wecom:b", "dingtalk:a", "wecom:c"}
    assert inbox.accept_many(db, batch, NOW) == set()  # everything is known now
    with db.session() as s:
        rows = list(s.execute(select(InboundEvent).order_by(InboundEvent.id)).scalars())
    assert [r.key for r in rows] == ["wecom:old", "wecom:b", "dingtalk:a", "wecom:c"]
    by_key = {r.key: r for r in rows}
    assert by_key["wecom:b"].payload == payload  # the first of the two in the batch
    assert by_key["wecom:old"].payload["text"] == "早"
    assert by_key["dingtalk:a"].channel == "dingtalk" and by_key["wecom:c"].payload == {}
    assert all(r.status == "pending" and r.received_at == NOW for r in rows)
    assert [e.key for e in inbox.pending(db)] == ["wecom:old", "wecom:b", "dingtalk:a", "wecom:c"]
