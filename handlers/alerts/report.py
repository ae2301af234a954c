"""Alerts for HR: ``python -m bot report alerts [--json]`` and the section of the weekly HR risk digest.

JSON: ``{"alerts": [{"id", "rule", "subject", "who", "level", "color", "figure", "status",
"summary", "manager_id", "recipients", "employee_id", "department_id", "fired", "created_at",
"last_fired_at", "snoozed_until"}], "counts": {rule: n}, "text"}`` — active alerts, worst first."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, tzinfo
from typing import Any

from handlers.alerts import store
from handlers.alerts.cards import RULE_TEXT, STATUS_TEXT, headline, icon, short_date
from storage.db import Database
from storage.models import Alert

RULE_ORDER = tuple(RULE_TEXT)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _row(a: Alert) -> dict[str, Any]:
    return {"id": a.id, "rule": a.rule, "subject": a.subject, "who": a.evidence.get("who", ""), "level": a.level,
            "color": a.evidence.get("color", "yellow"),
            "figure": round(a.figure, 4), "status": a.status, "summary": headline(a), "manager_id": a.manager_id,
            "recipients": a.recipients, "employee_id": a.employee_id, "department_id": a.department_id,
            "fired": a.fired, "created_at": _iso(a.created_at), "last_fired_at": _iso(a.last_fired_at),
            "snoozed_until": _iso(a.snoozed_until)}


def alerts_report(db: Database, tz: tzinfo) -> dict[str, Any]:
    alerts = store.active(db)
    counts = Counter(a.rule for a in alerts)
    lines = [f"未解除的预警 {len(alerts)} 条：" + "，".join(f"{RULE_TEXT[r]} {counts[r]}" for r in RULE_ORDER)]
    for a in alerts:
        state = STATUS_TEXT[a.status]
        if a.status == "snoozed" and a.snoozed_until:
            state += f"至{short_date(a.snoozed_until, tz)}"
        lines.append(f"{icon(a)} #{a.id} {RULE_TEXT[a.rule]} · {a.evidence.get('who', '')}（{state}，"
                     f"已提醒 {a.fired} 次）：{headline(a)}")
    return {"alerts": [_row(a) for a in alerts], "counts": {r: counts[r] for r in RULE_ORDER},
            "text": "\n".join(lines)}


def digest_section(db: Database, at: datetime, tz: tzinfo, limit: int = 6) -> str:
    """The alerts part of the HR digest: open alerts by rule, the worst ones, recoveries this week."""
    alerts = [a for a in store.active(db) if a.created_at <= at]
    cleared = [a for a in store.recently_cleared(db, at - timedelta(days=7)) if a.cleared_at and a.cleared_at <= at]
    if not alerts and not cleared:
        return ""
    counts = Counter(a.rule for a in alerts)
    red = sum(1 for a in alerts if icon(a) == "🔴")
    lines = ["\n\n【经营预警】",
             f"未解除 {len(alerts)} 条（红色 {red} 条）："
             + "，".join(f"{RULE_TEXT[r]} {counts[r]}" for r in RULE_ORDER if counts[r]) if alerts else "未解除 0 条",
             ]
    for a in alerts[:limit]:
        lines.append(f"· {icon(a)} #{a.id} {headline(a)}（{STATUS_TEXT[a.status]}）")
    if len(alerts) > limit:
        lines.append(f"· 另有 {len(alerts) - limit} 条，见 `python -m bot report alerts`")
    if cleared:
        lines.append(f"近 7 天解除 {len(cleared)} 条。")
    return "\n".join(lines)
