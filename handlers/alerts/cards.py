"""What an alert looks like to people: its headline, evidence (figures, trend, tasks), a suggested next
step, the alert card (确认 / 暂缓 / 详情) and the manager's battle map."""

from __future__ import annotations

from datetime import datetime, tzinfo

from cards.model import Button, Card
from cards.payload import pack
from handlers.common.calendar import local_day
from storage.models import Alert

RULE_TEXT = {
    "attainment": "目标达成预警",
    "baseline": "指标低于基线",
    "worklog": "工作日志未更新",
    "capacity": "工作负荷超限",
}
STATUS_TEXT = {"open": "待处理", "acknowledged": "已确认", "snoozed": "已暂缓", "cleared": "已解除"}
MAX_ON_MAP = 5


def pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def short_date(at: datetime, tz: tzinfo) -> str:
    return local_day(at, tz)


def icon(a: Alert) -> str:
    """🔴 red / 🟡 yellow, as the rule judged it (see handlers.alerts.rules)."""
    return "🔴" if a.evidence.get("color") == "red" else "🟡"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def headline(a: Alert) -> str:
    e = a.evidence
    who = e.get("who", "")
    if a.rule == "attainment":
        light = "红灯" if e.get("color") == "red" else "黄灯"
        return (f"{who}加权达成率 {pct(e['attainment'])}，时间进度 {pct(e['elapsed'])}，"
                f"进度比 {pct(e['ratio'])}（{light}）")
    if a.rule == "baseline":
        last = e["weeks"][-1]
        word = "低于" if e.get("higher_is_better", True) else "高于"
        return (f"{who}的「{e['goal']}」连续 {len(e['weeks'])} 周{word}基线 {pct(e['threshold'])} 以上："
                f"最近一周 {_num(last['value'])}{e.get('unit', '')}，基线 {_num(e['baseline'])}，"
                f"偏离 {pct(last['deviation'])}")
    if a.rule == "worklog":
        return f"{who}已连续 {int(a.figure)} 个自然月（{'、'.join(e['months'])}）没有工作日志，最近一次是 {e['last_log']}"
    if a.rule == "capacity":
        return (f"{who}本周（{e['week']}）到期的未完成任务共 {e['hours']:g} 小时，"
                f"占周产能 {e['capacity']:g} 小时的 {pct(e['load'])}")
    return who


def brief(a: Alert) -> str:
    """One short line per alert (the top of the battle map; WeCom shows only ~110 characters)."""
    e = a.evidence
    figure = {"attainment": lambda: f"进度比 {pct(e['ratio'])}",
              "baseline": lambda: f"低于基线 {pct(e['weeks'][-1]['deviation'])}",
              "worklog": lambda: f"{int(a.figure)} 个月无日志",
              "capacity": lambda: f"负荷 {pct(e['load'])}"}[a.rule]()
    return f"{icon(a)} #{a.id} {e.get('who', '')} {figure}"


def evidence_lines(a: Alert) -> list[str]:
    e = a.evidence
    lines: list[str] = []
    if a.rule == "attainment":
        for g in e.get("goals", [])[:3]:
            owner = f"（{g['owner']}）" if g.get("owner") else ""
            lines.append(f"· {g['title']}{owner}：达成 {pct(g['attainment'])} / 时间 {pct(g['elapsed'])}")
    elif a.rule == "baseline":
        lines.append("· 近两周：" + "；".join(f"{w['week']} {_num(w['value'])}（偏离 {pct(w['deviation'])}）"
                                          for w in e["weeks"]))
        if e.get("trend"):
            lines.append("· 走势：" + " → ".join(_num(t["value"]) for t in e["trend"]))
    elif a.rule == "capacity":
        for t in e.get("tasks", [])[:6]:
            hours = "未估时" if t.get("hours") is None else f"{t['hours']:g}h"
            lines.append(f"· {t['due'][5:]} {t['title']}（{hours}）")
        if len(e.get("tasks", [])) > 6:
            lines.append(f"· 另有 {len(e['tasks']) - 6} 项")
    hist = e.get("history", [])
    if a.rule in ("attainment", "capacity") and len(hist) >= 2:
        lines.append("· 趋势：" + " → ".join(pct(h["figure"]) for h in hist[-4:]))
    return lines


def suggestion(a: Alert) -> str:
    who = a.evidence.get("who", "")
    if a.rule == "attainment":
        if a.evidence.get("color") == "red":
            return "建议本周召开目标复盘会，逐项找出落后的关键结果，明确补救动作和负责人；目标确需变化可发起目标调整。"
        return "建议在周会上过一遍落后最多的目标，确认资源和节奏，避免滑向红灯。"
    if a.rule == "baseline":
        return f"建议与{who}一起看看最近两周的数据，找出下滑原因（客户、资源还是方法），约定一个小的改进动作。"
    if a.rule == "worklog":
        return f"建议提醒{who}补写近期工作日志；如果工作内容有变化，可以一起确认记录方式。"
    return f"建议与{who}一起排一排优先级：推迟、分派部分任务或调整截止日期，避免本周超负荷。"


def alert_card(a: Alert, tz: tzinfo) -> Card:
    body = "\n".join([headline(a), *evidence_lines(a), f"→ {suggestion(a)}"])
    return Card(
        title=f"{icon(a)} {RULE_TEXT[a.rule]} · {a.evidence.get('who', '')}",
        body=body,
        fields=[("编号", f"#{a.id}"), ("状态", STATUS_TEXT[a.status]), ("发现于", short_date(a.created_at, tz))],
        buttons=[Button("确认", pack("alr", "ack", a.id)), Button("暂缓", pack("alr", "snooze", a.id), "default"),
                 Button("详情", pack("alr", "detail", a.id), "default")],
        footer="「确认」表示已知悉并跟进；「暂缓」在暂缓期内不再提醒（情况恶化也不提醒）。发送「团队预警」查看全部。",
    )


def closed_card(a: Alert, by: str, tz: tzinfo) -> Card:
    if a.status == "snoozed" and a.snoozed_until is not None:
        state = f"已暂缓至 {short_date(a.snoozed_until, tz)}"
    else:
        state = STATUS_TEXT[a.status]
    when = short_date(a.cleared_at or a.updated_at, tz)
    return alert_card(a, tz).closed(f"{state}{' · ' + by if by else ''} {when}")


def detail_text(a: Alert, tz: tzinfo) -> str:
    e = a.evidence
    lines = [f"{RULE_TEXT[a.rule]} #{a.id} · {e.get('who', '')}（{STATUS_TEXT[a.status]}）", headline(a),
             *evidence_lines(a)]
    if a.rule == "attainment":
        for g in e.get("goals", [])[3:]:
            lines.append(f"· {g['title']}：达成 {pct(g['attainment'])} / 时间 {pct(g['elapsed'])}")
    if a.rule == "capacity" and e.get("unestimated"):
        lines.append(f"· 另有 {e['unestimated']} 项任务未估时，未计入")
    lines.append(f"首次发现 {short_date(a.created_at, tz)}，已提醒 {a.fired} 次。")
    lines.append(f"→ {suggestion(a)}")
    return "\n".join(lines)


def battle_map_card(name: str, alerts: list[Alert], snoozed: int, tz: tzinfo) -> Card:
    shown = alerts[:MAX_ON_MAP]
    blocks = []
    for a in shown:
        ev = evidence_lines(a)[:2]
        mark = "" if a.status == "open" else f"（{STATUS_TEXT[a.status]}）"
        blocks.append("\n".join([f"{icon(a)} #{a.id} {RULE_TEXT[a.rule]}{mark}：{headline(a)}", *ev,
                                 f"→ {suggestion(a)}"]))
    if len(alerts) > MAX_ON_MAP:
        blocks.append(f"另有 {len(alerts) - MAX_ON_MAP} 条，发送「预警详情 编号」查看。")
    if snoozed:
        blocks.append(f"另有 {snoozed} 条已暂缓。")
    red = sum(1 for a in alerts if icon(a) == "🔴")
    if len(shown) == 1:
        a = shown[0]
        buttons = [Button("确认", pack("alr", "ack", a.id)), Button("暂缓", pack("alr", "snooze", a.id), "default"),
                   Button("详情", pack("alr", "detail", a.id), "default")]
    else:
        ids = ".".join(str(a.id) for a in shown)
        buttons = [Button("全部确认", pack("alr", "ackall", ids)),
                   Button("全部暂缓", pack("alr", "snoozeall", ids), "default"),
                   Button("逐条查看", pack("alr", "each", ids), "default")]
    return Card(
        title=f"团队预警 · {name}",
        body="\n".join(brief(a) for a in shown) + "\n\n" + "\n\n".join(blocks),
        fields=[("待处理", f"{len(alerts)} 条"), ("红色", f"{red} 条")],
        buttons=buttons,
        footer="「逐条查看」会逐条发来预警卡片，可分别确认或暂缓；也可发送「确认预警 编号」「暂缓预警 编号」。",
    )
