"""The Monday scan at the size of a large company: the attainment rule groups goals by department
once, instead of reading every goal for every department (79 s of a jobs thread for 20,000 people,
growing with the square of the organisation, and competing with the serving process for the CPU)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.config import PolicySettings
from handlers.alerts import rules
from handlers.alerts.store import Snapshot
from storage.models import Department, Employee, Goal

TODAY = date(2026, 12, 7)


class CountingList(list):
    """A list that counts how often it is walked from the start."""

    def __init__(self, items: list[Goal]) -> None:
        super().__init__(items)
        self.walks = 0

    def __iter__(self):  # noqa: ANN204 - list's own signature
        self.walks += 1
        return super().__iter__()


def org(departments: int) -> Snapshot:
    people = {"H1": Employee(id="H1", name="人事甲", role="hr"), "H2": Employee(id="H2", name="离职人事", role="hr",
                                                                                active=False)}
    depts, goals = {}, []
    for d in range(1, departments + 1):
        head = f"M{d}"
        people[head] = Employee(id=head, name=f"主管{d}", department_id=d)
        depts[d] = Department(id=d, name=f"部门{d}", head_id=head)
        # department d is at d% of its target halfway through the period: behind for most departments
        goals.append(Goal(id=f"G{d}", title=f"目标{d}", level="department", department_id=d, owner_id=head,
                          target=100.0, current=float(d), period_start=TODAY - timedelta(days=30),
                          period_end=TODAY + timedelta(days=29)))
        goals.append(Goal(id=f"I{d}", title=f"个人目标{d}", level="individual", department_id=d, owner_id=head,
                          target=100.0, current=100.0, period_start=TODAY - timedelta(days=30),
                          period_end=TODAY + timedelta(days=29)))
    return Snapshot(people=people, departments=depts, goals=CountingList(goals))


def test_the_attainment_rule_reads_the_goals_once_however_many_departments() -> None:
    snap = org(150)
    found = rules.attainment(snap, TODAY, PolicySettings())
    assert isinstance(snap.goals, CountingList) and snap.goals.walks == 1
    # the department's own goal counts (not its people's on-target individual goal); 31 of 60 days have
    # passed, so below 80% of that (41.3%) is yellow, below 60% (31%) red
    by_subject = {f.subject: f for f in found}
    assert set(by_subject) == {f"dept:{d}" for d in range(1, 42)}
    assert by_subject["dept:30"].evidence["color"] == "red" and by_subject["dept:31"].evidence["color"] == "yellow"
    # to the head and the active HR person, never the inactive one
    assert by_subject["dept:7"].recipients == ["M7", "H1"]
    assert by_subject["dept:7"].evidence["goals"][0]["id"] == "G7"
