"""Statements run on the driver's cursor (storage.driver.Prepared) give exactly what Core gives: the
same values and types (aware datetimes, JSON, booleans, floats), IN lists of literals and of passed
values, RETURNING, row counts; a failing statement raises SQLAlchemy's wrapped error; statement
listeners still see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.exc import DBAPIError

from storage.db import Database
from storage.driver import Prepared
from storage.models import Conversation, Goal, InboundEvent, OutboxMessage

NOW = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


def _seed(db: Database) -> None:
    with db.session() as s:
        s.add(Goal(id="g1", title="新客户拓展", level="personal", kind="kpi", owner_id="E1", weight=0.5,
                   target=120.0, current=30.5, unit="家", higher_is_better=False))
        s.add(Goal(id="g2", title="回款", level="personal", kind="kpi", owner_id="E1", weight=0.5, target=10.0))
        s.add(Conversation(employee_id="E1", flow="checkin", step="obstacle", data={"a": "完成了方案", "n": [1, 2]},
                           updated_at=NOW, version=3))
        for i, status in enumerate(("pending", "done", "pending")):
            s.add(InboundEvent(key=f"k{i}", channel="wecom", payload={"i": i}, status=status,
                               received_at=NOW - timedelta(minutes=i)))


def _core(db: Database, stmt, params) -> list[dict]:
    with db.session() as s:
        return [dict(r._mapping) for r in s.connection().execute(stmt, params)]


def _driver(db: Database, prepared: Prepared, params) -> list[dict]:
    with db.session() as s:
        return prepared.rows(s.connection(), params)


@pytest.mark.parametrize("stmt, params", [
    (select(Goal).where(Goal.owner_id == bindparam("owner")).order_by(Goal.id), {"owner": "E1"}),
    (select(Conversation).where(Conversation.employee_id == bindparam("e")), {"e": "E1"}),
    (select(Conversation).where(Conversation.employee_id == bindparam("e")), {"e": "nobody"}),
    (select(InboundEvent).where(InboundEvent.status.in_(("pending", "failed")),
                                InboundEvent.received_at <= bindparam("at")).order_by(InboundEvent.key),
     {"at": NOW}),
    (select(InboundEvent.key).where(InboundEvent.key.in_(bindparam("keys", expanding=True))).order_by(InboundEvent.key),
     {"keys": ["k0", "k2", "zz"]}),
    (select(func.max(InboundEvent.received_at)), {}),
])
def test_rows_equal_what_core_returns(db: Database, stmt, params) -> None:
    _seed(db)
    prepared = Prepared(stmt)
    expected = _core(db, stmt, params)
    for _ in range(2):  # the first run reads the description; later runs use what it learnt
        got = _driver(db, prepared, params)
        assert got == expected
        assert [{k: type(v) for k, v in r.items()} for r in got] == [{k: type(v) for k, v in r.items()} for r in expected]
    if any(isinstance(v, datetime) for r in expected for v in r.values()):
        assert all(v.tzinfo is not None for r in got for v in r.values() if isinstance(v, datetime))


def test_a_passed_in_list_of_another_length_gets_its_own_expansion(db: Database) -> None:
    _seed(db)
    prepared = Prepared(select(InboundEvent.key).where(InboundEvent.key.in_(bindparam("keys", expanding=True)))
                        .order_by(InboundEvent.key))
    assert [r["key"] for r in _driver(db, prepared, {"keys": ["k1"]})] == ["k1"]
    assert [r["key"] for r in _driver(db, prepared, {"keys": ["k0", "k1", "k2"]})] == ["k0", "k1", "k2"]
    assert [r["key"] for r in _driver(db, prepared, {"keys": ["k2"]})] == ["k2"]


def test_updates_report_their_row_count_and_returning_gives_processed_values(db: Database) -> None:
    _seed(db)
    mark = Prepared(update(InboundEvent).where(InboundEvent.key.in_(bindparam("keys", expanding=True)),
                                               InboundEvent.status == "pending")
                    .values(status="done", processed_at=bindparam("at")))
    with db.unit_of_work() as unit:
        assert mark.execute(unit.session.connection(), {"keys": ["k0", "k1", "k2"], "at": NOW}) == 2
    bump = Prepared(update(Conversation).where(Conversation.employee_id == bindparam("e"))
                    .values(version=Conversation.version + 1, updated_at=bindparam("at"))
                    .returning(Conversation.version, Conversation.updated_at, Conversation.data))
    with db.unit_of_work() as unit:
        row = bump.first(unit.session.connection(), {"e": "E1", "at": NOW + timedelta(hours=1)})
    assert row == {"version": 4, "updated_at": NOW + timedelta(hours=1), "data": {"a": "完成了方案", "n": [1, 2]}}
    stored = {r["key"]: r["processed_at"] for r in _core(db, select(InboundEvent.key, InboundEvent.processed_at), {})}
    assert stored == {"k0": NOW, "k1": None, "k2": NOW}


def test_a_failing_statement_raises_sqlalchemys_error_and_listeners_see_each_statement(db: Database) -> None:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
        seen.append(statement)

    prepared = Prepared(select(OutboxMessage.id).where(OutboxMessage.key == bindparam("k")))
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert _driver(db, prepared, {"k": "x"}) == []
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(seen) == 1 and "outbox" in seen[0]
    broken = Prepared(select(func.no_such_function(OutboxMessage.id)))
    with pytest.raises(DBAPIError):
        _driver(db, broken, {})


def test_a_statement_it_does_not_run_itself_goes_through_core_with_the_same_answer(db: Database) -> None:
    """Values rendered into the SQL (literal_execute) are left to Core: same rows, same shape."""
    _seed(db)
    stmt = (select(InboundEvent.key, InboundEvent.received_at)
            .where(InboundEvent.key.in_(bindparam("keys", expanding=True, literal_execute=True)))
            .order_by(InboundEvent.key))
    prepared = Prepared(stmt)
    got = _driver(db, prepared, {"keys": ["k1", "k2"]})
    assert got == _core(db, stmt, {"keys": ["k1", "k2"]}) == [
        {"key": "k1", "received_at": NOW - timedelta(minutes=1)}, {"key": "k2", "received_at": NOW - timedelta(minutes=2)}]
    assert prepared._compiled[db.engine.dialect.name] is None


def test_lists_of_ever_new_lengths_stop_adding_expansions_and_still_answer(db: Database, monkeypatch) -> None:
    import storage.driver as driver

    monkeypatch.setattr(driver, "MAX_SHAPES", 2)
    _seed(db)
    prepared = Prepared(select(InboundEvent.key).where(InboundEvent.key.in_(bindparam("keys", expanding=True)))
                        .order_by(InboundEvent.key))
    for keys in (["k0"], ["k0", "k1"], ["k0", "k1", "k2"], ["k2", "zz", "k1", "yy"], ["k1"]):
        assert [r["key"] for r in _driver(db, prepared, {"keys": keys})] == sorted(k for k in keys if k.startswith("k"))
    assert len(prepared._shapes) == 2
