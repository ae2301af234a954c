"""A refused insert inside a unit of work (a unique index saying "already there") must leave the
transaction usable: on PostgreSQL any error aborts the whole transaction, so stores that expect a
conflict take a savepoint (or use ON CONFLICT). Run on both databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import func, select

from handlers.adjust import store as adjust
from handlers.alerts import store as alerts
from storage import inbox
from storage.models import AdjustmentRequest, Alert, Goal

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def test_a_second_pending_adjustment_is_refused_and_the_event_goes_on(db):
    with db.session() as s:
        s.add(Goal(id="G1", title="新客户签约数", owner_id="E1", target=12, current=5, unit="家"))
    with db.session() as s:
        goal = s.get(Goal, "G1")
    with db.unit_of_work():
        assert adjust.create(db, goal=goal, requester_id="E1", new_target=11, reason="预算冻结", approver_id="M1",
                             now=NOW) is not None
    with db.unit_of_work():
        again = adjust.create(db, goal=goal, requester_id="E1", new_target=10, reason="再降一点", approver_id="M1",
                              now=NOW)
        assert again is None  # one pending request per goal
        assert inbox.accept(db, "wecom:after-refusal", "wecom", {"kind": "text"}, NOW)  # still usable
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(AdjustmentRequest)).scalar_one() == 1
    assert inbox.status_of(db, "wecom:after-refusal") == "pending"


def test_two_scans_recording_the_same_alert_make_one(db):
    finding = alerts.Finding(rule="kpi_behind", subject="E1", level=1, figure=0.4, evidence={"gap": 0.4},
                             recipients=["M1"], manager_id="M1", employee_id="E1")
    inserted, done = threading.Event(), threading.Event()

    def first() -> bool:
        with db.unit_of_work():
            _, notify = alerts.record(db, finding, "2026-W49", NOW)
            inserted.set()
            done.wait(0.5)  # hold the transaction open while the second scan looks and inserts
        return notify

    def second() -> bool:
        inserted.wait(10)
        with db.unit_of_work():
            _, notify = alerts.record(db, finding, "2026-W49", NOW)
            assert inbox.accept(db, "wecom:after-alert", "wecom", {"kind": "text"}, NOW)  # still usable
        return notify

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        assert a.result(timeout=30) is True
        done.set()
        assert b.result(timeout=30) is False  # found the first scan's alert: nothing new to notify
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(Alert)).scalar_one() == 1
