"""End to end through HTTP: encrypted callbacks in, WeCom API calls out, against the emulator."""

from __future__ import annotations

from tests.wecom.conftest import WeComRig, until


async def test_url_verification_returns_exact_plaintext(rig: WeComRig) -> None:
    status, body, echo = await rig.driver.verify_url("1616140317555161061")
    assert status == 200 and body == echo.encode()
    for _ in range(5):  # random echostrs (base64 with + / =) survive URL encoding
        status, body, echo = await rig.driver.verify_url()
        assert status == 200 and body == echo.encode()


async def test_help_text_gets_a_template_card(rig: WeComRig) -> None:
    assert await rig.driver.push(rig.driver.text_xml("wx_e101", "帮助")) == [200]
    await until(lambda: rig.emulator.seen["wx_e101"], "the help card")
    seen = rig.emulator.seen["wx_e101"]
    assert [s.msgtype for s in seen] == ["template_card"]
    card = seen[0].body
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "绩效助手 · 帮助"
    assert [b["text"] for b in card["button_list"]] == ["我的任务", "KPI 进度", "我的积分"]
