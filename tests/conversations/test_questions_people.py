"""Issue 13 in the terminal: questions people actually ask (items 3, 5, 6, 7, 8, 9).

Each test is a transcript: what a person types, what the bot must (and must not) answer."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from storage.models import RiskFlag, Task
from tests.conftest import texts

NOT_UNDERSTOOD = "没太明白"


def add_task(chat, task_id: str, owner: str, title: str, due: date, status: str = "todo") -> None:
    with chat.bot.db.session() as s:
        s.add(Task(id=task_id, owner_id=owner, title=title, due_date=due, status=status))


# -- item 3: phrasings that used to get 「抱歉，我没太明白」 ------------------------------------------------
@pytest.mark.parametrize(("said", "expected"), [
    ("下周三之前有啥要交的", "12月2日前（含已逾期）还有 2 项任务未完成"),
    ("明天之前要做完的", "11月25日前（含已逾期）没有未完成的任务"),
    ("我有几分", "当前积分"),
    ("我有没有过期没做的", "没有逾期任务"),
    ("11月的任务还有哪些没做", "11月（含已逾期）还有 2 项任务未完成"),
    ("我的调整申请批了吗", "还没有提交过目标调整申请"),
    ("目标调整进度", "还没有提交过目标调整申请"),
    ("谢谢", "不客气"),
    ("好的", "好的👌"),
    ("👍", "好的👌"),
    ("收到", "好的👌"),
])
async def test_phrasings_people_use_are_understood(chat, said: str, expected: str) -> None:
    out = texts(await chat.say(said, as_="E101"))
    assert expected in out
    assert NOT_UNDERSTOOD not in out


@pytest.mark.parametrize(("said", "customer"), [("刚拜访完瑞金医院", "瑞金医院"), ("拜访完了 同济", "同济")])
async def test_visit_phrasings_open_the_visit_card(chat, said: str, customer: str) -> None:
    [card] = [s for s in await chat.say(said, as_="E101") if s.kind == "card"]
    assert f"拜访反馈 · {customer}" in card.text


async def test_adjustment_status_lists_my_requests(chat) -> None:
    await chat.say("申请把新客户签约数目标从18调到17，原因：华山医院招标推迟", as_="E101")
    out = texts(await chat.say("我的调整申请批了吗", as_="E101"))
    assert "新客户签约数：18 → 17 家" in out and "审批中" in out and "等待王磊审批" in out
    assert "想调整到多少" not in out  # not a second request
    await chat.press("E100", 1)  # the manager approves first (above 5%) …
    assert "等待陈刚审批" in texts(await chat.say("我的调整申请批了吗", as_="E101"))
    await chat.press("E090", 1)  # … then the director
    assert "已批准" in texts(await chat.say("目标调整进度", as_="E101"))


# -- item 5: the right person, never silently someone else ------------------------------------------
async def test_naming_your_manager_is_refused_not_answered_about_you(chat) -> None:
    out = texts(await chat.say("王磊本月还有哪些任务", as_="E101"))
    assert "只能告诉你自己的情况" in out
    assert "回款催收" not in out  # E101's own task
    # naming the manager as the author of *my* feedback is a question about me
    assert "王磊在 11月21日 给你的反馈" in texts(await chat.say("王磊给我的反馈", as_="E101"))


async def test_partial_or_foreign_names_ask_who_or_refuse(chat) -> None:
    out = texts(await chat.say("小张还有啥没干完的", as_="E100"))
    assert "你指的是张伟吗" in out and "张伟还有啥没干完的" in out
    assert "准备博爱医院投标材料" not in out  # the manager's own task
    out = texts(await chat.say("马超本月还有哪些任务", as_="E100"))
    assert "马超不在你的团队里" in out
    # a director may ask about anyone in their subtree
    assert "张伟本月（含已逾期）还有 2 项任务未完成" in texts(await chat.say("张伟本月还有哪些任务", as_="E090"))


# -- item 6: team views ---------------------------------------------------------------------------------
async def test_manager_team_views(chat_any_db) -> None:
    chat = chat_any_db
    out = texts(await chat.say("我们组谁还没交周报", as_="E100"))
    assert "上周（11月16日–11月22日）周复盘：已提交 5/5 人" in out
    out = texts(await chat.say("团队的任务完成情况", as_="E100"))
    assert "团队本月（含已逾期）未完成任务 7 项" in out and "张伟：2 项未完成" in out and "马超" not in out
    out = texts(await chat.say("团队KPI", as_="E100"))
    assert "张伟：新客户签约数 12/18家（67%）" in out and "李娜：新客户签约数 7/18家（39%）" in out
    add_task(chat, "T-LATE", "E102", "提交华山医院报价单", date(2026, 11, 20))
    out = texts(await chat.say("谁的任务逾期了", as_="E100"))
    assert "李娜 1 项，最早的已逾期 4 天：提交华山医院报价单" in out and "张伟" not in out
    # an employee has no team view
    assert "团队视图只对有下属的主管和 HRBP 开放" in texts(await chat.say("我们组谁还没交周报", as_="E101"))


async def test_director_sees_subtree_by_team_and_hrbp_sees_status_only(chat) -> None:
    out = texts(await chat.say("团队KPI", as_="E090"))
    assert out.index("【华东销售组】") < out.index("张伟：") < out.index("【华南销售组】") < out.index("马超：")
    add_task(chat, "T-LATE", "E111", "催收瑞金医院尾款", date(2026, 11, 20))
    out = texts(await chat.say("谁的任务逾期了", as_="E003"))
    assert "【华南销售组】" in out and "马超 3 项" in out
    assert "催收瑞金医院尾款" not in out  # HRBP: counts, not task titles
    out = texts(await chat.say("我们组谁还没交周报", as_="E003"))
    assert "周复盘：已提交" in out and "成果" not in out


# -- item 7: overdue means overdue -------------------------------------------------------------------------
async def test_overdue_is_past_due_and_open_this_month_carries_it(chat) -> None:
    assert "你没有逾期任务" in texts(await chat.say("有哪些逾期的任务", as_="E101"))
    add_task(chat, "T-OCT", "E101", "补交10月拜访报告", date(2026, 10, 30))
    add_task(chat, "T-DONE", "E101", "已完成的旧任务", date(2026, 10, 1), status="done")
    out = texts(await chat.say("有哪些逾期的任务", as_="E101"))
    assert "你有 1 项逾期任务" in out and "补交10月拜访报告" in out and "已逾期 25 天" in out
    assert "回款催收" not in out  # due 11-26: not overdue yet
    for said in ("本月还有哪些任务没完成", "还有哪些任务没完成"):
        out = texts(await chat.say(said, as_="E101"))
        assert "还有 3 项任务未完成，其中 1 项已逾期" in out, said
        assert "补交10月拜访报告" in out and "回款催收" in out and "已完成的旧任务" not in out


# -- item 8: a question is answered, never consoled -------------------------------------------------------
async def test_gap_to_target_and_neutral_acknowledgements(chat) -> None:
    out = texts(await chat.say("我离目标还差多少", as_="E101"))
    assert "还差 6 家" in out and "时间进度 59%" in out
    for said in ("就这样", "好的", "我是不是干得很差？"):
        assert "不太顺" not in texts(await chat.say(said, as_="E101")), said


# -- item 9: say only what will happen ----------------------------------------------------------------------
async def test_one_mild_signal_promises_no_escalation(chat) -> None:
    out = texts(await chat.say("最近有点累", as_="E101"))
    with chat.bot.db.session() as s:
        flagged = s.execute(select(RiskFlag).where(RiskFlag.employee_id == "E101")).scalar() is not None
    assert not flagged and chat.seen("E100") == []
    assert "提醒" not in out and "已请" not in out
    assert "主管王磊 或 HRBP 吴婷" in out


async def test_hrbp_reads_status_of_a_supported_person_never_the_text(chat) -> None:
    out = texts(await chat.say("张伟上周周报交了吗", as_="E003"))
    assert "张伟上周（11月16日–11月22日）的周复盘：已提交" in out and "成果" not in out
    assert "本周（11月23日–11月29日）的周复盘：还没开始" in texts(await chat.say("张伟这周周报交了吗", as_="E003"))
    assert "张伟：新客户签约数 12/18家（67%）" in texts(await chat.say("张伟的KPI进度", as_="E003"))
    out = texts(await chat.say("张伟本月还有哪些任务", as_="E003"))
    assert "张伟本月（含已逾期）未完成任务 2 项" in out and "回款催收" not in out
    # E002 is not 张伟's HRBP
    assert "张伟不在你的团队里" in texts(await chat.say("张伟这周周报交了吗", as_="E002"))
