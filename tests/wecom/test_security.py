"""Bad callbacks are rejected with the right status, logged once, store nothing; the bot keeps serving."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from storage.models import InboundEvent, OutboxMessage
from tests.emulators.wecom_driver import Signed
from tests.wecom.conftest import WeComRig, until

BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + ']><xml><ToUserName>&lol9;</ToUserName></xml>')


def stored(rig: WeComRig) -> tuple[int, int]:
    with rig.bot.db.session() as s:
        return (s.execute(select(func.count()).select_from(InboundEvent)).scalar_one(),
                s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one())


async def still_serving(rig: WeComRig) -> None:
    assert await rig.driver.push(rig.driver.text_xml("wx_e103", "帮助")) == [200]
    await until(lambda: rig.emulator.seen["wx_e103"], "a reply after the bad requests")


def tamper(signed: Signed, **query: str) -> Signed:
    return Signed({**signed.query, **query}, signed.body)


@pytest.mark.parametrize("case,status", [
    ("bad_signature", 403), ("stale_timestamp", 403), ("future_timestamp", 403), ("huge_timestamp", 403),
    ("other_corp_encrypt", 403),
    ("other_corp_to_user", 403), ("missing_query", 400), ("malformed_outer", 400), ("bomb_outer", 400),
    ("bomb_inner", 400), ("malformed_inner", 400), ("garbage_encrypt", 400), ("oversize", 413),
])
async def test_bad_callback_rejected_and_nothing_stored(rig: WeComRig, case: str, status: int, caplog) -> None:
    d = rig.driver
    plain = d.text_xml("wx_e101", "帮助")
    now = int(rig.clock.now().timestamp())
    skew = rig.settings.wecom.max_timestamp_skew_seconds
    body: str | bytes | None = None
    if case == "bad_signature":
        signed = tamper(d.sign(plain), msg_signature="0" * 40)
    elif case == "stale_timestamp":
        signed = d.sign(plain, timestamp=now - skew - 1)
    elif case == "future_timestamp":
        signed = d.sign(plain, timestamp=now + skew + 5)
    elif case == "huge_timestamp":
        signed = d.sign(plain, timestamp=10**400)
    elif case == "other_corp_encrypt":
        signed = d.sign(plain, corp_id="wwSOMEONEELSE")
        signed = Signed(signed.query, signed.body.replace("wwSOMEONEELSE", rig.emulator.corp_id))
    elif case == "other_corp_to_user":
        signed = d.sign(plain.replace(rig.emulator.corp_id, "wwSOMEONEELSE"))
    elif case == "missing_query":
        signed = d.sign(plain)
        signed = Signed({k: v for k, v in signed.query.items() if k != "nonce"}, signed.body)
    elif case == "malformed_outer":
        signed, body = d.sign(plain), "<xml><Encrypt>abc</xml"
    elif case == "bomb_outer":
        signed, body = d.sign(plain), BOMB
    elif case == "bomb_inner":
        signed = d.sign(BOMB)
    elif case == "malformed_inner":
        signed = d.sign(plain[:-4])
    elif case == "garbage_encrypt":
        signed = d.sign(plain)
        enc = "bm90IGEgd2Vjb20gbWVzc2FnZQ=="
        signed = Signed({**signed.query, "msg_signature": d.crypto.sign(signed.query["timestamp"],
                                                                         signed.query["nonce"], enc)},
                        f"<xml><ToUserName>{rig.emulator.corp_id}</ToUserName><Encrypt>{enc}</Encrypt></xml>")
    else:  # oversize
        signed, body = d.sign(plain), "<xml>" + "x" * (rig.settings.server.max_body_bytes + 1) + "</xml>"
    caplog.set_level(logging.WARNING, logger="bot.channels.wecom.callback")
    assert await d.post_signed(signed, body) == status
    rejections = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejections) == 1, [r.getMessage() for r in caplog.records]
    await rig.settle()
    assert stored(rig) == (0, 0)
    await still_serving(rig)


async def test_replayed_request_is_rejected(rig: WeComRig) -> None:
    signed = rig.driver.sign(rig.driver.text_xml("wx_e101", "帮助"))
    assert await rig.driver.post_signed(signed) == 200
    await rig.settle()
    before = stored(rig)
    assert await rig.driver.post_signed(signed) == 403  # same msg_signature + nonce
    await rig.settle()
    assert stored(rig) == before
    assert len(rig.emulator.seen["wx_e101"]) == 1


async def test_get_verification_with_bad_signature_is_403(rig: WeComRig) -> None:
    async with rig.driver.session().get(rig.driver.url, params={
            "msg_signature": "0" * 40, "timestamp": str(int(rig.clock.now().timestamp())), "nonce": "1",
            "echostr": "abc"}) as resp:
        assert resp.status == 403


@pytest.mark.parametrize("xml", [
    BOMB.encode(),
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><xml><Content>&a;</Content></xml>',
    b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><Content>x</Content></xml>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><xml/>',
    "<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE x><xml/>".encode("utf-16"),  # a DTD in another encoding
    b"<xml><Content>&lol;</Content></xml>",  # an entity nobody declared
    b"<xml><Content>unclosed</xml>", b"", b"<notxml/>",
])
def test_callback_xml_with_a_dtd_an_entity_or_bad_form_is_refused(xml: bytes) -> None:
    from bot.channels.wecom.inbound import BadXml, parse_xml

    with pytest.raises(BadXml):
        parse_xml(xml)


def test_callback_xml_reads_cdata_escapes_and_unicode() -> None:
    from bot.channels.wecom.inbound import parse_xml

    root = parse_xml("<xml><Content><![CDATA[成果：<b>方案</b> & 报价]]></Content><Note>a &amp; b &#20013;</Note>"
                     "<SelectedItems><SelectedItem><QuestionKey>k</QuestionKey></SelectedItem></SelectedItems></xml>"
                     .encode())
    assert root.findtext("Content") == "成果：<b>方案</b> & 报价" and root.findtext("Note") == "a & b 中"
    assert root.findtext("SelectedItems/SelectedItem/QuestionKey") == "k"
