"""Issue 13 over DingTalk (stream frames in, OpenAPI calls recorded by the emulator): a representative
subset of the conversations people actually have."""

from __future__ import annotations

from tests.emulators.dingtalk import until


async def ask(emu, user: str, text: str) -> str:  # type: ignore[no-untyped-def]
    """Send ``text`` as ``user`` and return everything the bot sent them in reply."""
    before = len(emu.api.seen.get(user, []))
    await emu.acked(await emu.say(user, text))
    await until(lambda: len(emu.api.seen.get(user, [])) > before, what=f"the answer to {text!r}")
    return "\n".join(emu.api.texts(user)[before:])


async def test_questions_people_ask_over_dingtalk(emu, make_bot):
    await make_bot()
    # item 3: phrasings and small talk
    assert "当前积分" in await ask(emu, "dt_e101", "我有几分")
    assert "12月2日前（含已逾期）还有 2 项任务未完成" in await ask(emu, "dt_e101", "下周三之前有啥要交的")
    assert "不客气" in await ask(emu, "dt_e101", "谢谢")
    assert "还没有提交过目标调整申请" in await ask(emu, "dt_e101", "我的调整申请批了吗")
    # item 8: the gap to target; 就这样 is neutral
    assert "还差 6 家" in await ask(emu, "dt_e101", "我离目标还差多少")
    assert "不太顺" not in await ask(emu, "dt_e101", "就这样")
    # item 7: overdue means past due
    assert "你没有逾期任务" in await ask(emu, "dt_e101", "有哪些逾期的任务")
    # item 5: naming the manager is not a question about yourself
    out = await ask(emu, "dt_e101", "王磊本月还有哪些任务")
    assert "只能告诉你自己的情况" in out and "回款催收" not in out
    assert "你指的是张伟吗" in await ask(emu, "dt_e100", "小张还有啥没干完的")


async def test_team_views_over_dingtalk(emu, make_bot):
    await make_bot()
    assert "已提交 5/5 人" in await ask(emu, "dt_e100", "我们组谁还没交周报")
    out = await ask(emu, "dt_e100", "团队KPI")
    assert "张伟：新客户签约数 12/18家（67%）" in out and "马超" not in out
    out = await ask(emu, "dt_e090", "团队KPI")
    assert "【华东销售组】" in out and "【华南销售组】" in out
    # item 9: one mild signal promises nothing it will not do
    out = await ask(emu, "dt_e101", "最近有点累")
    assert "提醒" not in out and "主管王磊 或 HRBP 吴婷" in out
