"""Platform-neutral card model. Build a card once; renderers turn it into WeCom/DingTalk/text."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Button:
    text: str
    action: str  # a packed payload (see cards.payload)
    style: str = "primary"  # primary|default|danger


@dataclass
class TagOption:
    id: str
    label: str


@dataclass
class TagChoice:
    """A multi-select question (e.g. visit tags); submitted with ``submit``."""

    question_key: str
    options: list[TagOption]
    max_selected: int = 3
    selected: list[str] = field(default_factory=list)
    submit: Button | None = None


@dataclass
class Card:
    title: str
    body: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    tags: TagChoice | None = None
    # When set, the card is closed: buttons are replaced by this outcome (e.g. "已批准").
    state: str | None = None
    footer: str = ""

    def closed(self, state: str, body: str | None = None, footer: str = "") -> Card:
        """A copy of this card showing ``state`` instead of its buttons. The footer (usually a hint
        about the buttons) is dropped unless a new one is given."""
        return Card(
            title=self.title, body=self.body if body is None else body, fields=list(self.fields),
            buttons=[], tags=None, state=state, footer=footer,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fields"] = [list(f) for f in self.fields]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Card:
        tags = d.get("tags")
        tag_choice = None
        if tags:
            submit = tags.get("submit")
            tag_choice = TagChoice(
                question_key=tags["question_key"],
                options=[TagOption(**o) for o in tags["options"]],
                max_selected=tags.get("max_selected", 3),
                selected=list(tags.get("selected", [])),
                submit=Button(**submit) if submit else None,
            )
        return cls(
            title=d["title"], body=d.get("body", ""), fields=[(k, v) for k, v in d.get("fields", [])],
            buttons=[Button(**b) for b in d.get("buttons", [])], tags=tag_choice, state=d.get("state"),
            footer=d.get("footer", ""),
        )
