"""The row-by-row jobs at scale: a Monday with hundreds of check-in reminders, overdue target
adjustments or visits to chase costs a few transactions (chunks), not several per person, and still
sends each step once; a chunk that fails is redone row by row so one bad row never holds the others
back."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from bot.app import PerfBot
from handlers.adjust import store as adj
from handlers.visit import store as vstore
from scheduler.registry import JobCtx
from scheduler.runs import run_job
from storage import jobruns
from storage.models import AdjustmentRequest, CheckIn, Employee, Goal, OutboxMessage
from tests.conftest import TZ, org_bot

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
PEOPLE = 300
CHUNK = 100


def _bot(tmp_path: Path, url: str) -> AbstractAsyncContextManager[PerfBot]:
    return org_bot(tmp_path, url, PEOPLE, FRIDAY, fanout_chunk=CHUNK)


def _keys(bot: PerfBot, like: str) -> list[str]:
    with bot.db.session() as s:
        return list(s.execute(select(OutboxMessage.key).where(OutboxMessage.key.like(like))).scalars())


async def test_hundreds_of_reminders_take_a_few_transactions_and_go_out_once(tmp_path: Path, db_url: str) -> None:
    async with _bot(tmp_path, db_url) as bot:
        await run_job(bot.services, "checkin_push", FRIDAY)
        with bot.db.session() as s:
            pushed = s.execute(select(func.count()).select_from(CheckIn).where(CheckIn.pushed_at.is_not(None))).scalar()
        assert pushed and pushed > PEOPLE

        monday = FRIDAY + timedelta(days=3, minutes=5)  # 24 work hours later: every employee's reminder is due
        before = bot.db.commits
        detail = await run_job(bot.services, "escalation_scan", monday)
        commits = bot.db.commits - before
        assert f"reminders={pushed}" in detail
        # One transaction per chunk of 100 plus the run's own bookkeeping; four per person before.
        assert commits <= pushed // CHUNK + 8, commits
        reminders = _keys(bot, "esc:checkin:%:reminder")
        assert len(reminders) == len(set(reminders)) == pushed
        with bot.db.session() as s:
            assert s.execute(select(func.count()).select_from(CheckIn)
                             .where(CheckIn.reminded_at.is_(None), CheckIn.pushed_at.is_not(None))).scalar() == 0

        await run_job(bot.services, "escalation_scan", monday + timedelta(minutes=10))
        assert len(_keys(bot, "esc:checkin:%:reminder")) == pushed  # nothing twice

        tuesday = monday + timedelta(days=1)  # 48 work hours: the HRBPs hear about everyone, once each
        before = bot.db.commits
        detail = await run_job(bot.services, "escalation_scan", tuesday)
        assert f"hrbp={pushed}" in detail
        assert bot.db.commits - before <= 12
        notices = _keys(bot, "esc:checkin:hrbp:%")
        assert notices and len(notices) == len(set(notices))
        with bot.db.session() as s:  # one HRBP for everyone: 50 named, the rest counted by team
            text = "\n".join(m.payload["text"] for m in s.execute(select(OutboxMessage).where(
                OutboxMessage.key.like("esc:checkin:hrbp:%")).order_by(OutboxMessage.key)).scalars())
        assert text.count("\n· ") == 50 and f"……另有 {pushed - 50} 人（团队" in text
        assert "可按团队查看全部名单" in text and len(text.encode()) < 4096  # two messages at most
        with bot.db.session() as s:
            assert s.execute(select(func.count()).select_from(CheckIn)
                             .where(CheckIn.hrbp_alerted_at.is_(None), CheckIn.pushed_at.is_not(None))).scalar() == 0
        await run_job(bot.services, "escalation_scan", tuesday + timedelta(minutes=10))
        assert sorted(_keys(bot, "esc:checkin:hrbp:%")) == sorted(notices)


async def test_a_failing_row_is_skipped_and_noted_and_its_chunk_still_goes_out(tmp_path: Path, sqlite_url: str) -> None:
    async with _bot(tmp_path, sqlite_url) as bot:
        jctx = JobCtx(bot.services, FRIDAY, "chunk_test@1")
        people = [f"E{i:05d}" for i in range(25)]

        async def queue(chunk: list[str]) -> int:
            for who in chunk:
                await bot.services.messenger.send_raw("terminal", who, "text", {"text": "你好"}, f"chunk:{who}")
                if who == "E00013":
                    raise ValueError("bad row")
            return len(chunk)

        sent = await jctx.in_chunks(people, queue, size=10, key=lambda who: f"person:{who}")
        assert sent == 24
        # The failing row's message was rolled back with it; its chunk's other nine went out one by one.
        assert sorted(_keys(bot, "chunk:%")) == sorted(f"chunk:{p}" for p in people if p != "E00013")
        [noted] = jobruns.row_failures(bot.db, "chunk_test")
        assert noted.row_key == "person:E00013" and "bad row" in (noted.error or "")


async def test_hundreds_of_overdue_adjustments_escalate_in_a_few_transactions(tmp_path: Path, db_url: str) -> None:
    async with _bot(tmp_path, db_url) as bot:
        with bot.db.session() as s:
            owned = s.execute(select(Goal, Employee).join(Employee, Employee.id == Goal.owner_id).where(
                Goal.target.is_not(None), Employee.manager_id.is_not(None)).order_by(Goal.id).limit(150)).all()
        for goal, emp in owned:
            assert adj.create(bot.db, goal=goal, requester_id=emp.id, new_target=(goal.target or 0) * 0.95,
                              reason="客户预算冻结", approver_id=emp.manager_id or "", now=FRIDAY)
        before = bot.db.commits
        detail = await run_job(bot.services, "adjust_escalation", FRIDAY + timedelta(days=3, minutes=5))
        done = sum(int(n) for n in detail.replace(",", "").split() if n.isdigit())
        assert done == len(owned), detail
        assert bot.db.commits - before <= len(owned) // CHUNK + 8
        with bot.db.session() as s:
            assert s.execute(select(func.count()).select_from(AdjustmentRequest)
                             .where(AdjustmentRequest.escalated.is_(False))).scalar() == 0
        told = _keys(bot, "adj:%:requester") + _keys(bot, "adj:%:remind")
        assert len(told) == len(owned)
        again = await run_job(bot.services, "adjust_escalation", FRIDAY + timedelta(days=3, minutes=15))
        assert again == "escalated 0, reminded 0"


async def test_hundreds_of_visits_get_their_cards_and_nudges_in_a_few_transactions(tmp_path: Path, db_url: str) -> None:
    async with _bot(tmp_path, db_url) as bot:
        reps = [f"U{i:06d}" for i in range(250)]
        for i, rep in enumerate(reps):
            vstore.upsert_visit(bot.db, f"CRM-{i}", rep, f"客户{i}", FRIDAY - timedelta(minutes=5))
        before = bot.db.commits
        assert await run_job(bot.services, "visit_scan", FRIDAY) == f"cards={len(reps)}, nudges=0"
        assert bot.db.commits - before <= len(reps) // CHUNK + 8  # two or three per visit before
        assert len(_keys(bot, "visit:card:%")) == len(reps)
        before = bot.db.commits
        assert await run_job(bot.services, "visit_scan", FRIDAY + timedelta(minutes=20)) == f"cards=0, nudges={len(reps)}"
        assert bot.db.commits - before <= len(reps) // CHUNK + 8
        assert await run_job(bot.services, "visit_scan", FRIDAY + timedelta(minutes=25)) == "cards=0, nudges=0"
        assert len(_keys(bot, "visit:nudge:%")) == len(reps)


async def test_a_manager_with_many_waiting_reports_gets_one_nudge_naming_them(tmp_path: Path, db_url: str) -> None:
    async with _bot(tmp_path, db_url) as bot:
        await run_job(bot.services, "checkin_push", FRIDAY)
        with bot.db.session() as s:  # every employee (not the managers) submitted at 17:00, managers told
            s.execute(update(CheckIn).where(CheckIn.employee_id.like("U%")).values(
                status="submitted", submitted_at=FRIDAY + timedelta(hours=1), manager_notified_at=FRIDAY + timedelta(hours=1)))
        before = bot.db.commits
        detail = await run_job(bot.services, "escalation_scan", FRIDAY + timedelta(days=4, hours=1, minutes=5))
        assert f"manager={PEOPLE}" in detail  # 48 work hours later: every report's feedback is due
        assert bot.db.commits - before <= PEOPLE // CHUNK + 8
        with bot.db.session() as s:
            nudges = {m.recipient: m.payload["text"] for m in s.execute(select(OutboxMessage).where(
                OutboxMessage.key.like("esc:feedback:%"))).scalars()}
        assert len(nudges) == PEOPLE // 10  # one per manager, not one per report
        text = nudges["M00003"]
        assert text.startswith("以下 10 位同事 2026-W48 的周复盘还在等你的反馈") and text.count("\n· ") == 10
        assert "员工30（" in text and "员工39（" in text
        again = await run_job(bot.services, "escalation_scan", FRIDAY + timedelta(days=4, hours=1, minutes=15))
        assert "manager=0" in again


async def test_held_back_submissions_reach_every_manager_as_one_digest_in_a_few_transactions(
        tmp_path: Path, db_url: str) -> None:
    async with _bot(tmp_path, db_url) as bot:
        await run_job(bot.services, "checkin_push", FRIDAY)
        with bot.db.session() as s:  # every employee submitted within the managers' digest window
            s.execute(update(CheckIn).where(CheckIn.employee_id.like("U%")).values(
                status="submitted", submitted_at=FRIDAY + timedelta(minutes=10), achievement="签单",
                obstacle="无", next_action="跟进"))
        before = bot.db.commits
        detail = await run_job(bot.services, "escalation_scan", FRIDAY + timedelta(minutes=50))
        assert f"digests={PEOPLE // 10}" in detail
        assert bot.db.commits - before <= PEOPLE // 10 // CHUNK + 8  # about 13 per manager before
        digests = _keys(bot, "checkin:digest:%")
        assert len(digests) == PEOPLE // 10 and len({k.split(":")[2] for k in digests}) == PEOPLE // 10
        with bot.db.session() as s:
            assert s.execute(select(func.count()).select_from(CheckIn).where(
                CheckIn.status == "submitted", CheckIn.manager_notified_at.is_(None))).scalar() == 0
        again = await run_job(bot.services, "escalation_scan", FRIDAY + timedelta(hours=1))
        assert "digests=0" in again


async def test_every_manager_gets_the_visit_summary_in_a_few_transactions(tmp_path: Path, db_url: str) -> None:
    async with _bot(tmp_path, db_url) as bot:
        reps = [f"U{i:06d}" for i in range(250)]  # 25 teams
        for i, rep in enumerate(reps):
            vstore.upsert_visit(bot.db, f"CRM-{i}", rep, f"客户{i}", FRIDAY - timedelta(days=2))
        monday = FRIDAY + timedelta(days=3, hours=-7)  # Monday 9:00
        before = bot.db.commits
        assert await run_job(bot.services, "visit_summary", monday) == "sent 25 team summaries for 2026-W48"
        # three reading sessions per team summary; the 25 sends are one insert (25 commits before)
        assert bot.db.commits - before <= 3 * 25 + 8
        keys = _keys(bot, "visit:summary:%")
        assert sorted(keys) == sorted(f"visit:summary:M{t:05d}:2026-W48" for t in range(25))
        assert await run_job(bot.services, "visit_summary", monday) == "sent 0 team summaries for 2026-W48"
