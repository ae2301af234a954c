"""Neutral organisation snapshot read from WeCom or DingTalk by the channels' contacts readers
(``bot/channels/wecom/directory.py``, ``bot/channels/dingtalk/directory.py``) and applied by
``handlers/directory``."""

from __future__ import annotations

from dataclasses import dataclass, field


class DirectoryError(Exception):
    """The platform refused or failed a contacts call: nothing is changed."""


@dataclass
class PDept:
    pid: str
    name: str
    parent: str | None
    leaders: list[str] = field(default_factory=list)


@dataclass
class PUser:
    uid: str
    name: str
    depts: list[str]  # the first is the main department
    manager: str | None = None  # the platform's direct manager (WeCom direct_leader)
    email: str | None = None


@dataclass
class Snapshot:
    platform: str  # wecom|dingtalk
    depts: list[PDept] = field(default_factory=list)
    users: dict[str, PUser] = field(default_factory=dict)
