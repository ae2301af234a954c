"""Decrypted WeCom callback XML → neutral events. Parsing refuses any DTD or entity (safe against entity
expansion and external entities)."""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import NoReturn
from xml.parsers import expat

from bot.events import CardAction, InboundEvent, TextMessage

log = logging.getLogger(__name__)
CHANNEL = "wecom"
MAX_USER_ID = 64  # WeCom UserIDs are at most 64 bytes
MAX_MSG_ID = 32  # a 64-bit integer
KEY_MAX = 180  # leaves room for reply suffixes within the 255-char outbox key
CARD_EVENTS = ("template_card_event", "template_card_menu_event")
INERT_KEYS = ("closed:", "noop:")  # grey outcome buttons we render ourselves


class BadXml(ValueError):
    """Not well-formed, or uses a DTD/entities (never allowed in WeCom callbacks)."""


class _Forbidden(ValueError):
    pass


def _forbid(*_args: object) -> NoReturn:
    raise _Forbidden("DTDs and entities are not allowed")


def parse_xml(data: bytes | str) -> ET.Element:
    """The callback's XML as an element tree; BadXml when it is not well-formed or has a DTD, an entity
    declaration or an external entity. defusedxml's checks (the same expat handlers that refuse), on
    expat and the C tree builder directly: defusedxml's ElementTree parser is the pure-Python one, 35 µs
    a callback envelope against 12, and every callback is parsed twice (envelope and message) on the
    serving loop."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
        root = builder.close()
    except (expat.ExpatError, _Forbidden, UnicodeError, ValueError, AssertionError) as exc:
        raise BadXml(f"{exc.__class__.__name__}: {exc}") from None
    if root.tag != "xml":
        raise BadXml(f"root element is <{root.tag}>, expected <xml>")
    return root


@dataclass
class Unsupported:
    """A message we cannot handle (image, voice…): answer politely, keyed for dedup."""

    sender: str
    key: str
    msg_type: str


def _text(root: ET.Element, tag: str) -> str:
    return (root.findtext(tag) or "").strip()


def _short(key: str) -> str:
    if len(key) <= KEY_MAX:
        return key
    return key[:100] + "#" + hashlib.sha256(key.encode()).hexdigest()[:40]


def selected_items(root: ET.Element) -> dict[str, list[str]]:
    """SelectedItems → {question_key: [option ids]} for 0, 1 or N items/options."""
    out: dict[str, list[str]] = {}
    for item in root.findall("SelectedItems/SelectedItem"):
        qk = _text(item, "QuestionKey")
        ids = [(o.text or "").strip() for o in item.findall("OptionIds/OptionId")]
        if qk:
            out.setdefault(qk, []).extend(i for i in ids if i)
    return out


def event_key(root: ET.Element) -> str:
    """The dedup key: MsgId for messages; sender+CreateTime+Event+EventKey+TaskId for events."""
    msg_id = _text(root, "MsgId")
    if msg_id and msg_id != "0":
        return f"wecom:msg:{msg_id}"
    parts = [_text(root, t) for t in ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId")]
    return _short("wecom:evt:" + ":".join(parts))


def to_event(root: ET.Element) -> InboundEvent | Unsupported | None:
    """The neutral event for a decrypted callback; None for events we ignore (enter_agent …)."""
    sender = _text(root, "FromUserName")
    msg_type = _text(root, "MsgType").lower()
    if not sender or not msg_type:
        raise BadXml("FromUserName or MsgType missing")
    if len(sender) > MAX_USER_ID or len(_text(root, "MsgId")) > MAX_MSG_ID:  # checked at the door
        raise BadXml(f"FromUserName (≤ {MAX_USER_ID}) or MsgId (≤ {MAX_MSG_ID}) too long")
    key = event_key(root)
    if msg_type == "text":
        return TextMessage(channel=CHANNEL, sender=sender, key=key, text=root.findtext("Content") or "")
    if msg_type == "event":
        name = _text(root, "Event").lower()
        if name not in CARD_EVENTS:
            log.info("WeCom event %r from %s ignored (only card events are handled)", name[:40], sender)
            return None
        action = _text(root, "EventKey")
        if not action or action.startswith(INERT_KEYS):
            log.info("WeCom %s from %s without an actionable EventKey ignored", name, sender)
            return None
        handle = {
            "task_id": _text(root, "TaskId"), "response_code": _text(root, "ResponseCode"),
            "card_type": _text(root, "CardType"),
        }
        return CardAction(channel=CHANNEL, sender=sender, key=key, action=action,
                          selected=selected_items(root), handle=handle)
    log.info("WeCom %r message from %s is not supported; answering with a hint", msg_type[:40], sender)
    return Unsupported(sender, key, msg_type)
