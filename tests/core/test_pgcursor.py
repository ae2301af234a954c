"""The PostgreSQL engine's cursor builds ``description`` lazily: whoever reads it must see exactly what
psycopg gives, including after the cursor has moved on to another statement; the rows read through
SQLAlchemy (ORM and Core) are unchanged."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
from sqlalchemy import text

from storage import conversations
from storage.db import open_database
from storage.pgcursor import LazyDescriptionCursor


def _described(description: object) -> list[tuple]:
    return [tuple(c) for c in description]  # name, type_code, display_size, internal_size, precision, scale, null_ok


def test_the_engine_uses_it_and_descriptions_match_psycopg(pg_database):
    db = open_database(pg_database)
    try:
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert isinstance(raw.cursor(), LazyDescriptionCursor)
            query = "SELECT 1::int4 AS a, 'x'::varchar(7) AS b, now() AS c, 2.5::numeric(5, 2) AS d"
            lazy = raw.cursor()
            lazy.execute(query)
            plain = psycopg.Cursor(raw)
            plain.execute(query)
            assert len(lazy.description) == 4
            assert _described(lazy.description) == _described(plain.description)
            assert [c.name for c in lazy.description] == ["a", "b", "c", "d"]
            assert [c.type_display for c in lazy.description] == [c.type_display for c in plain.description]

            # Taken before the cursor runs something else, it still describes its own result.
            kept = lazy.description
            lazy.execute("SELECT 1 AS only_one")
            assert [c.name for c in kept] == ["a", "b", "c", "d"]
            assert [c.name for c in lazy.description] == ["only_one"]

            # No result rows, no description: same None as psycopg.
            lazy.execute("SET LOCAL statement_timeout = 0")
            assert lazy.description is None

            # Through SQLAlchemy: keys and values as before.
            result = conn.execute(text("SELECT 7 AS seven, '七' AS qi"))
            assert list(result.keys()) == ["seven", "qi"]
            assert result.all() == [(7, "七")]
    finally:
        db.dispose()


def test_conversation_read_gives_the_stored_flow(db):
    now = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)
    assert conversations.get(db, "E1") is None
    conversations.start(db, "E1", "checkin", "ask", {"part": "obstacle", "retried": ["x"]}, now)
    conversations.update(db, "E1", "confirm", {"pending": "预算审批"}, now)
    conv = conversations.get(db, "E1")
    assert conv is not None
    assert (conv.employee_id, conv.flow, conv.step, conv.data, conv.version) == (
        "E1", "checkin", "confirm", {"pending": "预算审批"}, 2)
    assert conv.updated_at == now
    conversations.clear(db, "E1", "checkin")
    assert conversations.get(db, "E1") is None
