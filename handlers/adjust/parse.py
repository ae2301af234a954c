"""Reading a target-adjustment request written in the employee's own words.

「申请把新客户签约数目标从20调到18，原因：XX医院招标推迟」 → goal text, old 20, new 18, reason.
Any part may be missing; the guided flow asks for what is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUM = r"\d+(?:\.\d+)?"
VERB = r"(?:下调|上调|调整|调低|调高|调|改|降低|降|提高|提升|提)"
TO = r"(?:到|为|成|至)"
UNIT = r"[^\d\s，,。；;]{0,3}?"
_GOAL = r"[^，,。；;！!？?\d]{0,40}?"

EXPLICIT = re.compile(
    rf"(?:(?:把|将)(?P<goal>{_GOAL})|(?P<goal2>{_GOAL}))\s*(?:从\s*(?P<old>{NUM})\s*{UNIT}\s*)?"
    rf"{VERB}{TO}\s*(?P<new>{NUM})"
)
# What the router treats as an explicit request, whatever the intent classifier thinks.
TRIGGER = rf"(?:把|将)[^，,。；;]{{0,40}}?{VERB}{TO}\s*{NUM}|从\s*{NUM}\s*{UNIT}\s*{VERB}{TO}\s*{NUM}"
REASON = re.compile(r"(?:原因|理由)\s*(?:是|为)?\s*[:：]?\s*(?P<r>.+)|(?:因为|由于)\s*(?P<r2>.+)", re.S)
FIRST_NUM = re.compile(NUM)
_LEAD = ("申请", "我想", "我要", "想要", "希望", "能否", "能不能", "可以", "请", "想", "帮我", "麻烦")


@dataclass
class Parsed:
    goal_text: str = ""
    old: float | None = None
    new: float | None = None
    reason: str = ""


def _strip_lead(t: str) -> str:
    changed = True
    while changed:
        changed = False
        t = t.strip(" ，,：:")
        for lead in _LEAD:
            if t.startswith(lead):
                t, changed = t[len(lead):], True
        if t.startswith(("把", "将")):
            t, changed = t[1:], True
    return t


_TAIL_ASK = re.compile(r"(能不能|能否|可不可以|可以|行不行|好不好|想|要|请)$")
_PARTICLES = "啊吧呀哈呢嘛哦喔了的，,。.；;！!～~ "
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]")


def clean_reason(text: str) -> str:
    return _EMOJI.sub("", text).strip().strip("，,。.；;！!～~ ").strip()


def _bare_reason(rest: str) -> str:
    """「…从24降到23啊 仁和招标推迟了😭」: the words after the numbers are the reason."""
    r = clean_reason(rest).lstrip(_PARTICLES)
    return r if len(re.findall(r"[\u4e00-\u9fff]", r)) >= 4 else ""


def parse_request(text: str) -> Parsed:
    p = Parsed()
    m = EXPLICIT.search(text)
    rest = text
    if m:
        p.goal_text = _strip_lead(m.group("goal") if m.group("goal") is not None else m.group("goal2") or "")
        p.goal_text = _TAIL_ASK.sub("", p.goal_text).strip()
        p.old = float(m.group("old")) if m.group("old") else None
        p.new = float(m.group("new"))
        rest = text[m.end():]
    r = REASON.search(rest) or REASON.search(text)
    if r:
        p.reason = clean_reason(r.group("r") or r.group("r2") or "")
    elif m:
        p.reason = _bare_reason(rest)
    return p


def first_number(text: str) -> float | None:
    m = FIRST_NUM.search(text)
    return float(m.group()) if m else None
