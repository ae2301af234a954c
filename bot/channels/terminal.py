"""The terminal channel: a person (or a test) talks to the bot as any employee.

Cards are rendered as text and numbered; their buttons are pressed by number. The same
dispatcher and handlers serve this channel as WeCom and DingTalk.
"""

from __future__ import annotations

import base64
import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.channels.base import Channel, Delivery
from bot.events import CardAction, TextMessage
from cards.model import Card
from cards.text import button_list, render_text
from storage import cardstore
from storage.models import Employee
from storage.outbox import Claimed

_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_FONT = re.compile(r"</?font[^>]*>")


def markdown_text(md: str) -> str:
    """Markdown as plain readable text for the terminal: no ``**``/``#``/``>`` marks, links as
    ``text (url)``, list bullets kept."""
    lines = []
    for line in md.splitlines():
        line = _QUOTE.sub("", _HEADING.sub("", line))
        line = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(1) else m.group(2), line)
        lines.append(_FONT.sub("", _EMPHASIS.sub(r"\2", line)).rstrip())
    return "\n".join(lines).strip()


@dataclass
class Shown:
    """One thing the bot showed a user."""

    kind: str  # text|markdown|card|update_card|image|file
    text: str
    card_no: int | None = None
    card: Card | None = None
    path: str | None = None


@dataclass
class TerminalChannel(Channel):
    name: str = "terminal"
    out_dir: Path = field(default_factory=lambda: Path("var/terminal"))
    # Shows a message live; returns True if it did (then it is not kept for a later ``take``).
    printer: Callable[[str, Shown], bool] | None = None

    def __post_init__(self) -> None:
        super().__init__()
        self.inbox: dict[str, list[Shown]] = {}
        self.cards: dict[int, tuple[str, Card]] = {}  # card number -> (employee id, card)
        self._numbers: itertools.count[int] | None = None  # continues after the stored cards (see deliver)

    def recipient_for(self, employee: Employee) -> str | None:
        return employee.id

    # -- outbound -----------------------------------------------------------------------------
    async def deliver(self, items: list[Claimed]) -> list[Delivery]:
        if self._numbers is None:
            # Card numbers continue after a restart: start after the highest stored terminal card.
            db = self.services.db if self.services else None
            last = await db.run(cardstore.highest_handle_number, db, self.name, "t") if db else 0
            self._numbers = itertools.count(last + 1)
        return [self._show(item) for item in items]

    def _show(self, item: Claimed) -> Delivery:
        p = item.payload
        handle: dict[str, object] = {}
        key = None
        if item.kind == "text":
            shown = Shown("text", p["text"])
        elif item.kind == "markdown":
            shown = Shown("markdown", markdown_text(f"{p.get('title', '')}\n{p['text']}".strip()))
        elif item.kind == "card":
            no = next(self._numbers)
            card = Card.from_dict(p["card"])
            self.cards[no] = (item.recipient, card)
            shown = Shown("card", f"卡片 #{no}\n{render_text(card)}", no, card)
            handle, key = {"card_no": no}, f"t{no}"
        elif item.kind == "update_card":
            rec = cardstore.get(self.services.db, p["record_id"]) if self.services else None
            no = int(rec.handle["card_no"]) if rec else 0
            card = Card.from_dict(p["card"])
            self.cards[no] = (item.recipient, card)
            shown = Shown("update_card", f"卡片 #{no} 已更新\n{render_text(card)}", no, card)
        elif item.kind in ("image", "file"):
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self.out_dir / f"{item.id}-{p['filename']}"
            path.write_bytes(base64.b64decode(p["data"]))
            shown = Shown(item.kind, f"[文件] {p['filename']} 已保存到 {path}", path=str(path))
        else:
            return Delivery("failed", error=f"unknown kind {item.kind}")
        if not (self.printer and self.printer(item.recipient, shown)):
            self.inbox.setdefault(item.recipient, []).append(shown)
        return Delivery("sent", handle=handle, handle_key=key)

    # -- inbound ------------------------------------------------------------------------------
    def text_event(self, employee_id: str, text: str) -> TextMessage:
        return TextMessage(channel=self.name, sender=employee_id, key=f"terminal:{uuid.uuid4().hex}", text=text)

    def press_event(self, employee_id: str, card_no: int, button_no: int,
                    selected: list[str] | None = None) -> CardAction:
        """A click on button ``button_no`` (1-based) of card ``card_no``; raises LookupError."""
        if card_no not in self.cards and not self._restore(card_no):
            raise LookupError(f"没有编号为 #{card_no} 的卡片")
        owner, card = self.cards[card_no]
        if card.state:
            raise LookupError(f"卡片 #{card_no} 已处理：{card.state}")
        buttons = button_list(card)
        if not 1 <= button_no <= len(buttons):
            raise LookupError(f"卡片 #{card_no} 没有第 {button_no} 个按钮")
        chosen: dict[str, list[str]] = {}
        if card.tags:
            chosen[card.tags.question_key] = list(selected if selected is not None else card.tags.selected)
        return CardAction(
            channel=self.name, sender=employee_id, key=f"terminal:{uuid.uuid4().hex}",
            action=buttons[button_no - 1].action, selected=chosen, handle={"card_no": card_no},
        )

    def select_tags(self, card_no: int, option_numbers: list[int]) -> list[str]:
        """Mark tag options (1-based numbers) as selected on a shown card; returns option ids."""
        owner, card = self.cards[card_no]
        if not card.tags:
            raise LookupError(f"卡片 #{card_no} 没有可选标签")
        opts = card.tags.options
        ids = [opts[n - 1].id for n in option_numbers if 1 <= n <= len(opts)]
        card.tags.selected = ids
        return ids

    def latest_card(self, employee_id: str) -> int | None:
        mine = [no for no, (owner, c) in self.cards.items() if owner == employee_id and not c.state]
        if mine:
            return max(mine)
        # After a restart: the newest open card shown before it (from the card store).
        rec = cardstore.latest_open(self.services.db, self.name, employee_id) if self.services else None
        if rec is None or not self._restore(int(rec.handle["card_no"])):
            return None
        return int(rec.handle["card_no"])

    def _restore(self, card_no: int) -> bool:
        """Load card ``card_no`` shown before a restart from the card store; False if unknown."""
        rec = cardstore.find_by_handle(self.services.db, self.name, f"t{card_no}") if self.services else None
        if rec is None:
            return False
        card = Card.from_dict(rec.card)
        card.state = card.state or rec.state
        self.cards[card_no] = (rec.recipient, card)
        return True

    def take(self, employee_id: str) -> list[Shown]:
        """Everything shown to ``employee_id`` since the last take."""
        return self.inbox.pop(employee_id, [])
