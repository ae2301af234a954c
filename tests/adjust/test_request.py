"""Employee side: explicit requests, the guided flow and every rule that refuses a request."""

from __future__ import annotations

from datetime import date

from storage import conversations
from storage.models import Goal
from tests.adjust.util import REQUEST, goal, requests
from tests.conftest import texts


async def test_request_above_the_second_threshold_goes_to_the_manager_first(chat):
    said = texts(await chat.say(REQUEST, as_="E101"))
    assert "已提交目标调整申请" in said and "18 → 17 家（-5.6%）" in said and "已发给王磊审批" in said
    [req] = requests(chat)
    assert (req.goal_id, req.old_target, req.new_target, req.status) == ("G-E101", 18, 17, "pending")
    assert req.approver_id == "E100" and req.reason == "XX医院招标推迟到明年一季度"
    assert chat.seen("E090") == []  # 5.6% > director_threshold_percent (5%): the manager first, then the director
    [card] = chat.seen("E100")
    assert dict(card.card.fields)["说明"] == "调整幅度超过 5%：你批准后还需陈刚最终审批"
    assert card.kind == "card" and card.card is not None
    fields = dict(card.card.fields)
    assert fields["调整"] == "18 → 17 家（-5.6%）"
    assert fields["原因"] == "XX医院招标推迟到明年一季度"
    assert fields["当前进度"] == "新客户签约数：12/18 家（67%）"
    assert "11-17 11" in fields["近期数据"]  # MetricValue history, whole customers (a count)
    assert "." not in fields["近期数据"]
    assert "跟进博爱医院采购流程" in fields["未完成任务"]  # open tasks
    assert [b.text for b in card.card.buttons] == ["批准", "驳回"]
    assert card.card.buttons[0].action == f"adj:approve:{req.id}:v1"


async def test_small_change_goes_to_the_direct_manager(chat):
    said = texts(await chat.say("申请把新客户签约数从24调到23，原因：华山医院采购预算冻结", as_="E103"))
    assert "已发给王磊审批" in said
    [card] = chat.seen("E100")
    assert "刘洋申请调整目标「新客户签约数」" in card.text and "24 小时内未处理将升级" in card.text


async def test_request_outside_the_limit_is_refused_with_what_is_allowed(chat):
    said = texts(await chat.say("申请把新客户签约数目标从18调到15，原因：XX医院招标推迟", as_="E101"))
    assert "超出了规定" in said and "单次最多调整当前目标的 10%" in said
    assert "本次可申请 17–19 家" in said and "最低可调到 17 家" in said
    assert requests(chat) == [] and chat.seen("E090") == [] and chat.seen("E100") == []
    # the answer keeps the request open: a number within the range continues it
    said = texts(await chat.say("17", as_="E101"))
    assert "已提交目标调整申请" in said and requests(chat)[0].new_target == 17


async def test_raising_above_the_limit_names_the_highest_value(chat):
    said = texts(await chat.say("申请把签约数调高到25，原因：新开拓了两家大客户", as_="E101"))
    assert "最高可调到 19 家" in said and requests(chat) == []


async def test_from_value_must_match_the_current_target_or_is_questioned(chat):
    said = texts(await chat.say("申请把新客户签约数目标从20调到17，原因：XX医院招标推迟", as_="E101"))
    assert "当前目标是 18 家，不是 20 家" in said and "确认" in said
    assert requests(chat) == []
    said = texts(await chat.say("确认", as_="E101"))
    assert "已提交" in said and requests(chat)[0].old_target == 18


async def test_from_value_of_an_already_changed_target(chat):
    said = texts(await chat.say("申请把新客户签约数目标从20调到18，原因：XX医院招标推迟", as_="E101"))
    assert "当前目标已经是 18 家" in said and requests(chat) == []


async def test_guided_flow_asks_for_target_and_reason(chat):
    said = texts(await chat.say("我的目标太高了，想调整一下", as_="E101"))  # intent adjust_target
    assert "当前目标 18 家" in said and "可申请 17–19 家" in said and "请回复一个数字" in said
    said = texts(await chat.say("17", as_="E101"))
    assert "业务原因" in said
    said = texts(await chat.say("太难", as_="E101"))
    assert "太简短" in said and requests(chat) == []
    said = texts(await chat.say("XX医院招标推迟到明年一季度", as_="E101"))
    assert "已提交" in said
    assert requests(chat)[0].reason == "XX医院招标推迟到明年一季度"
    assert (await chat.say("帮助", as_="E101"))[0].kind == "card"  # the flow is over


async def test_guided_flow_by_command_and_goal_card_with_several_goals(chat):
    with chat.bot.db.session() as s:
        s.add(Goal(id="G-E101-2", title="回款金额", owner_id="E101", target=300, current=120, unit="万元",
                   parent_id="G-D1", period_start=date(2026, 10, 1), period_end=date(2026, 12, 31)))
    shown = await chat.say("申请调整目标", as_="E101")
    assert shown[0].kind == "card" and "要调整哪个目标" in shown[0].text
    said = texts(await chat.press("E101", 2))  # 「回款金额」
    assert "当前目标 300 万元" in said and "270–330" in said
    await chat.say("280", as_="E101")
    said = texts(await chat.say("两家医院回款周期延长到明年", as_="E101"))
    assert "「回款金额」300 → 280 万元" in said


async def test_reason_is_required(chat):
    said = texts(await chat.say("申请把新客户签约数调到17", as_="E101"))
    assert "请用一句话说明业务原因" in said and requests(chat) == []
    said = texts(await chat.say("客户预算冻结到明年", as_="E101"))
    assert "已提交" in said


async def test_a_message_that_is_not_an_answer_leaves_the_flow(chat):
    await chat.say("我想调整目标", as_="E101")
    await chat.say("本周周报交了吗", as_="E101")  # no number: not an answer to 「调到多少」
    assert conversations.get(chat.bot.db, "E101") is None


async def test_only_own_goals_are_matched(chat):
    said = texts(await chat.say("申请把需求按期交付数调到11，原因：需求评审推迟两周", as_="E101"))
    assert "在你名下没有找到「需求按期交付数」" in said
    assert requests(chat) == []


async def test_one_pending_request_per_goal(chat):
    await chat.say(REQUEST, as_="E101")
    said = texts(await chat.say("申请把新客户签约数调到19，原因：新开拓了两家大客户", as_="E101"))
    assert "已有一条待审批的调整申请" in said and "等待王磊审批" in said
    assert len(requests(chat)) == 1


async def test_closed_period_is_refused(chat):
    with chat.bot.db.session() as s:
        g = s.get(Goal, "G-E101")
        g.period_start, g.period_end = date(2026, 7, 1), date(2026, 9, 30)
        s.add(g)
        s.add(Goal(id="G-E101-Q4", title="回款金额", owner_id="E101", target=300, current=120, unit="万元",
                   period_start=date(2026, 10, 1), period_end=date(2026, 12, 31)))
    said = texts(await chat.say("申请把新客户签约数调到17，原因：XX医院招标推迟", as_="E101"))
    assert "考核周期（2026-07-01 至 2026-09-30）不在进行中" in said and requests(chat) == []
    assert goal(chat).target == 18
