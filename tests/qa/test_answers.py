"""Each intent answered from the real demo store, for the asker (expected values read from the DB)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from handlers.common.goals import alignment, format_progress, goals_of
from storage.models import CheckIn, Employee, Feedback, PointsEntry, Task
from tests.conftest import DEMO_TODAY, TZ, texts


def tasks_of(chat, owner: str) -> list[Task]:
    with chat.bot.db.session() as s:
        return list(s.execute(select(Task).where(Task.owner_id == owner)).scalars())


def assert_lists_exactly(answer: str, expected: list[Task], others: list[Task]) -> None:
    for t in expected:
        assert t.title in answer, t.title
    for t in others:
        if t.title not in {e.title for e in expected}:
            assert t.title not in answer, t.title
    if expected:
        assert f"还有 {len(expected)} 项任务未完成" in answer


async def test_tasks_left_this_month_lists_exactly_the_open_tasks_due_this_month(chat):
    answer = texts(await chat.say("本月还有哪些任务没完成", as_="E101"))
    mine = tasks_of(chat, "E101")
    expected = [t for t in mine if t.status in ("todo", "doing") and t.due_date
                and date(2026, 11, 1) <= t.due_date < date(2026, 12, 1)]
    assert_lists_exactly(answer, expected, mine + tasks_of(chat, "E102"))


async def test_tasks_left_by_default_includes_overdue(chat):
    answer = texts(await chat.say("还有哪些任务没完成", as_="E201"))
    mine = tasks_of(chat, "E201")
    expected = [t for t in mine if t.status in ("todo", "doing") and t.due_date and t.due_date < date(2026, 12, 1)]
    assert_lists_exactly(answer, expected, mine)
    if any(t.due_date < DEMO_TODAY for t in expected):
        assert "已逾期" in answer


async def test_tasks_left_before_a_deadline(chat):
    answer = texts(await chat.say("下周三前还有哪些任务要完成", as_="E101"))
    mine = tasks_of(chat, "E101")
    expected = [t for t in mine if t.status in ("todo", "doing") and t.due_date and t.due_date <= date(2026, 12, 2)]
    assert "12月2日前" in answer
    assert_lists_exactly(answer, expected, mine)


async def test_tasks_left_in_a_past_month_with_none_open(chat):
    answer = texts(await chat.say("9月还有哪些任务没完成", as_="E101"))
    assert "9月没有未完成的任务" in answer


async def test_last_feedback_is_the_latest_with_its_date(chat):
    with chat.bot.db.session() as s:
        fb = s.execute(select(Feedback).where(Feedback.employee_id == "E101")
                       .order_by(Feedback.created_at.desc())).scalars().first()
    answer = texts(await chat.say("上次反馈提到的改进建议是什么", as_="E101"))
    local = fb.created_at.astimezone(TZ)
    assert f"王磊在 {local.month}月{local.day}日" in answer
    assert fb.text in answer
    assert "改进建议" in answer


async def test_last_feedback_in_a_period_without_any(chat):
    answer = texts(await chat.say("9月的反馈说了什么", as_="E101"))
    assert "9月还没有收到主管的反馈" in answer


async def test_goal_progress_shows_target_current_unit(chat):
    answer = texts(await chat.say("我的KPI完成多少了", as_="E101"))
    [goal] = [g for g in goals_of(chat.bot.db, "E101", DEMO_TODAY)]
    assert format_progress(goal) in answer
    assert f"{goal.current:g}/{goal.target:g} 家" in answer
    assert "时间进度" in answer


async def test_goal_progress_for_a_quarter_without_goals(chat):
    answer = texts(await chat.say("Q3业绩达成率", as_="E101"))
    assert "还没有设置个人目标" in answer


async def test_goal_alignment_chain_and_share(chat):
    answer = texts(await chat.say("我的工作对齐哪个公司目标", as_="E101"))
    al = alignment(chat.bot.db, "G-E101")
    assert al.text() in answer
    assert "营收增长30%" in answer and "销售部：新客户签约200家" in answer
    # share = own weight among siblings × department weight among its siblings
    with chat.bot.db.session() as s:
        from storage.models import Goal

        sib = s.execute(select(func.count()).select_from(Goal).where(Goal.parent_id == "G-D1")).scalar_one()
    assert f"贡献度 {100 * (1 / sib) * (0.7 / (0.7 + 0.3)):.1f}%" in answer


async def test_points_balance_and_rank(chat):
    with chat.bot.db.session() as s:
        dept = s.get(Employee, "E103").department_id
        members = [e.id for e in s.execute(select(Employee).where(Employee.department_id == dept)).scalars()]
        sums = dict(s.execute(select(PointsEntry.employee_id, func.sum(PointsEntry.delta))
                              .group_by(PointsEntry.employee_id)).all())
    bal = {m: int(sums.get(m, 0)) for m in members}
    rank = 1 + sum(v > bal["E103"] for v in bal.values())
    answer = texts(await chat.say("我的积分", as_="E103"))
    assert f"当前积分 {bal['E103']} 分" in answer
    assert f"排第 {rank} 名（共 {len(members)} 人）" in answer


async def test_points_ledger_is_summed(chat):
    with chat.bot.db.session() as s:
        s.add(PointsEntry(employee_id="E101", delta=5, reason="测试", ref="t:1"))
        s.add(PointsEntry(employee_id="E101", delta=-2, reason="兑换", ref="t:2"))
    with chat.bot.db.session() as s:
        total = s.execute(select(func.sum(PointsEntry.delta)).where(PointsEntry.employee_id == "E101")).scalar()
    assert f"当前积分 {total} 分" in texts(await chat.say("积分排行榜", as_="E101"))


async def test_checkin_status_this_week_not_started(chat):
    answer = texts(await chat.say("这周周报交了吗", as_="E101"))
    assert "本周（11月23日–11月29日）的周复盘还没开始" in answer


async def test_checkin_status_this_week_pending(chat):
    with chat.bot.db.session() as s:
        s.add(CheckIn(employee_id="E101", week="2026-W48", status="pending", pushed_at=chat.clock.now()))
    answer = texts(await chat.say("这周周报交了吗", as_="E101"))
    assert "未提交" in answer and "填写周复盘" in answer


async def test_checkin_status_last_week_shows_what_was_written(chat):
    with chat.bot.db.session() as s:
        c = s.execute(select(CheckIn).where(CheckIn.employee_id == "E101", CheckIn.week == "2026-W47")).scalar_one()
    answer = texts(await chat.say("上周写了什么", as_="E101"))
    assert "已提交" in answer and c.achievement in answer and c.obstacle in answer and c.next_action in answer


async def test_checkin_status_over_a_month(chat):
    answer = texts(await chat.say("我本月的周报交了吗", as_="E101"))
    with chat.bot.db.session() as s:
        weeks = set(s.execute(select(CheckIn.week).where(CheckIn.employee_id == "E101")).scalars())
    for d in range(0, 30, 7):
        key = "{}-W{:02d}".format(*(date(2026, 11, 1) + timedelta(days=d)).isocalendar()[:2])
        if key in weeks:
            assert f"{key}" in answer
    assert "2026-W48" in answer and "还未开始" in answer


async def test_not_understood_gets_a_polite_hint(chat):
    answer = texts(await chat.say("食堂今天有什么菜", as_="E101"))
    assert "抱歉" in answer and "帮助" in answer


async def test_tasks_left_for_other_periods(chat):
    mine = tasks_of(chat, "E202")
    periods = {"本周": (date(2026, 11, 23), date(2026, 11, 30)), "上个月": (date(2026, 10, 1), date(2026, 11, 1)),
               "本季度": (date(2026, 10, 1), date(2027, 1, 1))}
    for word, (start, end) in periods.items():
        answer = texts(await chat.say(f"{word}还有哪些任务没完成", as_="E202"))
        # issue 13: a period that has not ended also carries the open tasks overdue from before it
        since = None if start <= date(2026, 11, 24) < end else start
        expected = [t for t in mine if t.status in ("todo", "doing") and t.due_date
                    and (since is None or since <= t.due_date) and t.due_date < end]
        assert answer.startswith(f"你{word}"), answer
        assert_lists_exactly(answer, expected, mine)
        if not expected:
            assert "没有未完成的任务" in answer


def test_points_rank_counts_active_department_members_and_ties_share_a_rank(db):
    """Rank and top 3 within the asker's department (active members, plus the asker even when
    inactive), ties share a rank; without a department the asker is ranked alone."""
    from datetime import UTC, datetime

    from handlers.qa import store as queries
    from storage.models import Department

    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    with db.session() as s:
        s.add_all([Department(id=1, name="华东销售组"), Department(id=2, name="研发部")])
    with db.session() as s:
        for eid, name, dept, active in (("A", "甲", 1, True), ("B", "乙", 1, True), ("C", "丙", 1, True),
                                        ("D", "丁", 1, True), ("X", "戊", 1, False), ("R", "己", 2, True),
                                        ("N", "庚", None, True)):
            s.add(Employee(id=eid, name=name, department_id=dept, active=active))
        for i, (eid, delta) in enumerate((("A", 5), ("B", 7), ("B", -2), ("C", 9), ("X", 50), ("R", 90),
                                          ("N", 3), ("D", -1))):
            s.add(PointsEntry(employee_id=eid, delta=delta, reason="测试", ref=f"r:{i}", created_at=at))
    with db.session() as s:
        emp = {e.id: e for e in s.execute(select(Employee)).scalars()}
    a = queries.points(db, emp["A"], None, None, TZ)
    assert (a.balance, a.rank, a.group, a.group_size) == (5, 2, "华东销售组", 4)
    assert a.top == [("丙", 9), ("甲", 5), ("乙", 5)] and a.earned is None
    assert queries.points(db, emp["B"], None, None, TZ).rank == 2  # tied with A
    d = queries.points(db, emp["D"], None, None, TZ)
    assert (d.balance, d.rank) == (-1, 4)
    x = queries.points(db, emp["X"], None, None, TZ)  # inactive: ranked against the active members
    assert (x.balance, x.rank, x.group_size, x.top[0]) == (50, 1, 5, ("戊", 50))
    n = queries.points(db, emp["N"], date(2026, 11, 16), date(2026, 11, 23), TZ)
    assert (n.balance, n.rank, n.group, n.group_size, n.top, n.earned) == (3, 1, "", 1, [("庚", 3)], 3)
    assert queries.points(db, emp["N"], date(2026, 11, 23), None, TZ).earned == 0
