"""Issue 13, items 11 and 12: who approves a large change, and counts stay whole numbers."""

from __future__ import annotations

from tests.adjust.util import REQUEST, goal, requests
from tests.conftest import texts


async def test_above_the_threshold_the_manager_approves_first_then_the_director(chat) -> None:
    await chat.say(REQUEST, as_="E101")
    assert chat.seen("E090") == []
    said = texts(await chat.press("E100", 1))
    assert "已转给陈刚做最终审批" in said
    assert "王磊已批准你的目标调整申请" in texts(chat.seen("E101")) and goal(chat).target == 18
    [card] = chat.seen("E090")
    assert dict(card.card.fields)["说明"] == "王磊已批准；调整幅度超过 5%，需要你最终审批"
    await chat.press("E090", 2)  # 驳回
    await chat.say("华南大单还在谈，先保持原目标", as_="E090")
    assert "未获批准（陈刚）" in texts(chat.seen("E101"))
    assert "陈刚已驳回（原因：华南大单还在谈，先保持原目标）张伟的目标调整申请" in texts(chat.seen("E100"))
    [req] = requests(chat)
    assert (req.status, req.manager_approved_by, req.decided_by) == ("rejected", "E100", "E090")
    assert goal(chat).target == 18


async def test_director_only_mode_informs_the_manager(chat) -> None:
    chat.bot.services.settings.policy.approval_mode = "director_only"
    await chat.say(REQUEST, as_="E101")
    [note] = chat.seen("E100")
    assert note.kind == "text" and "供你知悉：张伟申请把「新客户签约数」18 → 17 家" in note.text
    assert "由陈刚审批" in note.text
    await chat.press("E090", 1)
    assert goal(chat).target == 17
    assert "陈刚已批准张伟的目标调整申请" in texts(chat.seen("E100"))


async def test_within_the_threshold_the_manager_alone_decides(chat) -> None:
    await chat.say("申请把新客户签约数从24调到23，原因：华山医院采购预算冻结到明年", as_="E103")
    await chat.press("E100", 1)
    assert goal(chat, "G-E103").target == 23 and chat.seen("E090") == []


async def test_counted_units_take_whole_numbers(chat) -> None:
    said = texts(await chat.say("申请把新客户签约数从18调到17.5，原因：华山医院招标推迟到明年", as_="E101"))
    assert "以「家」计数，目标只能是整数（例如 17 或 18 家）" in said
    assert requests(chat) == []
    said = texts(await chat.say("17", as_="E101"))
    assert "已提交目标调整申请" in said and requests(chat)[0].new_target == 17


# -- item 4: a messy request keeps its numbers and its reason ------------------------------------------
async def test_messy_request_uses_the_goal_at_that_target_and_keeps_the_reason(chat) -> None:
    said = texts(await chat.say("kpi能不能从24降到23啊 仁和招标推迟了😭", as_="E103"))  # 刘洋: one goal at 24
    assert "没有找到" not in said and "已提交目标调整申请：「新客户签约数」24 → 23 家" in said
    [req] = requests(chat)
    assert (req.goal_id, req.old_target, req.new_target, req.reason) == ("G-E103", 24, 23, "仁和招标推迟了")


async def test_messy_request_with_one_goal_keeps_numbers_while_asking(chat) -> None:
    # 张伟's one goal is at 18, not 24: the numbers are kept and the difference pointed out
    said = texts(await chat.say("kpi能不能从24降到23啊 仁和招标推迟了😭", as_="E101"))
    assert "「新客户签约数」当前目标是 18 家，不是 24 家" in said and "没有找到" not in said


async def test_a_command_while_waiting_for_the_reason_is_not_the_reason(chat) -> None:
    await chat.say("申请调整目标", as_="E103")
    await chat.say("23", as_="E103")
    said = texts(await chat.say("申请调整目标", as_="E103"))
    assert requests(chat) == [] and "想调整到多少" in said  # started again, not filed with 「申请调整目标」
    await chat.say("23", as_="E103")
    said = texts(await chat.say("我的积分", as_="E103"))
    assert "当前积分" in said and "（继续申请调整目标）请用一句话说明业务原因" in said
    said = texts(await chat.say("仁和医院招标推迟到明年", as_="E103"))
    assert "已提交目标调整申请" in said and requests(chat)[0].reason == "仁和医院招标推迟到明年"
