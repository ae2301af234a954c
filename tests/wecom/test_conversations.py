"""Issue 13 over WeCom (encrypted callbacks in, API calls recorded by the emulator): a question in the
middle of the check-in is answered and the pending question asked again; team views; the right person."""

from __future__ import annotations

from datetime import datetime

from handlers.checkin import store
from scheduler.runs import run_job
from tests.conftest import TZ
from tests.wecom.conftest import WeComRig, until

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)


def said(rig: WeComRig, user: str, fragment: str) -> int:
    return sum(fragment in t for t in rig.emulator.texts(user))


async def say(rig: WeComRig, user: str, text: str, expect: str) -> None:
    assert await rig.driver.push(rig.driver.text_xml(user, text)) == [200]
    await until(lambda: said(rig, user, expect), f"{expect!r} for {user}")


async def test_question_mid_checkin_over_wecom(rig: WeComRig) -> None:
    rig.clock.set(FRIDAY)
    await run_job(rig.bot.services, "checkin_push", FRIDAY)
    await rig.settle()
    task_id, card = rig.emulator.last_card("wx_e101")
    start = next(b["key"] for b in card["button_list"] if b["text"] == "开始填写")
    assert await rig.driver.push(rig.driver.click_xml("wx_e101", start, task_id)) == [200]
    await until(lambda: said(rig, "wx_e101", "1/3 本周最重要成果"), "the first question")
    await say(rig, "wx_e101", "本月还有哪些任务没完成", "（继续周复盘）1/3 本周最重要成果")
    assert said(rig, "wx_e101", "还有 2 项任务未完成") == 1
    assert store.for_week(rig.bot.db, "E101", "2026-W48").achievement is None
    await say(rig, "wx_e101", "签下华山医院首单", "2/3 遇到的主要障碍")
    await say(rig, "wx_e101", "我的KPI进度", "（继续周复盘）2/3")
    assert said(rig, "wx_e101", "还差 6 家") == 1


async def test_team_view_and_the_right_person_over_wecom(rig: WeComRig) -> None:
    await say(rig, "wx_e100", "我们组谁还没交周报", "已提交 5/5 人")
    await say(rig, "wx_e100", "小张还有啥没干完的", "你指的是张伟吗")
    await say(rig, "wx_e101", "王磊本月还有哪些任务", "只能告诉你自己的情况")
    assert said(rig, "wx_e101", "回款催收") == 0
