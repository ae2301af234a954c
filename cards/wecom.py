"""WeCom renderers: a neutral Card becomes a ``template_card`` dict (or markdown as a fallback).

Stays inside WeCom's field limits so the server never rejects a card: long titles are cut with
"…", fields beyond six (and too-long values) move into ``sub_title_text``, button texts are cut to
ten characters. A closed card (``card.state`` set) shows its outcome as a grey, non-clickable
button (``replace_text``) instead of its buttons.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from cards.model import Card

log = logging.getLogger(__name__)

TITLE_MAX = 26  # main_title.title
DESC_MAX = 30  # main_title.desc
SUB_TITLE_MAX = 112  # sub_title_text
H_ITEMS_MAX = 6  # horizontal_content_list
KEYNAME_MAX = 5
VALUE_MAX = 26
BUTTONS_MAX = 6
BUTTON_TEXT_MAX = 10
KEY_MAX_BYTES = 1024
OPTIONS_MAX = 20
OPTION_TEXT_MAX = 11
OPTION_ID_MAX_BYTES = 128
REPLACE_TEXT_MAX = 10
TASK_ID_MAX_BYTES = 128
MARKDOWN_MAX_BYTES = 2048
STYLES = {"primary": 1, "default": 2, "danger": 3}
_TASK_ID_BAD = re.compile(r"[^0-9A-Za-z_\-@]")


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending with "…" when shortened."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def cut_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def task_id_for(key: str) -> str:
    """A deterministic WeCom task_id for an outbox key (charset [0-9A-Za-z_-@], ≤ 128 bytes).

    The key itself when it is already legal; otherwise a readable prefix plus a hash of the whole
    key, so two different keys never share a task_id and a resend is recognisably the same card."""
    if not _TASK_ID_BAD.search(key) and 0 < len(key) <= TASK_ID_MAX_BYTES:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    prefix = _TASK_ID_BAD.sub("_", key)[:80]
    return f"{prefix}-{digest}"


def _body_lines(card: Card) -> tuple[list[dict[str, str]], str]:
    """(horizontal_content_list, sub_title_text): fields that do not fit go into the text."""
    items: list[dict[str, str]] = []
    extra: list[str] = []
    for k, v in card.fields:
        if len(items) < H_ITEMS_MAX and len(v) <= VALUE_MAX:
            items.append({"keyname": cut(k, KEYNAME_MAX), "value": v or "-"})
        else:
            extra.append(f"{k}：{v}")
    parts = []
    if len(card.title) > TITLE_MAX:
        parts.append(card.title)  # the full title, since main_title had to be cut
    if card.body:
        parts.append(card.body)
    parts.extend(extra)
    if card.footer:
        parts.append(card.footer)
    return items, cut("\n".join(parts), SUB_TITLE_MAX)


def _button(text: str, key: str, style: str = "primary") -> dict[str, Any]:
    if len(key.encode()) > KEY_MAX_BYTES:
        raise ValueError(f"button key longer than {KEY_MAX_BYTES} bytes")
    return {"text": cut(text, BUTTON_TEXT_MAX), "style": STYLES.get(style, 1), "key": key}


def render_template_card(card: Card, task_id: str) -> dict[str, Any]:
    """The ``template_card`` object for ``message/send`` and ``update_template_card``."""
    items, sub = _body_lines(card)
    out: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": cut(card.title, TITLE_MAX)},
        "task_id": task_id,
    }
    if sub:
        out["sub_title_text"] = sub
    if items:
        out["horizontal_content_list"] = items
    if card.state:
        outcome = cut(card.state, REPLACE_TEXT_MAX)
        out["main_title"]["desc"] = cut(card.state, DESC_MAX)
        out["button_list"] = [{"text": outcome, "style": 2, "key": f"closed:{task_id}"[:KEY_MAX_BYTES]}]
        out["replace_text"] = outcome
        return out
    if card.tags:
        t = card.tags
        if len(t.options) > OPTIONS_MAX:
            log.warning("card %r has %d tag options; WeCom shows the first %d", card.title, len(t.options),
                        OPTIONS_MAX)
        submit = t.submit or (card.buttons[0] if card.buttons else None)
        out["card_type"] = "vote_interaction"
        out["checkbox"] = {
            "question_key": t.question_key,
            "option_list": [
                {"id": o.id, "text": cut(o.label, OPTION_TEXT_MAX), "is_checked": o.id in t.selected}
                for o in t.options[:OPTIONS_MAX]
                if 0 < len(o.id.encode()) <= OPTION_ID_MAX_BYTES
            ],
            "mode": 1,
        }
        submit_key = submit.action if submit else f"tags:submit:{t.question_key}"
        out["submit_button"] = {"text": cut(submit.text if submit else "提交", BUTTON_TEXT_MAX), "key": submit_key}
        return out
    if len(card.buttons) > BUTTONS_MAX:
        log.warning("card %r has %d buttons; WeCom shows the first %d", card.title, len(card.buttons), BUTTONS_MAX)
    out["button_list"] = [_button(b.text, b.action, b.style) for b in card.buttons[:BUTTONS_MAX]]
    if not out["button_list"]:  # nothing to press: a notice card still needs one (inert) button
        out["button_list"] = [{"text": "知道了", "style": 2, "key": f"noop:{task_id}"}]
        out["replace_text"] = "知道了"
    return out


def render_markdown(card: Card) -> str:
    """Markdown fallback (≤ 2048 bytes) for clients that cannot show template cards."""
    lines = [f"**{card.title}**"]
    if card.body:
        lines.append(card.body)
    for k, v in card.fields:
        lines.append(f"> {k}：{v}")
    if card.state:
        lines.append(f'<font color="info">{card.state}</font>')
    else:
        if card.tags:
            lines.append("可选标签：" + "、".join(o.label for o in card.tags.options))
        if card.buttons:
            lines.append("操作：" + " / ".join(b.text for b in card.buttons) + "（请在卡片上操作）")
    if card.footer:
        lines.append(f'<font color="comment">{card.footer}</font>')
    return cut_bytes("\n".join(lines), MARKDOWN_MAX_BYTES)
