"""What a risk flag looks like to people: labels, care suggestions, the manager's card, and who may
see the raw replies behind it."""

from __future__ import annotations

from datetime import datetime, tzinfo

from cards.model import Button, Card
from cards.payload import pack
from handlers.common.calendar import local_day
from storage.models import Employee, ReplyAnalysis, RiskFlag

LABELS = {
    "burnout": "工作负荷过重",
    "attrition": "离职倾向",
    "resource": "资源不足",
    "conflict": "人际摩擦",
    "sentiment": "情绪持续走低",
}
RULE_TEXT = {
    "strong": "出现了明显信号",
    "repeated": "近期多次出现相关信号",
    "trend": "最近三次周复盘的情绪逐次走低",
}
SUGGESTIONS = {
    "burnout": "建议近期约一次简短的 1 对 1，一起梳理工作量和优先级，必要时调整排期或分担任务。",
    "attrition": "建议本周安排一次 1 对 1，先倾听 TA 的想法和顾虑（发展、认可、待遇），不急于表态。",
    "resource": "建议确认具体缺口（人手、预算、环境或时间），能协调的尽快协调，协调不了的同步上级。",
    "conflict": "建议分别听听相关同事的想法，关注是否有不公平感，必要时请 HRBP 协助沟通。",
    "sentiment": "建议找个轻松的时机聊聊近况，了解是否遇到困难，表达关心和支持。",
}
STATUS_TEXT = {"open": "待跟进", "acknowledged": "已跟进", "resolved": "已解决"}
SOURCE_TEXT = {"checkin": "周复盘", "visit": "拜访反馈", "manager": "主管记录", "chat": "聊天"}


def label(category: str) -> str:
    return LABELS.get(category, category)


def can_see_raw(viewer: Employee, subject: Employee) -> bool:
    """Raw replies are shown only to the employee's manager, their HRBP and HR."""
    return viewer.role == "hr" or viewer.id in (subject.manager_id, subject.hrbp_id)


def records(flag: RiskFlag) -> list[dict]:
    """The flag's evidence with an identical sentence listed once (its latest occurrence): what the
    care card, 「风险列表」 and 「风险详情」 all count and show."""
    latest: dict[object, dict] = {}
    for e in flag.evidence:
        key = e.get("text") or e.get("snippet") or e.get("analysis_id")
        latest.pop(key, None)
        latest[key] = e
    return list(latest.values())


def snippets(flag: RiskFlag, limit: int = 3) -> list[str]:
    out = [e.get("snippet", "") for e in flag.evidence if e.get("snippet")]
    return list(dict.fromkeys(out))[-limit:]


def care_card(flag: RiskFlag, subject: Employee, tz: tzinfo) -> Card:
    quotes = "、".join(f"「{s}」" for s in snippets(flag))
    body = f"{subject.name} {RULE_TEXT.get(flag.rule, '出现了信号')}：{label(flag.category)}。"
    if quotes and flag.category != "sentiment":
        body += f"\n相关表述：{quotes}"
    body += f"\n{SUGGESTIONS.get(flag.category, '')}"
    return Card(
        title=f"关怀提醒 · {subject.name}",
        body=body,
        fields=[("信号", label(flag.category)), ("相关记录", f"{len(records(flag))} 条"),
                ("发现于", local_day(flag.created_at, tz))],
        buttons=[Button("已跟进", pack("risk", "ack", flag.id)),
                 Button("已解决", pack("risk", "resolve", flag.id), "default")],
        footer=f"原话仅你、HRBP 和 HR 可见。发送「风险详情 {flag.id}」查看全部记录。",
    )


def closed_card(flag: RiskFlag, subject: Employee, handler: Employee | None, tz: tzinfo) -> Card:
    who = f" · {handler.name}" if handler else ""
    return care_card(flag, subject, tz).closed(f"{STATUS_TEXT[flag.status]}{who} {local_day(flag.updated_at, tz)}")


def detail_text(flag: RiskFlag, subject: Employee, rows: dict[int, ReplyAnalysis], tz: tzinfo) -> str:
    lines = [f"风险提醒 #{flag.id} · {subject.name} · {label(flag.category)}（{STATUS_TEXT[flag.status]}）"]
    for e in records(flag):
        row = rows.get(e.get("analysis_id") or -1)
        text = row.text if row else e.get("snippet", "")
        at = row.created_at if row else datetime.fromisoformat(e["at"])
        src = SOURCE_TEXT.get(row.source if row else e.get("source", ""), "")
        lines.append(f"· {local_day(at, tz)} {src}：{text}")
    lines.append(SUGGESTIONS.get(flag.category, ""))
    return "\n".join(lines)
