"""WeCom's callback side: correctly encrypted and signed GET/POST requests to the bot, with retries.

Retries repeat the same plaintext (same MsgId/CreateTime) like WeCom does; by default each
attempt is a new HTTP request with a fresh timestamp/nonce (``same_query=True`` repeats those too).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp
from yarl import URL

from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_crypto import WeComCrypto

_msg_ids = itertools.count(7301234567890123456)


def cdata(value: str) -> str:
    return f"<![CDATA[{value}]]>"


@dataclass
class Signed:
    query: dict[str, str]
    body: str


@dataclass
class CallbackDriver:
    url: str  # the bot's callback URL
    emulator: WeComEmulator
    token: str
    encoding_aes_key: str
    now: Callable[[], float]  # unix seconds as WeCom sees them (tests: the bot's manual clock)
    statuses: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.crypto = WeComCrypto(self.token, self.encoding_aes_key, self.emulator.corp_id)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session:
            await self._session.close()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    # -- plaintext messages ---------------------------------------------------------------------
    def _head(self, user: str, create_time: int | None) -> str:
        ct = int(self.now()) if create_time is None else create_time
        return (f"<ToUserName>{cdata(self.emulator.corp_id)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
                f"<CreateTime>{ct}</CreateTime>")

    def text_xml(self, user: str, content: str, msg_id: int | None = None, create_time: int | None = None) -> str:
        mid = next(_msg_ids) if msg_id is None else msg_id
        return (f"<xml>{self._head(user, create_time)}<MsgType>{cdata('text')}</MsgType>"
                f"<Content>{cdata(content)}</Content><MsgId>{mid}</MsgId>"
                f"<AgentID>{self.emulator.agent_id}</AgentID></xml>")

    def card_event_xml(self, user: str, event_key: str, task_id: str, response_code: str,
                       card_type: str = "button_interaction", selected: dict[str, list[str]] | None = None,
                       create_time: int | None = None) -> str:
        items = ""
        if selected is not None:
            items = "<SelectedItems>" + "".join(
                f"<SelectedItem><QuestionKey>{cdata(q)}</QuestionKey><OptionIds>"
                + "".join(f"<OptionId>{cdata(o)}</OptionId>" for o in opts)
                + "</OptionIds></SelectedItem>"
                for q, opts in selected.items()
            ) + "</SelectedItems>"
        return (f"<xml>{self._head(user, create_time)}<MsgType>{cdata('event')}</MsgType>"
                f"<Event>{cdata('template_card_event')}</Event><EventKey>{cdata(event_key)}</EventKey>"
                f"<TaskId>{cdata(task_id)}</TaskId><CardType>{cdata(card_type)}</CardType>"
                f"<ResponseCode>{cdata(response_code)}</ResponseCode><AgentID>{self.emulator.agent_id}</AgentID>"
                f"{items}</xml>")

    def click_xml(self, user: str, button_key: str, task_id: str | None = None,
                  selected: dict[str, list[str]] | None = None) -> str:
        """A click on a card the emulator delivered to ``user`` (latest card if no task_id)."""
        if task_id is None:
            task_id, card = self.emulator.last_card(user)
        else:
            card = self.emulator.card_for(user, task_id)
        keys = [b["key"] for b in card.get("button_list", [])] + [card.get("submit_button", {}).get("key")]
        assert button_key in keys, f"no button {button_key!r} on card {task_id}: {keys}"
        assert not card.get("replace_text"), f"card {task_id} is closed: {card.get('replace_text')}"
        code = self.emulator.issue_response_code(task_id, [user])
        return self.card_event_xml(user, button_key, task_id, code, card["card_type"], selected)

    # -- envelopes ------------------------------------------------------------------------------
    def sign(self, plain: str, timestamp: int | None = None, nonce: str | None = None,
             corp_id: str | None = None) -> Signed:
        encrypt = self.crypto.encrypt(plain, receive_id=corp_id)
        ts = str(int(self.now()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(5)
        query = {"msg_signature": self.crypto.sign(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
        body = (f"<xml><ToUserName>{cdata(corp_id or self.emulator.corp_id)}</ToUserName>"
                f"<Encrypt>{cdata(encrypt)}</Encrypt><AgentID>{cdata(str(self.emulator.agent_id))}</AgentID></xml>")
        return Signed(query, body)

    async def post_signed(self, signed: Signed, body: bytes | str | None = None) -> int:
        data = signed.body if body is None else body
        async with self.session().post(self.url, params=signed.query, data=data,
                                       headers={"Content-Type": "text/xml"}) as resp:
            text = await resp.text()
            assert resp.status != 200 or text == "", f"unexpected passive reply {text!r}"
            self.statuses.append(resp.status)
            return resp.status

    async def push(self, plain: str, deliveries: int = 1, same_query: bool = False) -> list[int]:
        """Deliver ``plain`` ``deliveries`` times (WeCom retrying a callback it thinks failed)."""
        signed = self.sign(plain)
        out = []
        for _ in range(deliveries):
            out.append(await self.post_signed(signed if same_query else self.sign(plain)))
        return out

    async def verify_url(self, echo: str | None = None) -> tuple[int, bytes, str]:
        """The admin console's URL check: GET with a URL-encoded, encrypted echostr."""
        echo = echo or str(secrets.randbelow(10**18))
        encrypt = self.crypto.encrypt(echo)
        ts, nonce = str(int(self.now())), secrets.token_hex(5)
        sig = self.crypto.sign(ts, nonce, encrypt)
        url = f"{self.url}?msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr={quote(encrypt, safe='')}"
        async with self.session().get(URL(url, encoded=True)) as resp:
            return resp.status, await resp.read(), echo
