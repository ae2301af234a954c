"""Visit feedback end to end: card → tags → note → point, nudges, imported visits, the Monday summary."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.events import SystemEvent
from handlers.visit import store as vstore
from handlers.visit import summary
from storage.models import Employee, PointsEntry, Visit, VisitFeedback
from tests.conftest import DEMO_NOW, TZ, texts


async def visit_ended(chat, rep: str, visit_id: str, customer: str, ended: datetime):
    ev = SystemEvent(channel="system", sender=rep, key=f"sys:visit:{visit_id}", name="visit_ended",
                     data={"visit_id": visit_id, "customer": customer, "ended_at": ended.isoformat()})
    await chat.bot.dispatcher.submit(ev, wait=True)
    await chat.bot.drain()
    return chat.seen(rep)


async def test_card_tags_note_point(chat):
    before = vstore.points_balance(chat.bot.db, "E101")
    shown = await chat.say("拜访结束 仁和医院", as_="E101")
    assert shown[0].kind == "card" and "拜访反馈 · 仁和医院" in shown[0].text and "竞品威胁" in shown[0].text
    out = texts(await chat.press("E101", 1, tags=[1, 4]))
    assert "沟通质量好、竞品威胁" in out and "不超过 20 字" in out
    long_note = "客户非常关注交付周期并且要求我们下周提供完整的竞品对比材料"
    out = texts(await chat.say(long_note, as_="E101"))
    assert f"{len(long_note)} 字" in out and "超过了 20 字" in out and "不会自动截断" in out
    out = texts(await chat.say("竞品报价低两成", as_="E101"))
    assert "+1 积分" in out and f"当前积分 {before + 1}" in out
    with chat.bot.db.session() as s:
        fb = s.execute(select(VisitFeedback).where(VisitFeedback.employee_id == "E101",
                                                   VisitFeedback.note == "竞品报价低两成")).scalar_one()
        assert fb.complete and fb.tags == ["沟通质量好", "竞品威胁"]
        assert s.execute(select(PointsEntry).where(PointsEntry.ref == f"visit:{fb.visit_id}")).scalar_one().delta == 1


async def test_too_many_or_no_tags_are_refused(chat):
    await chat.say("拜访结束 华山医院", as_="E102")
    assert "至少 1 个" in texts(await chat.press("E102", 1, tags=[]))
    assert "最多只能选 3 个" in texts(await chat.press("E102", 1, tags=[1, 2, 3, 4]))


async def test_system_event_card_nudge_once_and_not_after_done(chat):
    ended = DEMO_NOW - timedelta(minutes=2)
    assert "拜访反馈 · 协和医疗集团" in texts(await visit_ended(chat, "E103", "X1", "协和医疗集团", ended))
    await visit_ended(chat, "E104", "X2", "安康药业", ended)
    assert await visit_ended(chat, "E103", "X1", "协和医疗集团", ended) == []  # duplicate event
    chat.clock.advance(minutes=10)
    await chat.run_job("visit_scan")
    assert chat.seen("E103") == []  # not yet 15 minutes
    await chat.press("E104", 1, tags=[2])
    await chat.say("院长认可方案", as_="E104")
    chat.clock.advance(minutes=10)
    await chat.run_job("visit_scan")
    assert "趁记忆新鲜" in texts(chat.seen("E103"))
    assert "趁记忆新鲜" not in texts(chat.seen("E104"))
    chat.clock.advance(minutes=10)
    await chat.run_job("visit_scan")
    assert chat.seen("E103") == []  # one nudge only


async def test_imported_visits_get_cards_but_old_history_does_not(chat):
    with chat.bot.db.session() as s:
        s.add(Visit(id="IMP1", employee_id="E105", customer="博爱医院", ended_at=DEMO_NOW - timedelta(hours=2)))
        s.add(Visit(id="IMP2", employee_id="E105", customer="瑞金医院", ended_at=DEMO_NOW - timedelta(days=3)))
    await chat.run_job("visit_scan")
    shown = texts(chat.seen("E105"))
    assert "博爱医院" in shown and "瑞金医院" not in shown
    await chat.run_job("visit_scan")
    assert "博爱医院" not in texts(chat.seen("E105"))


async def test_every_ten_points_tells_what_can_be_redeemed(chat):
    db = chat.bot.db
    have = vstore.points_balance(db, "E111")
    for i in range(9 - have % 10):
        vstore.award(db, "E111", f"test:{i}", "test", chat.clock.now())
    await chat.say("拜访结束 同济医院", as_="E111")
    await chat.press("E111", 1, tags=[1])
    out = texts(await chat.say("客户关注交付周期", as_="E111"))
    assert "可兑换" in out
    rank, total = vstore.points_rank(db, "E111")
    assert rank == 1 and total >= 2
    assert vstore.leaderboard(db, ["E111", "E101"], 5)[0][0] == "E111"


async def test_my_points(chat):
    out = texts(await chat.say("我的积分", as_="E101"))
    assert "积分" in out  # answered here or by the Q&A feature's points intent
    assert "在华东销售组排第" in out  # one answer for the command and the intent: the department rank


async def test_monday_summary_highlights_rising_terms(chat):
    db = chat.bot.db
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    last_week = [("竞品报价低两成", ["需技术支持"]), ("竞品降价明显", ["需技术支持", "价格异议"]), ("竞品在做集采", [])]
    week_before = [("院长认可方案", ["沟通质量好"]), ("竞品报价低", ["竞品威胁"])]
    with db.session() as s:
        for i, (note, tags) in enumerate(last_week + week_before):
            ended = monday - timedelta(days=3 if i < len(last_week) else 10)
            s.add(Visit(id=f"S{i}", employee_id="E101", customer="仁和医院", ended_at=ended, card_sent_at=ended))
            s.add(VisitFeedback(visit_id=f"S{i}", employee_id="E101", tags=tags, note=note, complete=True,
                                completed_at=ended))
    chat.clock.set(monday)
    detail = await chat.run_job("visit_summary")
    assert "sent" in detail
    assert summary._tokenizer is None  # its ~60 MB dictionary is not kept by the process all week
    out = texts(chat.seen("E100"))
    assert "拜访反馈周报" in out and "🔥需技术支持 2（前一周 0）" in out and "🔥竞品" in out
    assert "积分榜" in out and "上升明显（≥40%）" in out
    # The terminal renders the Markdown as readable text: no raw marks.
    assert "**" not in out and "###" not in out and "\n标签：" in out
    await chat.run_job("visit_summary")
    assert chat.seen("E100") == []


async def test_monday_summary_groups_the_reps_by_manager_once(chat, monkeypatch):
    """Each manager's team is taken from one grouping of the reps, not from a walk over every rep per
    manager (2,000 managers x 20,000 reps took 20 of the job's 34 s in a 20,000-person organisation)."""
    walks = []

    class CountingList(list):
        def __iter__(self):  # noqa: ANN204 - list's own signature
            walks.append(1)
            return super().__iter__()

    real = vstore.reps_and_managers

    def counted(db):  # noqa: ANN001, ANN202 - the store function's signature
        staff, bosses = real(db)
        return CountingList(staff), bosses

    monkeypatch.setattr(vstore, "reps_and_managers", counted)
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    with chat.bot.db.session() as s:
        reps = list(s.execute(select(Employee).where(Employee.manager_id.is_not(None))).scalars())
        for i, rep in enumerate(reps):
            ended = monday - timedelta(days=3)
            s.add(Visit(id=f"M{i}", employee_id=rep.id, customer="仁和医院", ended_at=ended, card_sent_at=ended))
            s.add(VisitFeedback(visit_id=f"M{i}", employee_id=rep.id, tags=["需技术支持"], note="竞品报价低",
                                complete=True, completed_at=ended))
    managers = {r.manager_id for r in reps}
    chat.clock.set(monday)
    detail = await chat.run_job("visit_summary")
    assert len(managers) >= 3 and f"sent {len(managers)} team summaries" in detail
    assert len(walks) == 1
    team = sum(r.manager_id == "E100" for r in reps)  # each manager's summary covers exactly their reps
    assert f"上周完成反馈 {team} 条" in texts(chat.seen("E100"))
