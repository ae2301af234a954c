"""The alert jobs: ``alert_scan`` (Monday 8:00) runs the four rules and notifies what is new or worse;
``battle_map`` (Monday 8:30) sends each manager one card with their open alerts."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.services import Services
from handlers.alerts import rules, store
from handlers.alerts.cards import alert_card, battle_map_card, closed_card
from handlers.common.calendar import week_key, week_monday
from scheduler.registry import JobCtx, job
from storage.models import Alert


async def notify(services: Services, a: Alert) -> int:
    """The alert card to every recipient; keys name the episode's n-th notification, so a re-run
    of the same scan never sends twice."""
    card = alert_card(a, services.tz)
    sent = 0
    for rid in a.recipients:
        sent += await services.messenger.send_card(rid, card, f"alert:{a.id}:{a.fired}:{rid}", subject=f"alert:{a.id}")
    return sent


@job("alert_scan", cron_setting="alert_scan_cron",
     description="经营预警扫描：部门达成率、指标低于基线、工作日志、工作负荷")
async def alert_scan(jctx: JobCtx) -> str:
    services = jctx.services
    policy = services.settings.policy
    today = jctx.local_at.date()
    start = week_monday(today)
    snap = store.snapshot(services.db, rules.metrics_since(today, policy), start, start + timedelta(days=6))
    week = week_key(today)
    counts, notified, cleared = [], 0, 0
    for name, rule in rules.RULES.items():
        found = rule(snap, today, policy)
        for f in found:
            a, due = store.record(services.db, f, week, jctx.at)
            if due:
                await notify(services, a)
                notified += 1
        for a in store.clear_others(services.db, name, {f.subject for f in found}, jctx.at):
            await services.messenger.update_cards(f"alert:{a.id}", closed_card(a, "", services.tz),
                                                  f"alert:{a.id}:cleared")
            cleared += 1
        counts.append(f"{name} {len(found)}")
    return f"alerts {week}: {', '.join(counts)}; notified {notified}, cleared {cleared}"


def map_alerts(services: Services, manager_id: str, now: datetime, at_recipient: bool = False,
               ) -> tuple[list[Alert], int]:
    """(alerts to show, number snoozed as of ``now``) for a manager's battle map: the alerts they own,
    or with ``at_recipient`` every alert sent to them."""
    rows = store.active(services.db, recipient=manager_id) if at_recipient else \
        store.active(services.db, manager_id=manager_id)
    return split_snoozed(rows, now)


def split_snoozed(rows: list[Alert], now: datetime) -> tuple[list[Alert], int]:
    snoozed = [a for a in rows if a.status == "snoozed" and a.snoozed_until and a.snoozed_until > now]
    return [a for a in rows if a not in snoozed], len(snoozed)


@job("battle_map", cron_setting="battle_map_cron", description="主管团队预警作战图（每周一）")
async def battle_map(jctx: JobCtx) -> str:
    services = jctx.services
    week = week_key(jctx.local_at.date())
    by_manager: dict[str, list[Alert]] = {}
    for a in store.active(services.db):  # read once, in the map's order, and grouped here (not once per manager)
        if a.manager_id:
            by_manager.setdefault(a.manager_id, []).append(a)
    managers = sorted(by_manager)
    people = store.people(services.db, managers)
    sent = 0
    for mid in managers:
        emp = people.get(mid)
        alerts, snoozed = split_snoozed(by_manager[mid], jctx.at)
        if emp is None or not emp.active or not alerts:
            continue
        card = battle_map_card(emp.name, alerts, snoozed, services.tz)
        sent += await services.messenger.send_card(emp, card, f"alert:map:{mid}:{week}", subject=f"alertmap:{mid}")
    return f"battle map {week}: sent to {sent} of {len(managers)} managers"
