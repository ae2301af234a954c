"""Applying a directory snapshot on both databases: dry run writes nothing, a real run maps ids and
deactivates the leaver (the platform side is covered through both emulators in tests/wecom and
tests/dingtalk)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import event, select

from bot.demo import DEPARTMENTS, PEOPLE, seed_demo
from bot.directory import PDept, PUser, Snapshot
from handlers.directory import store
from handlers.directory.store import apply
from storage import identity
from storage.models import AdjustmentRequest, Department, Employee, Task
from tests.conftest import DEMO_TODAY, make_settings


def snapshot(*without: str) -> Snapshot:
    ids = {name: str(i) for i, (name, _p, _h) in enumerate(DEPARTMENTS, start=1)}
    snap = Snapshot("wecom", depts=[PDept(ids[n], n, ids.get(p), [f"wx_{h.lower()}"]) for n, p, h in DEPARTMENTS])
    for eid, name, dept, *_ in PEOPLE:
        if eid not in without:
            snap.users[f"wx_{eid.lower()}"] = PUser(f"wx_{eid.lower()}", name, [ids[dept]])
    return snap


def test_dry_run_writes_nothing_and_a_real_run_deactivates_the_leaver(db, db_url):
    seed_demo(db, make_settings(db_url), today=DEMO_TODAY)
    with db.session() as s:
        open_tasks = [t.id for t in s.execute(select(Task).where(Task.owner_id == "E113",
                                                                 Task.status.in_(("todo", "doing")))).scalars()]
    before = identity.directory_version(db)
    changes = apply(db, snapshot("E113"), dry_run=True)
    assert [c[:2] for c in changes.left] == [("E113", "罗斌")]
    assert identity.directory_version(db) == before  # a dry run tells no process to drop its cache
    with db.session() as s:
        assert s.get(Employee, "E113").active
        assert s.execute(select(Department.wecom_dept_id).where(Department.wecom_dept_id.is_not(None))).first() is None
    changes = apply(db, snapshot("E113"))
    assert changes.left == [("E113", "罗斌", "黄丽", len(open_tasks))]
    assert identity.directory_version(db) > before  # every process drops its cached identities (the leaver)
    with db.session() as s:
        assert not s.get(Employee, "E113").active
        assert {s.get(Task, t).owner_id for t in open_tasks} <= {"E110"}
        assert s.execute(select(Department.wecom_dept_id).where(Department.name == "华南销售组")).scalar_one() == "5"
    assert not apply(db, snapshot("E113")).any()  # nothing new: no changes


def test_too_many_leavers_at_once_deactivates_nobody(db, db_url):
    seed_demo(db, make_settings(db_url), today=DEMO_TODAY)
    apply(db, snapshot())
    research = ("E201", "E202", "E203", "E204", "E205", "E206")  # 6 of 26: the scope lost R&D by mistake
    changes = apply(db, snapshot(*research), max_leavers_percent=20.0)
    assert changes.left == [] and sorted(i for i, _n in changes.held) == list(research)
    with db.session() as s:
        assert all(s.get(Employee, e).active for e in research)
    changes = apply(db, snapshot(*research), max_leavers_percent=30.0)  # the operator confirms
    assert sorted(c[0] for c in changes.left) == list(research) and changes.held == []


def test_a_department_gone_from_the_platform_is_kept_and_reported_once(db, db_url):
    seed_demo(db, make_settings(db_url), today=DEMO_TODAY)
    apply(db, snapshot())
    snap = snapshot()
    market = next(d for d in snap.depts if d.name == "市场部")
    snap.depts.remove(market)
    for u in snap.users.values():
        if u.depts == [market.pid]:
            u.depts = ["1"]  # its people now sit in the company root
    changes = apply(db, snap)
    assert changes.gone_departments == ["市场部"]
    with db.session() as s:
        d = s.execute(select(Department).where(Department.name == "市场部")).scalar_one()
        assert d.wecom_dept_id is None
        assert s.get(Employee, "E301").department_id != d.id
    assert apply(db, snap).gone_departments == []


def test_a_first_sync_of_a_large_directory_compares_nothing_per_person(db, monkeypatch):
    """A first sync (everyone joins) of 2,200 departments and 22,000 people took 17.5 s, growing with the
    square: each department was looked up in the list of those waiting for their parent, and each
    person in the list of those who joined. Counted here: no department equality tests, no lookups in
    the joined list."""
    compared = []
    looked_up = []

    def eq(self, other):  # noqa: ANN001, ANN202 - the dataclass method's signature
        compared.append(1)
        return (self.pid, self.name, self.parent, self.leaders) == (other.pid, other.name, other.parent, other.leaders)

    class Joined(list):
        def __contains__(self, item) -> bool:  # noqa: ANN001 - list's own signature
            looked_up.append(1)
            return super().__contains__(item)

    @dataclass
    class Counted(store.Changes):
        joined: list[tuple[str, str]] = field(default_factory=Joined)

    monkeypatch.setattr(PDept, "__eq__", eq)
    monkeypatch.setattr(store, "Changes", Counted)
    snap = Snapshot("wecom", depts=[PDept("root", "公司", None, ["boss"])])
    snap.users["boss"] = PUser("boss", "老板", ["root"])
    for d in range(30):
        snap.depts.append(PDept(f"d{d}", f"事业部{d}", "root", [f"lead{d}"]))
        snap.users[f"lead{d}"] = PUser(f"lead{d}", f"总监{d}", [f"d{d}"])
        for t in range(3):
            team = f"t{d}-{t}"
            snap.depts.append(PDept(team, f"团队{d}-{t}", f"d{d}", []))
            for i in range(4):
                snap.users[f"{team}-{i}"] = PUser(f"{team}-{i}", f"员工{d}-{t}-{i}", [team])
    snap.depts.reverse()  # children listed before their parents: ordering takes one pass per level
    changes = apply(db, snap)
    assert len(changes.joined) == len(snap.users) and len(changes.new_departments) == len(snap.depts)
    assert compared == [] and looked_up == []
    with db.session() as s:
        staff = s.execute(select(Employee).where(Employee.wecom_userid == "t7-2-3")).scalar_one()
        lead = s.execute(select(Employee).where(Employee.wecom_userid == "lead7")).scalar_one()
        team = s.get(Department, staff.department_id)
        assert staff.manager_id == lead.id and team.name == "团队7-2"
        assert s.get(Department, team.parent_id).name == "事业部7"


def test_a_leavers_pending_approvals_are_found_by_index(db, db_url):
    """Each leaver's pending approvals are looked up by approver: without an index on approver_id every
    leaver walked all pending requests (leavers x pending requests, growing with the square of the
    organisation). On SQLite the plan of every such lookup must search by approver, never scan."""
    seed_demo(db, make_settings(db_url), today=DEMO_TODAY)
    with db.session() as s:
        s.add(AdjustmentRequest(goal_id="G-E113", requester_id="E114", old_target=10, new_target=9, percent=-10.0,
                                reason="客户预算冻结", approver_id="E113", created_at=datetime(2026, 11, 2, tzinfo=UTC)))
    reads: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, *args) -> None:  # noqa: ANN001 - SQLAlchemy's hook signature
        if "FROM adjustment_requests" in statement:
            reads.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        changes = apply(db, snapshot("E113"))
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert [c[0] for c in changes.left] == ["E113"] and changes.left[0][3] >= 1  # the approval moved too
    with db.session() as s:
        req = s.execute(select(AdjustmentRequest).where(AdjustmentRequest.requester_id == "E114")).scalar_one()
        assert req.approver_id != "E113"
    assert reads
    if db.is_sqlite:
        with db.engine.connect() as conn:
            for statement, parameters in reads:
                plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
                assert not any(step.startswith("SCAN adjustment_requests") for step in plan), (statement, plan)
