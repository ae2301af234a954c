"""The battle map on WeCom: the template card (only ~110 characters of text fit, so the map opens with
one short line per alert), its buttons as encrypted callbacks, cards replaced in place."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.alerts.report import alerts_report
from scheduler.runs import run_job
from tests.alerts.scenarios import MONDAY, SCENARIOS
from tests.conftest import TZ
from tests.wecom.conftest import WeComRig, until

BASELINE, CAPACITY = SCENARIOS[1], SCENARIOS[3]


async def job(rig: WeComRig, name: str, at: datetime) -> None:
    rig.clock.set(at)
    await run_job(rig.bot.services, name, at)
    await rig.settle()


def cards_titled(rig: WeComRig, user: str, fragment: str) -> list[tuple[str, dict]]:
    return [(s.body["task_id"], rig.emulator.card_for(user, s.body["task_id"])) for s in rig.emulator.seen[user]
            if s.msgtype == "template_card" and fragment in s.text]


async def test_battle_map_on_wecom(rig: WeComRig) -> None:
    BASELINE.mild(rig.bot.db)
    CAPACITY.mild(rig.bot.db)
    await job(rig, "alert_scan", MONDAY)
    await job(rig, "battle_map", MONDAY + timedelta(minutes=30))
    [(task_id, card)] = cards_titled(rig, "wx_e100", "团队预警")
    assert card["main_title"]["title"] == "团队预警 · 王磊"
    assert "张伟 低于基线 20%" in card["sub_title_text"] and "张伟 负荷 85%" in card["sub_title_text"]
    keys = {b["text"]: b["key"] for b in card["button_list"]}
    assert list(keys) == ["全部确认", "全部暂缓", "逐条查看"]
    # 逐条查看: one card per alert, each with its own buttons
    before = len(cards_titled(rig, "wx_e100", "张伟"))  # the two alert cards of the scan
    await rig.driver.push(rig.driver.click_xml("wx_e100", keys["逐条查看"], task_id))
    await until(lambda: len(cards_titled(rig, "wx_e100", "张伟")) == before + 2, "the alert cards")
    [(cap_id, cap)] = cards_titled(rig, "wx_e100", "工作负荷超限")[-1:]
    ack = next(b["key"] for b in cap["button_list"] if b["text"] == "确认")
    await rig.driver.push(rig.driver.click_xml("wx_e100", ack, cap_id))
    await until(lambda: "已确认" in (rig.emulator.card_for("wx_e100", cap_id).get("replace_text") or ""),
                "the capacity card to close")
    # 全部暂缓 on the map: what is still open gets snoozed, the map card closes
    await rig.driver.push(rig.driver.click_xml("wx_e100", keys["全部暂缓"], task_id))
    await until(lambda: "已全部暂缓" in (rig.emulator.card_for("wx_e100", task_id).get("replace_text") or ""),
                "the map card to close")
    await rig.settle()
    status = {a["rule"]: a["status"] for a in alerts_report(rig.bot.db, TZ)["alerts"] if a["who"] == "张伟"}
    assert status == {"baseline": "snoozed", "capacity": "snoozed"}
