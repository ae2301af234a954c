"""WeCom retries callbacks; each message/event is processed once, even across a restart."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import InboundEvent
from tests.wecom.conftest import WeComRig, until


def inbound_count(rig: WeComRig) -> int:
    with rig.bot.db.session() as s:
        return s.execute(select(func.count()).select_from(InboundEvent)).scalar_one()


async def test_same_text_three_times_is_processed_once(rig: WeComRig) -> None:
    plain = rig.driver.text_xml("wx_e101", "帮助")
    assert await rig.driver.push(plain, deliveries=3) == [200, 200, 200]
    await rig.settle()
    assert inbound_count(rig) == 1
    assert len(rig.emulator.seen["wx_e101"]) == 1


async def test_retry_after_a_restart_is_still_deduplicated(rig: WeComRig) -> None:
    plain = rig.driver.text_xml("wx_e101", "帮助")
    assert await rig.driver.push(plain) == [200]
    await until(lambda: rig.emulator.seen["wx_e101"], "the first reply")
    await rig.restart()  # a new process on the same SQLite file; in-memory replay memory is gone
    assert await rig.driver.push(plain, deliveries=2) == [200, 200]
    await rig.settle()
    assert inbound_count(rig) == 1
    assert len(rig.emulator.seen["wx_e101"]) == 1


async def test_card_click_retried_is_processed_once(rig: WeComRig) -> None:
    await rig.driver.push(rig.driver.text_xml("wx_e101", "帮助"))
    await until(lambda: rig.emulator.seen["wx_e101"], "help card")
    _, card = rig.emulator.last_card("wx_e101")
    click = rig.driver.click_xml("wx_e101", card["button_list"][2]["key"])
    assert await rig.driver.push(click, deliveries=3) == [200, 200, 200]
    await rig.settle()
    assert inbound_count(rig) == 2
    assert len(rig.emulator.seen["wx_e101"]) == 2


async def test_distinct_events_in_the_same_second_are_not_collapsed(rig: WeComRig) -> None:
    await rig.driver.push(rig.driver.text_xml("wx_e101", "帮助"))
    await until(lambda: rig.emulator.seen["wx_e101"], "help card")
    _, card = rig.emulator.last_card("wx_e101")
    ct = int(rig.clock.now().timestamp())
    for b in card["button_list"][:2]:  # two different buttons, same CreateTime
        task_id, _ = rig.emulator.last_card("wx_e101")
        xml = rig.driver.card_event_xml("wx_e101", b["key"], task_id, "rc-x", create_time=ct)
        assert await rig.driver.push(xml) == [200]
    # two different texts in the same second have different MsgIds
    await rig.driver.push(rig.driver.text_xml("wx_e102", "帮助", create_time=ct))
    await rig.driver.push(rig.driver.text_xml("wx_e102", "帮助", create_time=ct))
    await rig.settle()
    assert inbound_count(rig) == 5
