"""Demo history writer (used by ``python -m bot demo``): past check-ins, feedback, points and visit
notes that the import format has no columns for."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import select

from storage.db import Database
from storage.models import CheckIn, Feedback, PointsEntry, Visit, VisitFeedback


def history(db: Database, today: date, tz: tzinfo, employees: list[tuple[str, str | None]],
            visitors: list[str], checkins: dict[str, list[tuple[str, str, str]]], customers: list[str]) -> None:
    """Past check-ins with manager feedback for ``employees`` ((id, manager id)), drawn from that
    employee's ``checkins`` phrases (sales reps report sales, R&D reports R&D), points for
    ``visitors`` and visit notes for ended visits (idempotent: rerunning adds nothing)."""
    rnd = random.Random(7)
    with db.session() as s:
        for eid, mgr in employees:
            for weeks_ago in (3, 2, 1):
                day = today - timedelta(weeks=weeks_ago)
                year, week, _ = day.isocalendar()
                key = f"{year}-W{week:02d}"
                if s.execute(select(CheckIn).where(CheckIn.employee_id == eid, CheckIn.week == key)).scalar():
                    continue
                a, o, n = rnd.choice(checkins[eid])
                c = rnd.choice(customers)
                friday = day - timedelta(days=day.weekday()) + timedelta(days=4)
                at = datetime.combine(friday, time(17, 10), tz).astimezone(UTC)
                ci = CheckIn(employee_id=eid, week=key, status="submitted", achievement=a.format(c=c),
                             obstacle=o, next_action=n.format(c=c), pushed_at=at - timedelta(hours=1),
                             submitted_at=at, manager_seen_at=at + timedelta(hours=20),
                             feedback_at=at + timedelta(hours=22))
                s.add(ci)
                s.flush()
                s.add(Feedback(employee_id=eid, author_id=mgr, checkin_id=ci.id, created_at=at + timedelta(hours=22),
                               text=rnd.choice([
                                   "方案汇报准备充分（行为），客户当场认可（影响）。建议下次提前一天同步报价底线。",
                                   "本周推进很扎实。改进建议：风险要更早暴露，周三前同步一次进展。",
                                   "客户沟通节奏把握得好。建议补充竞品对比材料，提升说服力。",
                               ])))
        for i, eid in enumerate(visitors):
            for k in range(i % 4 + 1):
                ref = f"demo:visit:{eid}:{k}"
                if not s.execute(select(PointsEntry).where(PointsEntry.ref == ref)).scalar():
                    s.add(PointsEntry(employee_id=eid, delta=1, reason="拜访反馈", ref=ref))
        done = set(s.execute(select(VisitFeedback.visit_id)).scalars())
        for visit in s.execute(select(Visit)).scalars():
            if visit.id in done or visit.ended_at.date() >= today - timedelta(days=4):
                continue
            s.add(VisitFeedback(visit_id=visit.id, employee_id=visit.employee_id, complete=True,
                                tags=rnd.sample(["沟通质量好", "需求洞察深", "价格异议", "竞品威胁"], 2),
                                note=rnd.choice(["客户关注交付周期", "竞品报价低两成", "院长认可方案", "需补充案例"]),
                                created_at=visit.ended_at + timedelta(minutes=20),
                                completed_at=visit.ended_at + timedelta(minutes=20)))
            visit.card_sent_at = visit.ended_at
            s.add(visit)
