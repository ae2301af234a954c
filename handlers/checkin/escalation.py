"""Reminders and escalations, computed by a periodic scan from stored timestamps (so a restart or a
missed scan loses nothing) and sent once each (outbox keys + the CheckIn bookkeeping columns).

Chain per check-in (hours from ``[policy]``, counted on workdays only, see handlers.common.calendar):
  pushed ─reminder_hours─▶ reminder to the employee (+ @ in the team group where a channel can)
         ─hrbp_escalation_hours─▶ message to the HRBP (+ email when SMTP is configured)
  submitted ─feedback_reminder_hours─▶ reminder to the manager ─feedback_hrbp_hours─▶ HRBP
A step is skipped if what it chases is done at scan time (answered / skipped / 已阅 or feedback given).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from bot.services import Services
from handlers.checkin import review as checkin_review
from handlers.checkin import store
from handlers.common.calendar import add_work_hours, local
from scheduler.registry import JobCtx, job, row_guard
from storage.models import CheckIn, Employee

log = logging.getLogger(__name__)
LOOKBACK = timedelta(days=30)
GROUP_FIELDS = {"wecom": "wecom_chat_id", "dingtalk": "dingtalk_conversation_id"}


def send_email_blocking(smtp, to: str, subject: str, body: str, key: str | None = None) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.sender, to, subject
    if key:  # the same notice always has the same Message-ID: mail systems show a repeat once
        domain = (smtp.sender.rpartition("@")[2] or "perfbot").strip(">")
        msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    msg.set_content(body)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as s:
        if smtp.username:
            s.starttls()
            s.login(smtp.username, smtp.password)
        s.send_message(msg)


async def email(services: Services, to: Employee, subject: str, body: str, key: str | None = None) -> bool:
    """E-mail a notice (at most once: callers record the notice as sent before calling; ``key``, the
    notice's outbox key, also fixes the Message-ID so a resend after a crash would be one mail)."""
    smtp = services.settings.smtp
    if not smtp.enabled or not to.email:
        return False
    try:
        await asyncio.to_thread(send_email_blocking, smtp, to.email, subject, body, key)
        return True
    except (OSError, smtplib.SMTPException):
        log.exception("email to %s failed (check [smtp] host/port/credentials); the chat message was sent", to.id)
        return False


async def group_mention(services: Services, emp: Employee, text: str, key: str) -> int:
    """@ the employee in their team group on every channel that supports group sends."""
    if emp.department_id is None:
        return 0
    dept = store.department(services.db, emp.department_id)
    sent = 0
    for name, ch in services.channels.items():
        chat_id = getattr(dept, GROUP_FIELDS.get(name, ""), None) if dept else None
        who = ch.recipient_for(emp)
        if not chat_id or not who or not getattr(ch, "supports_group_text", False):
            continue
        sent += await services.messenger.send_raw(name, chat_id, "group_text",
                                                  {"text": text, "mentions": [who]}, f"{key}:group:{name}")
    return sent


def _open_rows(services: Services, now: datetime) -> list[tuple[CheckIn, Employee]]:
    return store.pushed_since(services.db, now - LOOKBACK, ("pending", "answering", "submitted"))


def _still(services: Services, ci: CheckIn, statuses: tuple[str, ...]) -> CheckIn | None:
    """Re-read the check-in at send time; None if what we chase is already done."""
    fresh = store.get(services.db, ci.id)
    if fresh is None or fresh.status not in statuses:
        return None
    if fresh.status == "submitted" and (fresh.feedback_at or fresh.manager_seen_at):
        return None
    return fresh


async def scan(services: Services, now: datetime) -> dict[str, int]:
    pol, tz, cal = services.settings.policy, services.tz, services.settings.calendar
    counts = {"digests": await checkin_review.flush_pending(services, now), "reminders": 0, "hrbp": 0,
              "manager": 0, "feedback_hrbp": 0}
    to_hrbp: dict[tuple[str, str, str], list[tuple[CheckIn, Employee]]] = {}
    for ci, emp in _open_rows(services, now):
        async with row_guard(services, "escalation_scan", f"checkin:{ci.id}"):
            if ci.status in ("pending", "answering") and ci.pushed_at is not None:
                if ci.reminded_at is None and now >= add_work_hours(ci.pushed_at, pol.reminder_hours, tz, cal):
                    if _still(services, ci, ("pending", "answering")):
                        key = f"esc:checkin:{emp.id}:{ci.week}:reminder"
                        text = (f"{emp.name}，{ci.week} 的周复盘还没填哦～花 3 分钟写下成果、障碍和下周行动吧。"
                                "发送「填写周复盘」开始；本周休假请回复「跳过」。")
                        await services.messenger.send_text(emp, text, key)
                        await group_mention(services, emp, f"提醒：{ci.week} 周复盘还未填写，请抽 3 分钟完成～", key)
                        store.update(services.db, ci.id, reminded_at=now)
                        counts["reminders"] += 1
                if ci.hrbp_alerted_at is None and emp.hrbp_id and \
                        now >= add_work_hours(ci.pushed_at, pol.hrbp_escalation_hours, tz, cal):
                    to_hrbp.setdefault((emp.hrbp_id, "checkin", ci.week), []).append((ci, emp))
            elif ci.submitted_at is not None and emp.manager_id:
                if ci.feedback_reminded_at is None and \
                        now >= add_work_hours(ci.submitted_at, pol.feedback_reminder_hours, tz, cal):
                    if _still(services, ci, ("submitted",)):
                        await services.messenger.send_text(
                            emp.manager_id, f"{emp.name} 的 {ci.week} 周复盘（{local(ci.submitted_at, tz)} 提交）还在等你的反馈，"
                            "在卡片上点「已阅👍」或「写反馈」即可。", f"esc:feedback:{emp.id}:{ci.week}:manager")
                        store.update(services.db, ci.id, feedback_reminded_at=now)
                        counts["manager"] += 1
                if ci.feedback_hrbp_at is None and emp.hrbp_id and \
                        now >= add_work_hours(ci.submitted_at, pol.feedback_hrbp_hours, tz, cal):
                    to_hrbp.setdefault((emp.hrbp_id, "feedback", ci.week), []).append((ci, emp))
    for (hrbp_id, kind, week), items in sorted(to_hrbp.items()):
        states = ("pending", "answering") if kind == "checkin" else ("submitted",)
        items = [(fresh, e) for c, e in items if (fresh := _still(services, c, states)) is not None]
        if items:
            counts["hrbp" if kind == "checkin" else "feedback_hrbp"] += await _tell_hrbp(
                services, hrbp_id, kind, week, items, now)
    return counts


def _reminded(ci: CheckIn, now: datetime, services: Services) -> str:
    """Say what really happened to the employee's own reminder (it may have gone out in this same run)."""
    if ci.reminded_at is None:
        return "尚未提醒本人"
    if ci.reminded_at == now:
        return "本次已同时提醒本人"
    return f"{local(ci.reminded_at, services.tz)} 已提醒本人"


async def _tell_hrbp(services: Services, hrbp_id: str, kind: str, week: str,
                     items: list[tuple[CheckIn, Employee]], now: datetime) -> int:
    hrbp = store.employee(services.db, hrbp_id)
    if hrbp is None:
        return 0
    pol = services.settings.policy
    if kind == "checkin":
        head = f"以下同事 {week} 的周复盘推送后超过 {pol.hrbp_escalation_hours} 个工作小时仍未填写："
        lines = [f"· {e.name}（{e.id}，{_reminded(c, now, services)}）" for c, e in items]
        column = "hrbp_alerted_at"
    else:
        head = f"以下 {week} 周复盘提交后超过 {pol.feedback_hrbp_hours} 个工作小时，主管仍未反馈："
        managers = {e.manager_id: store.employee(services.db, e.manager_id) for _, e in items}
        lines = [f"· {e.name} → 主管 {getattr(managers.get(e.manager_id), 'name', e.manager_id)}" for _, e in items]
        column = "feedback_hrbp_at"
    ids = ",".join(sorted(e.id for _, e in items))
    digest = hashlib.sha1(ids.encode()).hexdigest()[:10]
    text = head + "\n" + "\n".join(lines) + "\n请关注并协助跟进，谢谢！"
    key = f"esc:{kind}:hrbp:{hrbp_id}:{week}:{digest}"
    await services.messenger.send_text(hrbp, text, key)
    fresh = [c for c, _ in items if getattr(store.get(services.db, c.id), column) is None]
    for c in fresh:  # recorded before the e-mail goes out: a crash in between loses the mail, never doubles it
        store.update(services.db, c.id, **{column: now})
    if fresh:
        await email(services, hrbp, f"[绩效助手] {week} 周复盘跟进提醒", text, key=key)
    return len(fresh)


@job("escalation_scan", cron_setting="escalation_scan_cron",
     description="周复盘提醒/HRBP 升级、主管反馈催办、主管汇总卡片（按存储的时间计算应发内容，每条只发一次）")
async def escalation_scan(jctx: JobCtx) -> str:
    counts = await scan(jctx.services, jctx.at)
    return ", ".join(f"{k}={v}" for k, v in counts.items())
