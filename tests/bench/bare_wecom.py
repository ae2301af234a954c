"""The floor for the WeCom callback benchmark: an aiohttp server that only verifies, decrypts,
parses and encrypts a reply — no database, no handler. Run as its own process, like the bot.

    python -m tests.bench.bare_wecom PORT
"""

from __future__ import annotations

import sys

from aiohttp import web
from wechatpy.work.crypto import WeChatCrypto

from bot.channels.wecom.inbound import parse_xml
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN


def make_app() -> web.Application:
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)

    async def handler(request: web.Request) -> web.Response:
        q = request.query
        outer = parse_xml(await request.read())
        plain = crypto.decrypt_message({"Encrypt": outer.findtext("Encrypt")}, q["msg_signature"], q["timestamp"],
                                       q["nonce"])
        msg = parse_xml(plain)
        reply = f"<xml><ToUserName><![CDATA[{msg.findtext('FromUserName')}]]></ToUserName><Content>ok</Content></xml>"
        return web.Response(text=crypto.encrypt_message(reply, q["nonce"], q["timestamp"]))

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"status": "ready"})

    app = web.Application()
    app.router.add_post("/wecom/callback", handler)
    app.router.add_get("/readyz", ready)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
