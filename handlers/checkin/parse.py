"""Reading check-in answers: one question at a time, or all three in one message
(numbered lines or 「成果：… 障碍：… 行动：…」), and telling real answers from non-answers."""

from __future__ import annotations

import re

PARTS = ("achievement", "obstacle", "next_action")
QUESTIONS = {
    "achievement": "1/3 本周最重要成果？",
    "obstacle": "2/3 遇到的主要障碍？（没有也可以写「无」）",
    "next_action": "3/3 下周关键行动？",
}
LABELS = {"achievement": "成果", "obstacle": "障碍", "next_action": "行动"}
MAX_ANSWER_CHARS = 500

_LABELS = (r"本周(?:最重要)?成果|最重要成果|成果|done|主要障碍|遇到的(?:主要)?障碍|障碍|困难|问题|blockers?|"
           r"下周(?:关键)?行动|下周计划|关键行动|行动|下周|计划|next(?: steps?)?")
_LABEL_RX = re.compile(r"(?:^|[\s；;。，,])\s*(?:\d[.、)）]\s*)?(" + _LABELS + r")\s*[:：]", re.I)
# a heading on a line of its own, without a colon: 「本周成果\n签下华山\n障碍\n预算卡住\n下周\n跟进预算」
_HEADING_RX = re.compile(r"^\s*(?:\d[.、)）]\s*)?(" + _LABELS + r")\s*[:：]?\s*$", re.I)
_NUM_RX = re.compile(r"^\s*(?:[1-3１-３][.、)）:：]|[①②③]|[（(][1-3][)）])\s*")
# 「1、完成华山医院demo 2、客户那边预算卡住了 3、下周跟进预算审批」 on one line
_INLINE_NUM_RX = re.compile(r"(?:^|(?<=\s)|(?<=[；;。，,]))\s*(?:([1-3１-３])[.、)）:：]|([①②③]))\s*(?=\S)")


def _part_of(label: str) -> str:
    label = label.lower()
    if "成果" in label or label == "done":
        return "achievement"
    if "障碍" in label or "困难" in label or "问题" in label or label.startswith("blocker"):
        return "obstacle"
    return "next_action"


def _parse_headings(text: str) -> dict[str, str]:
    """Headings on lines of their own (at least two of them), each followed by its answer lines."""
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        m = _HEADING_RX.match(line)
        if m:
            current = _part_of(m.group(1))
            out.setdefault(current, [])
        elif line.strip():
            if current is None:
                return {}
            out[current].append(line.strip())
    found = {p: "\n".join(v) for p, v in out.items() if v}
    return found if len(found) >= 2 else {}


def parse_labelled(text: str) -> dict[str, str]:
    """「成果：… 障碍：… 行动：…」 (or 困难/计划/下周, done/blocker/next, headings on their own lines)
    → the parts found (any subset, any order)."""
    hits = list(_LABEL_RX.finditer(text))
    out: dict[str, str] = {}
    for i, m in enumerate(hits):
        end = hits[i + 1].start() if i + 1 < len(hits) else len(text)
        value = text[m.end():end].strip().strip("；;，,").strip()
        if value:
            out[_part_of(m.group(1))] = value
    return out or _parse_headings(text)


def parse_inline_numbered(text: str) -> dict[str, str]:
    """「1、… 2、… 3、…」 on one line → all three parts, else {}."""
    if "\n" in text.strip():
        return {}
    marks = [m for m in _INLINE_NUM_RX.finditer(text)]
    digits = ["123１２３①②③".find(m.group(1) or m.group(2)) % 3 for m in marks]
    if digits != [0, 1, 2]:
        return {}
    items = [text[m.end():(marks[i + 1].start() if i + 1 < 3 else len(text))].strip(" ；;，,") for i, m in enumerate(marks)]
    return dict(zip(PARTS, items, strict=True)) if all(items) else {}


def parse_numbered(text: str) -> dict[str, str]:
    """Three numbered lines (1. … 2. … 3. …) → all three parts, else {}."""
    items: list[str] = []
    for line in text.splitlines():
        if _NUM_RX.match(line):
            items.append(_NUM_RX.sub("", line, count=1).strip())
        elif items and line.strip():
            items[-1] += "\n" + line.strip()
    if len(items) == 3 and all(items):
        return dict(zip(PARTS, items, strict=True))
    return {}


def parse_all(text: str) -> dict[str, str]:
    return parse_labelled(text) or parse_numbered(text) or parse_inline_numbered(text)


def strip_number(text: str) -> str:
    """A single answer typed as 「1. …」 keeps only its content."""
    return _NUM_RX.sub("", text, count=1).strip() or text.strip()


def problem(text: str) -> str | None:
    """Why ``text`` does not look like an answer: 'empty', 'too_long', 'not_answer', or None."""
    t = text.strip()
    if not t:
        return "empty"
    if len(t) > MAX_ANSWER_CHARS:
        return "too_long"
    if not re.search(r"[\w\u4e00-\u9fff]", t):  # only emoji / punctuation
        return "not_answer"
    return None


ELABORATE = {
    "empty": "好像没有收到内容～请简单写几句，写下你的回答吧。",
    "too_long": f"内容有点长（超过 {MAX_ANSWER_CHARS} 字），能精简一下、挑最关键的说吗？如果确实需要，原样再发一次我就收下。",
    "not_answer": "收到表情啦😊 能用一两句话具体说说吗？如果就是这样，再发一次我就收下。",
}


def summary(answers: dict[str, str | None]) -> str:
    return "\n".join(f"{LABELS[p]}：{answers.get(p) or '（未填写）'}" for p in PARTS)
