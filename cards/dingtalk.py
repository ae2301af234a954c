"""DingTalk renderings of the neutral Card.

- ``render_standard``: cardData for the robot's built-in ``StandardCard`` (needs no tenant template),
  sent with ``/v1.0/im/v1.0/robot/interactiveCards/send`` and updated with
  ``PUT /v1.0/im/robots/interactiveCards``. Buttons are ``actionType: request`` buttons; a click
  arrives on the Stream topic ``/v1.0/card/instances/callback`` with ``actionIds=[button id]`` and
  the button's ``params``.
- ``render_params``: a string-only ``cardParamMap`` for a tenant card template
  (``createAndDeliver`` / ``PUT /v1.0/card/instances``); the template is expected to bind
  ``title``, ``markdown``, ``state``, ``footer`` and loop over the JSON list ``buttons``
  (``{id, text, style, params}``), sending ``params`` back on click.

Tag selection (visit feedback): every option is a toggle button (``params.tag``); a tap toggles it
and the channel updates the card to show the running selection; 提交 (``params.action``) submits.
"""

from __future__ import annotations

import json
from typing import Any

from cards.model import Card

STANDARD_TEMPLATE = "StandardCard"
_STATUS = {"primary": "primary", "default": "normal", "danger": "warning"}


def _markdown(card: Card) -> str:
    parts = []
    if card.body:
        parts.append(card.body)
    if card.fields:
        parts.append("\n".join(f"**{k}**：{v}" for k, v in card.fields))
    return "\n\n".join(parts) or card.title


def buttons(card: Card) -> list[dict[str, Any]]:
    """Clickable controls in display order: tag toggles, then 提交, then the card's buttons."""
    if card.state:
        return []
    out: list[dict[str, Any]] = []
    if card.tags:
        for opt in card.tags.options:
            on = opt.id in card.tags.selected
            out.append({"id": f"tag-{opt.id}", "text": ("✅ " if on else "") + opt.label,
                        "style": "primary" if on else "default", "params": {"tag": opt.id}})
        if card.tags.submit:
            out.append({"id": "submit", "text": card.tags.submit.text, "style": card.tags.submit.style,
                        "params": {"action": card.tags.submit.action}})
    for i, b in enumerate(card.buttons):
        out.append({"id": f"btn-{i}", "text": b.text, "style": b.style, "params": {"action": b.action}})
    return out


def selection_line(card: Card) -> str:
    t = card.tags
    if t is None:
        return ""
    labels = [o.label for o in t.options if o.id in t.selected]
    chosen = "、".join(labels) if labels else "（尚未选择）"
    return f"点选标签（最多 {t.max_selected} 个，再点一次取消），然后点「提交」。\n已选：{chosen}"


def render_standard(card: Card) -> dict[str, Any]:
    contents: list[dict[str, Any]] = [{"type": "markdown", "text": _markdown(card), "id": "body"}]
    if card.state:
        contents.append({"type": "markdown", "text": f"✅ **{card.state}**", "id": "state"})
    if card.tags and not card.state:
        contents.append({"type": "markdown", "text": selection_line(card), "id": "selection"})
    actions = [
        {"type": "button", "label": {"type": "text", "text": b["text"], "id": f'{b["id"]}-label'},
         "actionType": "request", "status": _STATUS.get(b["style"], "normal"), "id": b["id"],
         "params": b["params"]}
        for b in buttons(card)
    ]
    if actions:
        contents.append({"type": "action", "actions": actions, "id": "actions"})
    if card.footer:
        contents.append({"type": "markdown", "text": card.footer, "id": "footer"})
    return {"config": {"autoLayout": True, "enableForward": False},
            "header": {"title": {"type": "text", "text": card.title}}, "contents": contents}


def render_params(card: Card) -> dict[str, str]:
    """cardParamMap for a template card: every value a string (DingTalk rejects others)."""
    markdown = _markdown(card)
    if card.tags and not card.state:
        markdown += "\n\n" + selection_line(card)
    return {
        "title": card.title,
        "markdown": markdown,
        "state": card.state or "",
        "footer": card.footer,
        "buttons": json.dumps(buttons(card), ensure_ascii=False),
    }


def control_for(card: Card, action_id: str) -> dict[str, str] | None:
    """The ``params`` of the control with ``action_id`` (when a callback carries only actionIds)."""
    for b in buttons(card):
        if b["id"] == action_id:
            return dict(b["params"])
    return None
