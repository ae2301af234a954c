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


async def _help_card(rig: WeComRig, user: str = "wx_e101") -> tuple[str, dict]:
    await rig.driver.push(rig.driver.text_xml(user, "帮助"))
    await until(lambda: rig.emulator.seen[user], "the help card")
    await until(lambda: not rig.in_flight(), "the worker to record the card it sent")
    return rig.emulator.last_card(user)


async def test_card_button_click_reaches_its_handler(rig: WeComRig) -> None:
    task_id, card = await _help_card(rig)
    key = card["button_list"][2]["key"]  # 我的积分
    assert await rig.driver.push(rig.driver.click_xml("wx_e101", key)) == [200]
    await until(lambda: len(rig.emulator.seen["wx_e101"]) >= 2, "the handler's answer")
    answer = rig.emulator.seen["wx_e101"][1]
    assert answer.msgtype in ("text", "markdown", "template_card")
    assert "积分" in str(answer.body)


async def test_update_cards_uses_the_freshest_response_code(rig: WeComRig) -> None:
    from cards.model import Card

    task_id, card = await _help_card(rig)
    send_code = next(c for c, v in rig.emulator.codes.items() if v["task_id"] == task_id)
    click = rig.driver.click_xml("wx_e101", card["button_list"][0]["key"])
    click_code = click.split("<ResponseCode><![CDATA[")[1].split("]]>")[0]
    await rig.driver.push(click)
    await until(lambda: len(rig.emulator.seen["wx_e101"]) >= 2, "the click answer")
    closed = Card(title="绩效助手 · 帮助", body="本菜单已关闭").closed("已查看")
    n = await rig.bot.services.messenger.update_cards("help:E101", closed, key="test:close-help")
    assert n == 1
    await until(lambda: rig.emulator.updates, "update_template_card")
    update = rig.emulator.updates[0]
    assert update["body"]["response_code"] == click_code != send_code
    assert update["users"] == ["wx_e101"]
    shown = rig.emulator.card_for("wx_e101", task_id)
    assert shown["replace_text"] == "已查看" and shown["main_title"]["desc"] == "已查看"
    # a second update has no fresh code left but the send's, which is still unused
    again = closed.closed("已归档")
    await rig.bot.services.messenger.update_cards("help:E101", again, key="test:archive-help")
    await until(lambda: len(rig.emulator.updates) == 2, "second update")
    assert rig.emulator.updates[1]["body"]["response_code"] == send_code


async def test_selected_items_reach_the_handler_as_lists(rig: WeComRig) -> None:
    from bot.channels.wecom.inbound import parse_xml, selected_items

    d = rig.driver
    none = parse_xml(d.card_event_xml("u", "k", "t", "c"))
    one = parse_xml(d.card_event_xml("u", "k", "t", "c", "vote_interaction", {"tags": ["o1"]}))
    many = parse_xml(d.card_event_xml("u", "k", "t", "c", "vote_interaction", {"tags": ["o1", "o2", "o3"],
                                                                                "mood": ["m2"]}))
    assert selected_items(none) == {}
    assert selected_items(one) == {"tags": ["o1"]}
    assert selected_items(many) == {"tags": ["o1", "o2", "o3"], "mood": ["m2"]}


async def test_image_file_and_markdown_go_through_the_api(rig: WeComRig) -> None:
    m = rig.bot.services.messenger
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    assert await m.send_image("E101", png, "chart.png", key="test:img")
    assert await m.send_file("E101", "周复盘\n".encode() * 10, "review.txt", key="test:file")
    assert await m.send_markdown("E101", "本周", "**完成** 3 项", key="test:md")
    await until(lambda: len(rig.emulator.seen["wx_e101"]) == 3, "three messages")
    kinds = sorted(s.msgtype for s in rig.emulator.seen["wx_e101"])
    assert kinds == ["file", "image", "markdown"]
    uploads = [c for c in rig.emulator.api_calls if c[0] == "media/upload"]
    assert {u[1]["type"] for u in uploads} == {"image", "file"}


async def test_message_from_unknown_wecom_user_gets_polite_text(rig: WeComRig) -> None:
    rig.emulator.users.add("wx_stranger")
    await rig.driver.push(rig.driver.text_xml("wx_stranger", "你好"))
    await until(lambda: rig.emulator.seen["wx_stranger"], "the polite answer")
    assert "通讯录" in rig.emulator.texts("wx_stranger")[0]


async def test_image_message_gets_a_hint(rig: WeComRig) -> None:
    plain = rig.driver.text_xml("wx_e102", "x").replace("<![CDATA[text]]>", "<![CDATA[image]]>")
    await rig.driver.push(plain, deliveries=2)
    await until(lambda: rig.emulator.seen["wx_e102"], "the hint")
    await rig.settle()
    assert len(rig.emulator.seen["wx_e102"]) == 1 and "文字" in rig.emulator.texts("wx_e102")[0]
