"""Who may ask about whom: yourself always, a manager about direct reports, nobody about others."""

from __future__ import annotations

from sqlalchemy import select

from handlers.common.goals import format_progress, goals_of
from storage import identity
from storage.models import Employee, Task
from tests.conftest import DEMO_TODAY, texts


async def test_manager_asks_about_a_direct_report(chat):
    answer = texts(await chat.say("张伟本月还有哪些任务", as_="E100"))
    with chat.bot.db.session() as s:
        tasks = list(s.execute(select(Task).where(Task.owner_id == "E101")).scalars())
        mine = list(s.execute(select(Task).where(Task.owner_id == "E100")).scalars())
    expected = [t for t in tasks if t.status in ("todo", "doing") and t.due_date and t.due_date.month == 11]
    assert answer.startswith("张伟本月")
    for t in expected:
        assert t.title in answer
    for t in mine:
        assert t.title not in answer


async def test_manager_asks_about_a_report_goal(chat):
    answer = texts(await chat.say("李娜的KPI进度", as_="E100"))
    [goal] = goals_of(chat.bot.db, "E102", DEMO_TODAY)
    assert "李娜的目标完成情况" in answer and format_progress(goal) in answer


async def test_manager_of_another_team_is_refused(chat):
    answer = texts(await chat.say("张伟本月还有哪些任务", as_="E110"))
    assert "张伟不在你的团队里" in answer and "回款" not in answer


async def test_director_may_ask_about_their_subtree(chat):
    # issue 13: directors see their whole subtree (a skip-level report), still nobody outside it
    assert "张伟的目标完成情况" in texts(await chat.say("张伟的KPI进度", as_="E090"))
    assert "冯磊不在你的团队里" in texts(await chat.say("冯磊的KPI进度", as_="E090"))


async def test_employee_asking_about_a_colleague_is_refused(chat):
    for q in ("张伟本月还有哪些任务", "李娜的积分是多少", "刘洋上周写了什么"):
        answer = texts(await chat.say(q, as_="E104"))
        assert "只能告诉你自己的情况" in answer, q


async def test_mentioning_own_manager_or_self_is_fine(chat):
    assert "王磊在" in texts(await chat.say("王磊给我的反馈说了什么", as_="E101"))
    assert "你本月" in texts(await chat.say("张伟本月还有哪些任务", as_="E101"))


async def test_hr_is_not_a_back_door(chat):
    assert "张伟不在你的团队里" in texts(await chat.say("张伟的KPI进度", as_="E002"))


async def test_a_report_added_by_an_import_is_found_by_name_at_once(chat):
    """Colleagues' names are cached (most questions name nobody); an import drops that cache, so a
    manager can ask about a new report in the very next message."""
    first = texts(await chat.say("钟离秋本月还有哪些任务", as_="E100"))
    assert not first.startswith("钟离秋本月")  # nobody of that name yet: the manager's own tasks
    with chat.bot.db.session() as s:
        s.add(Employee(id="E199", name="钟离秋", manager_id="E100"))
    identity.invalidate()  # what the importer and directory sync call
    answer = texts(await chat.say("钟离秋本月还有哪些任务", as_="E100"))
    assert answer.startswith("钟离秋本月")
