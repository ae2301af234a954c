"""Neutral inbound events. Channels turn wire input into these; handlers never see wire dicts."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class InboundEvent:
    channel: str  # wecom|dingtalk|terminal|system
    sender: str  # the platform user id (terminal/system: the employee id)
    key: str  # the durable dedup key, unique per real event
    conversation_id: str | None = None
    employee_id: str | None = None  # filled in by the dispatcher's identity step

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        # what dataclasses.asdict gives, at a tenth of its cost (it runs on the serving loop for every
        # accepted event): the fields' values, containers copied so the stored payload never aliases
        # a dict a handler may still change
        return {"kind": self.kind, **{k: _copy(v) for k, v in self.__dict__.items()}}


def _copy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return type(v)(_copy(x) for x in v)
    return v


@dataclass
class TextMessage(InboundEvent):
    text: str = ""


@dataclass
class CardAction(InboundEvent):
    action: str = ""  # packed payload of the pressed button
    selected: dict[str, list[str]] = field(default_factory=dict)  # question_key -> option ids
    handle: dict[str, Any] = field(default_factory=dict)  # platform card handle (fresh response_code…)


@dataclass
class SystemEvent(InboundEvent):
    """A non-chat input (import, ingest API): ``name`` picks the handler."""

    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)


_KINDS = {c.__name__: c for c in (TextMessage, CardAction, SystemEvent)}


def event_from_dict(d: dict[str, Any]) -> InboundEvent:
    """The event stored by ``to_dict`` (keys of fields since removed are ignored)."""
    d = dict(d)
    cls = _KINDS[d.pop("kind")]
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in known})
