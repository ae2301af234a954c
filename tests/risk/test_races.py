"""Two transactions racing to record the same risk, each inside its own unit of work (as two bot
processes on one PostgreSQL would, if a job and an event met): the loser absorbs its evidence into the
winner's flag and its transaction stays usable; the same replies recorded twice leave one set of
analyses. On SQLite the write gate serialises the two; the outcome is the same."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from handlers.risk import store as risk
from storage.models import ReplyAnalysis, RiskFlag

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def _analysis(ref: str) -> ReplyAnalysis:
    return ReplyAnalysis(employee_id="E1", source="checkin", ref=ref, text="真的有点顶不住了", sentiment="neg",
                         score=-0.8, risks=[{"category": "burnout", "evidence": "顶不住"}], created_at=NOW)


def test_the_second_of_two_racing_flags_absorbs_into_the_first(db):
    inserted, committed = threading.Event(), threading.Event()

    def first() -> tuple[int | None, bool]:
        with db.unit_of_work():
            flag, created = risk.raise_flag(db, "E1", "burnout", "severe", [{"analysis_id": 1}], NOW, TZ)
            inserted.set()
            committed.wait(0.5)  # hold the transaction open while the second one looks and inserts
        return flag.id, created

    def second() -> tuple[int | None, bool, bool]:
        inserted.wait(10)
        with db.unit_of_work():
            flag, created = risk.raise_flag(db, "E1", "burnout", "repeat", [{"analysis_id": 2}], NOW, TZ)
            usable = risk.save_analyses(db, [_analysis("checkin:9:obstacle")])  # the transaction goes on
        return flag.id, created, usable

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(first)
        b = pool.submit(second)
        first_id, first_created = a.result(timeout=30)
        committed.set()
        second_id, second_created, usable = b.result(timeout=30)

    assert first_created and not second_created and second_id == first_id and usable
    with db.session() as s:
        flags = list(s.execute(select(RiskFlag)).scalars())
    assert len(flags) == 1
    assert [e["analysis_id"] for e in flags[0].evidence] == [1, 2]


def test_replies_recorded_twice_keep_one_set_and_the_transaction_goes_on(db):
    with db.unit_of_work():
        assert risk.save_analyses(db, [_analysis("checkin:7:achievement")])
    with db.unit_of_work():
        rows = [_analysis("checkin:7:obstacle"), _analysis("checkin:7:achievement")]  # one of them known
        assert not risk.save_analyses(db, rows)
        flag, created = risk.raise_flag(db, "E1", "burnout", "severe", [{"analysis_id": 1}], NOW, TZ)
    assert created and flag.id is not None
    with db.session() as s:
        refs = sorted(s.execute(select(ReplyAnalysis.ref)).scalars())
        n_flags = s.execute(select(func.count()).select_from(RiskFlag)).scalar_one()
    assert refs == ["checkin:7:achievement"] and n_flags == 1  # all or none of a batch


def test_a_checkins_analyses_are_stored_as_given_with_their_ids(db):
    """The three analyses of a check-in go in together (one statement on PostgreSQL): each row reads
    back exactly as given, text with quotes and newlines, score, risks and time included."""
    rows = [_analysis(f"checkin:9:{p}") for p in ("achievement", "obstacle", "next_action")]
    rows[1].text, rows[1].score, rows[1].risks = '预算"还没批"\n下周再说', -0.25, []
    rows[2].created_at = datetime(2026, 12, 4, 8, 0, 1, 250000, tzinfo=UTC)
    with db.unit_of_work():
        assert risk.save_analyses(db, rows)
    assert rows[0].id is not None and rows[0].id < rows[1].id < rows[2].id  # in the order given
    with db.session() as s:
        stored = {r.ref: r for r in s.execute(select(ReplyAnalysis)).scalars()}
    for r in rows:
        got = stored[r.ref]
        assert (got.id, got.employee_id, got.source, got.text, got.sentiment, got.score, got.risks, got.created_at) \
            == (r.id, r.employee_id, r.source, r.text, r.sentiment, r.score, r.risks, r.created_at)
