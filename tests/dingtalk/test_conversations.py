"""Issue 13 over DingTalk (stream frames in, OpenAPI calls recorded by the emulator): a representative
subset of the conversations people actually have."""

from __future__ import annotations

from tests.emulators.dingtalk import until


async def ask(emu, user: str, text: str) -> str:
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


async def test_checkin_formats_visits_and_adjustments_over_dingtalk(emu, make_bot):
    from datetime import datetime

    from handlers.checkin import store
    from scheduler.runs import run_job
    from tests.conftest import TZ

    bot = await make_bot()
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
    bot.services.clock.set(friday)
    await run_job(bot.services, "checkin_push", friday)
    # ask() takes anything new as the answer: the push reaches everyone first (its cards are spread
    # over the app's budget windows, so dt_e102's may still be on its way)
    await until(lambda: all(emu.api.card_of(u) is not None for u in ("dt_e101", "dt_e102", "dt_e103")),
                what="the check-in cards")
    # item 2: headings without colons, 下周 as the action label
    before = len(emu.api.seen["dt_e101"])
    await emu.acked(await emu.say("dt_e101", "本周成果\n签下华山\n障碍\n预算卡住\n下周\n跟进预算"))
    await until(lambda: any("周复盘已提交" in t for t in emu.api.texts("dt_e101")[before:]), what="submitted")
    ci = store.for_week(bot.db, "E101", "2026-W48")
    assert (ci.achievement, ci.obstacle, ci.next_action) == ("签下华山", "预算卡住", "跟进预算")
    # item 10: one chat-declared visit per customer per day
    await ask(emu, "dt_e102", "拜访结束 瑞金医院")
    assert "已经记录过" in await ask(emu, "dt_e102", "拜访结束 瑞金医院")
    assert sum(s.kind == "card" and "拜访反馈" in s.text for s in emu.api.seen["dt_e102"]) == 1
    # item 12: counted units take whole numbers
    assert "只能是整数" in await ask(emu, "dt_e103", "申请把新客户签约数从24调到23.5，原因：仁和医院招标推迟到明年")
    # item 13: the adjustment history in chat
    await ask(emu, "dt_e103", "取消")
    assert "还没有调整申请" in await ask(emu, "dt_e103", "新客户签约数的调整记录")
