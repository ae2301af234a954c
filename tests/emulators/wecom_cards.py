"""The emulator's template_card validation (protocols.md A8.2 / C1.6), strict on WeCom's limits."""

from __future__ import annotations

import re
from typing import Any

TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
INTERACTIVE = ("button_interaction", "vote_interaction", "multiple_interaction")
CARD_TYPES = ("text_notice", "news_notice", *INTERACTIVE)
INVALID = 40058  # "不合法的参数"


class CardInvalid(ValueError):
    def __init__(self, errmsg: str, errcode: int = INVALID) -> None:
        super().__init__(errmsg)
        self.errcode = errcode


def _chars(value: Any, limit: int, what: str, required: bool = False) -> None:
    if value is None:
        if required:
            raise CardInvalid(f"{what} missing")
        return
    if not isinstance(value, str) or (required and not value):
        raise CardInvalid(f"{what} must be a non-empty string")
    if len(value) > limit:
        raise CardInvalid(f"{what} longer than {limit} characters")


def _key(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value.encode()) > 1024:
        raise CardInvalid(f"{what} must be 1..1024 bytes")
    return value


def validate(card: dict[str, Any]) -> str:
    """Raise CardInvalid for anything WeCom would reject; returns the card_type."""
    ctype = card.get("card_type")
    if ctype not in CARD_TYPES:
        raise CardInvalid(f"invalid card_type {ctype!r}")
    task_id = card.get("task_id")
    if ctype in INTERACTIVE or card.get("action_menu"):
        if not isinstance(task_id, str) or not TASK_ID_RE.match(task_id) or len(task_id.encode()) > 128:
            raise CardInvalid(f"invalid task_id {task_id!r}")
    main = card.get("main_title") or {}
    _chars(main.get("title"), 26, "main_title.title")
    _chars(main.get("desc"), 30, "main_title.desc")
    _chars(card.get("sub_title_text"), 112, "sub_title_text")
    if not main.get("title") and not card.get("sub_title_text"):
        raise CardInvalid("main_title.title or sub_title_text required")
    items = card.get("horizontal_content_list") or []
    if len(items) > 6:
        raise CardInvalid("horizontal_content_list has more than 6 items")
    for it in items:
        _chars(it.get("keyname"), 5, "horizontal_content_list.keyname", required=True)
        _chars(it.get("value"), 26, "horizontal_content_list.value")
    if ctype == "text_notice" and not card.get("card_action"):
        raise CardInvalid("card_action required", errcode=42045)
    if ctype == "button_interaction":
        buttons = card.get("button_list") or []
        if not 1 <= len(buttons) <= 6:
            raise CardInvalid("button_list must have 1..6 buttons")
        keys = set()
        for b in buttons:
            _chars(b.get("text"), 10, "button.text", required=True)
            if b.get("style", 1) not in (1, 2, 3, 4):
                raise CardInvalid("button.style must be 1..4")
            if b.get("type", 0) == 0:
                keys.add(_key(b.get("key"), "button.key"))
        if len(keys) != len([b for b in buttons if b.get("type", 0) == 0]):
            raise CardInvalid("button keys must be unique")
        _chars(card.get("replace_text"), 10, "replace_text")
    if ctype == "vote_interaction":
        box = card.get("checkbox") or {}
        _key(box.get("question_key"), "checkbox.question_key")
        options = box.get("option_list") or []
        if not 1 <= len(options) <= 20:
            raise CardInvalid("checkbox.option_list must have 1..20 options")
        ids = [o.get("id") for o in options]
        if any(not isinstance(i, str) or not i or len(i.encode()) > 128 for i in ids) or len(set(ids)) != len(ids):
            raise CardInvalid("checkbox option ids must be unique, 1..128 bytes")
        for o in options:
            _chars(o.get("text"), 11, "checkbox option text", required=True)
        if box.get("mode", 0) not in (0, 1):
            raise CardInvalid("checkbox.mode must be 0 or 1")
        submit = card.get("submit_button") or {}
        _chars(submit.get("text"), 10, "submit_button.text", required=True)
        _key(submit.get("key"), "submit_button.key")
    return str(ctype)
