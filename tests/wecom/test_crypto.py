"""The emulator's crypto against the spec's test vector (protocols.md A2), and against wechatpy."""

from __future__ import annotations

from wechatpy.work.crypto import WeChatCrypto

from tests.emulators.wecom_crypto import WeComCrypto

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "wx5823bf96d3bd56c7"
MSG = "<xml><Content><![CDATA[hi]]></Content></xml>"
ENCRYPT = ("ZA4HuQypHxnRrA+A6SOHGBQgeo6VrJhLQrF8RFDBCETbeszVmDzxZEx4tiR7/QVxe/geKCZA/lC8/PrMAQHDQMoLPvCITRL"
           "lThRndusiGOZVR4JS5iXSg3OEufe6zsSb")
SIGNATURE = "f98b735c92ef127485a40e851fce51daf9d3d623"


def test_spec_vector_encrypt_and_sign() -> None:
    c = WeComCrypto(TOKEN, AES_KEY, CORP)
    enc = c.encrypt(MSG, random16=b"aaaabbbbccccdddd")
    assert enc == ENCRYPT
    assert c.sign("1409659813", "1372623149", enc) == SIGNATURE
    assert c.decrypt(ENCRYPT) == MSG


def test_spec_vector_matches_wechatpy() -> None:
    plain = WeChatCrypto(TOKEN, AES_KEY, CORP).decrypt_message(
        {"Encrypt": ENCRYPT}, SIGNATURE, "1409659813", "1372623149")
    assert plain == MSG


def test_padding_is_32_byte_blocks() -> None:
    import base64

    c = WeComCrypto(TOKEN, AES_KEY, CORP)
    for n in range(0, 70):
        assert len(base64.b64decode(c.encrypt("x" * n))) % 32 == 0
        assert c.decrypt(c.encrypt("中" * n)) == "中" * n
