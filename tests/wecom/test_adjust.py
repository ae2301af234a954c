"""An adjustment request approved on a WeCom card: click → handler → card replaced via the API."""

from __future__ import annotations

from tests.wecom.conftest import WeComRig, until


def approval_cards(rig: WeComRig) -> list[tuple[str, str, dict]]:
    out = []
    for user, seen in rig.emulator.seen.items():
        for s in seen:
            if s.msgtype == "template_card" and any(
                    b.get("key", "").startswith("adj:") for b in s.body.get("button_list", [])):
                out.append((user, s.body["task_id"], s.body))
    return out


async def test_adjustment_approved_through_wecom(rig: WeComRig) -> None:
    ask = "申请把签约额目标从18调到17，原因：大客户预算冻结项目延期"
    await rig.driver.push(rig.driver.text_xml("wx_e101", ask))
    await until(lambda: approval_cards(rig), "the approval card")
    [(approver, task_id, card)] = approval_cards(rig)
    await until(lambda: any("已提交" in str(s.body) for s in rig.emulator.seen["wx_e101"]), "the confirmation")
    approve = next(b["key"] for b in card["button_list"] if ":approve:" in b["key"] or "批准" in b["text"])
    assert await rig.driver.push(rig.driver.click_xml(approver, approve, task_id), deliveries=2) == [200, 200]
    await until(lambda: rig.emulator.card_for(approver, task_id).get("replace_text"), "the card closed")
    closed = rig.emulator.card_for(approver, task_id)
    assert "批准" in closed["replace_text"]
    update = next(u for u in rig.emulator.updates if u["task_id"] == task_id)
    assert update["users"] == [approver]
    await until(lambda: any("批准" in str(s.body) for s in rig.emulator.seen["wx_e101"]), "the requester told")
    await rig.settle()
    # the double delivery of the click was processed once: one update for that card
    assert len([u for u in rig.emulator.updates if u["task_id"] == task_id]) == 1
