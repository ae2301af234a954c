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
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage

from bot.services import Services
from handlers.checkin import review as checkin_review
from handlers.checkin import store
from handlers.common.calendar import add_work_hours, local
from scheduler.registry import JobCtx, job
from storage.models import CheckIn, Department, Employee

log = logging.getLogger(__name__)
LOOKBACK = timedelta(days=30)
NOTICE_NAMES = 50  # people named in one HRBP notice; the rest are counted by department
NOTICE_DEPARTMENTS = 10  # departments named in that count
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


async def group_mention(services: Services, emp: Employee, text: str, key: str,
                        depts: dict[int, Department] | None = None) -> int:
    """@ the employee in their team group on every channel that supports group sends (``depts``: the
    departments already read, by id; else the employee's is looked up)."""
    if emp.department_id is None:
        return 0
    dept = depts.get(emp.department_id) if depts is not None else store.department(services.db, emp.department_id)
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


def _is_still(fresh: CheckIn, statuses: tuple[str, ...]) -> bool:
    """What we chase is not done yet: the check-in (re-read at send time) is still in ``statuses``
    and, once submitted, the manager has neither given feedback nor marked it seen."""
    if fresh.status not in statuses:
        return False
    return not (fresh.status == "submitted" and (fresh.feedback_at or fresh.manager_seen_at))


def _still_many(services: Services, rows: Sequence[tuple[CheckIn, Employee]],
                statuses: tuple[str, ...]) -> list[tuple[CheckIn, Employee]]:
    """The rows whose check-in still needs chasing, re-read in one query, as stored now."""
    stored = store.get_many(services.db, [ci.id for ci, _ in rows if ci.id is not None])
    still = []
    for ci, emp in rows:
        fresh = stored.get(ci.id or 0)
        if fresh is not None and _is_still(fresh, statuses):
            still.append((fresh, emp))
    return still


async def _remind(services: Services, rows: Sequence[tuple[CheckIn, Employee]], now: datetime) -> int:
    """Remind the employees of these unanswered check-ins (and @ them in their team group), all in
    the caller's transaction: one re-read, the messages, one update."""
    rows = _still_many(services, rows, ("pending", "answering"))
    depts = store.departments(services.db, {e.department_id for _, e in rows if e.department_id is not None})
    for ci, emp in rows:
        key = f"esc:checkin:{emp.id}:{ci.week}:reminder"
        text = (f"{emp.name}，{ci.week} 的周复盘还没填哦～花 3 分钟写下成果、障碍和下周行动吧。"
                "发送「填写周复盘」开始；本周休假请回复「跳过」。")
        await services.messenger.send_text(emp, text, key)
        await group_mention(services, emp, f"提醒：{ci.week} 周复盘还未填写，请抽 3 分钟完成～", key, depts)
    store.mark_many(services.db, [ci.id for ci, _ in rows if ci.id is not None], reminded_at=now)
    return len(rows)


async def _nudge_managers(services: Services, rows: Sequence[tuple[CheckIn, Employee]], now: datetime) -> int:
    """Remind the managers of these submitted check-ins that their feedback is due: one message per
    manager and week, naming every report still waiting (not one message per report)."""
    rows = _still_many(services, rows, ("submitted",))
    tz = services.tz
    groups: dict[tuple[str, str], list[tuple[CheckIn, Employee]]] = {}
    for ci, emp in rows:
        groups.setdefault((emp.manager_id or "", ci.week), []).append((ci, emp))
    for (manager_id, week), group in groups.items():
        if len(group) == 1:
            ci, emp = group[0]
            await services.messenger.send_text(
                manager_id, f"{emp.name} 的 {week} 周复盘（{local(ci.submitted_at, tz)} 提交）还在等你的反馈，"
                "在卡片上点「已阅👍」或「写反馈」即可。", f"esc:feedback:{emp.id}:{week}:manager")
            continue
        names = "\n".join(f"· {emp.name}（{local(ci.submitted_at, tz)} 提交）" for ci, emp in group)
        digest = hashlib.sha1(",".join(sorted(e.id for _, e in group)).encode()).hexdigest()[:10]
        await services.messenger.send_text(
            manager_id, f"以下 {len(group)} 位同事 {week} 的周复盘还在等你的反馈：\n{names}\n"
            "在各自的卡片上点「已阅👍」或「写反馈」即可。", f"esc:feedback:manager:{manager_id}:{week}:{digest}")
    store.mark_many(services.db, [ci.id for ci, _ in rows if ci.id is not None], feedback_reminded_at=now)
    return len(rows)


async def scan(jctx: JobCtx) -> dict[str, int]:
    """One run of the chain as of ``jctx.at``. The employees' and managers' reminders go out in
    chunks (``JobCtx.in_chunks``: one transaction per chunk, a bad row skipped and noted), so a
    Monday with thousands of reminders due costs a few transactions, not four per person."""
    services, now = jctx.services, jctx.at
    pol, tz, cal = services.settings.policy, services.tz, services.settings.calendar
    counts = {"digests": await checkin_review.flush_pending(jctx), "reminders": 0, "hrbp": 0,
              "manager": 0, "feedback_hrbp": 0}
    reminders: list[tuple[CheckIn, Employee]] = []
    nudges: list[tuple[CheckIn, Employee]] = []
    to_hrbp: dict[tuple[str, str, str], list[tuple[CheckIn, Employee]]] = {}
    for ci, emp in _open_rows(services, now):
        if ci.status in ("pending", "answering") and ci.pushed_at is not None:
            if ci.reminded_at is None and now >= add_work_hours(ci.pushed_at, pol.reminder_hours, tz, cal):
                reminders.append((ci, emp))
            if ci.hrbp_alerted_at is None and emp.hrbp_id and \
                    now >= add_work_hours(ci.pushed_at, pol.hrbp_escalation_hours, tz, cal):
                to_hrbp.setdefault((emp.hrbp_id, "checkin", ci.week), []).append((ci, emp))
        elif ci.submitted_at is not None and emp.manager_id:
            if ci.feedback_reminded_at is None and \
                    now >= add_work_hours(ci.submitted_at, pol.feedback_reminder_hours, tz, cal):
                nudges.append((ci, emp))
            if ci.feedback_hrbp_at is None and emp.hrbp_id and \
                    now >= add_work_hours(ci.submitted_at, pol.feedback_hrbp_hours, tz, cal):
                to_hrbp.setdefault((emp.hrbp_id, "feedback", ci.week), []).append((ci, emp))

    def row_key(row: tuple[CheckIn, Employee]) -> str:
        return f"checkin:{row[0].id}"

    counts["reminders"] = await jctx.in_chunks(reminders, lambda rows: _remind(services, rows, now), key=row_key)
    nudges.sort(key=lambda row: (row[1].manager_id or "", row[0].week, row[1].name))  # a manager's reports together
    counts["manager"] = await jctx.in_chunks(nudges, lambda rows: _nudge_managers(services, rows, now), key=row_key)
    for (hrbp_id, kind, week), items in sorted(to_hrbp.items()):
        async with jctx.row(f"hrbp:{hrbp_id}:{kind}:{week}"):
            items = _still_many(services, items, ("pending", "answering") if kind == "checkin" else ("submitted",))
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
    items = sorted(items, key=lambda it: (it[1].department_id or 0, it[1].name, it[1].id))  # team by team
    pol = services.settings.policy
    if kind == "checkin":
        head = f"以下同事 {week} 的周复盘推送后超过 {pol.hrbp_escalation_hours} 个工作小时仍未填写："
        lines = [f"· {e.name}（{e.id}，{_reminded(c, now, services)}）" for c, e in items]
        column = "hrbp_alerted_at"
    else:
        head = f"以下 {week} 周复盘提交后超过 {pol.feedback_hrbp_hours} 个工作小时，主管仍未反馈："
        managers = {m: store.employee(services.db, m) for m in {e.manager_id for _, e in items if e.manager_id}}
        lines = [f"· {e.name} → 主管 {getattr(managers.get(e.manager_id), 'name', e.manager_id)}" for _, e in items]
        column = "feedback_hrbp_at"
    ids = ",".join(sorted(e.id for _, e in items))
    digest = hashlib.sha1(ids.encode()).hexdigest()[:10]
    text = head + "\n" + "\n".join(_cut(services, lines, items, kind)) + "\n请关注并协助跟进，谢谢！"
    key = f"esc:{kind}:hrbp:{hrbp_id}:{week}:{digest}"
    # Recorded (in the same transaction as the message) before the e-mail goes out: a crash in
    # between loses the mail, never doubles it.
    with services.db.unit_of_work():
        await services.messenger.send_text(hrbp, text, key)
        stored = store.get_many(services.db, [c.id for c, _ in items if c.id is not None])
        fresh = [c for c, _ in items if (row := stored.get(c.id or 0)) is not None and getattr(row, column) is None]
        store.mark_many(services.db, [c.id for c in fresh if c.id is not None], **{column: now})
    if fresh:
        await email(services, hrbp, f"[绩效助手] {week} 周复盘跟进提醒", text, key=key)
    return len(fresh)


def _cut(services: Services, lines: list[str], items: list[tuple[CheckIn, Employee]], kind: str) -> list[str]:
    """At most NOTICE_NAMES people named; the rest counted by department (on a bad Tuesday in a large
    organisation an HRBP would otherwise get hundreds of lines, several messages long)."""
    if len(lines) <= NOTICE_NAMES:
        return lines
    rest = [e for _, e in items[NOTICE_NAMES:]]
    names = {d.id: d.name for d in store.departments(
        services.db, {e.department_id for e in rest if e.department_id is not None}).values()}
    by_dept = Counter(names.get(e.department_id or 0, "未分配部门") for e in rest)
    counts = "、".join(f"{d} {n} 人" for d, n in by_dept.most_common(NOTICE_DEPARTMENTS))
    more = "等" if len(by_dept) > NOTICE_DEPARTMENTS else ""
    where = "。发送「我们组谁还没交周报」可按团队查看全部名单" if kind == "checkin" else ""
    return [*lines[:NOTICE_NAMES], f"……另有 {len(rest)} 人（{counts}{more}）{where}。"]


@job("escalation_scan", cron_setting="escalation_scan_cron",
     description="周复盘提醒/HRBP 升级、主管反馈催办、主管汇总卡片（按存储的时间计算应发内容，每条只发一次）")
async def escalation_scan(jctx: JobCtx) -> str:
    counts = await scan(jctx)
    return ", ".join(f"{k}={v}" for k, v in counts.items())
