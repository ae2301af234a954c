"""Typed, versioned card-action payloads: ``prefix:action:arg1:arg2:v1``.

Packed and parsed only here so every button in every card speaks the same format.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "v1"
MAX_LEN = 200  # well below WeCom's 1024-byte key limit and DingTalk param limits
_FORBIDDEN = set(":|\n\r\t ")


class BadPayload(ValueError):
    pass


@dataclass(frozen=True)
class Action:
    prefix: str
    action: str
    args: tuple[str, ...] = ()

    def arg(self, i: int, default: str = "") -> str:
        return self.args[i] if i < len(self.args) else default


def pack(prefix: str, action: str, *args: object) -> str:
    parts = [prefix, action, *(str(a) for a in args)]
    for p in parts:
        if not p or _FORBIDDEN & set(p):
            raise BadPayload(f"payload part {p!r} is empty or contains a separator")
    s = ":".join([*parts, VERSION])
    if len(s.encode()) > MAX_LEN:
        raise BadPayload(f"payload too long ({len(s.encode())} bytes)")
    return s


def parse(s: str) -> Action:
    if not s or len(s.encode()) > MAX_LEN:
        raise BadPayload("empty or oversize payload")
    parts = s.split(":")
    if len(parts) < 3 or parts[-1] != VERSION:
        raise BadPayload(f"unknown payload format: {s!r}")
    return Action(parts[0], parts[1], tuple(parts[2:-1]))
