"""Understanding replies: analyse and store every free-text reply, raise HR risk flags, send the
manager a care card, and let managers/HR acknowledge or resolve flags.

Other features call :func:`record_reply` after a check-in answer, a visit note or a manager's note
(for a manager's note about an employee, ``employee_id`` is that employee).
"""

from __future__ import annotations

import logging
import re

from bot.context import Ctx
from bot.events import CardAction, TextMessage
from bot.router import Router
from bot.services import Services
from cards.payload import Action
from handlers.risk import rules
from handlers.risk import store as risk
from handlers.risk.cards import STATUS_TEXT, can_see_raw, care_card, closed_card, detail_text, label, records
from nlp.analyze import SOURCES, analyze
from storage import employees
from storage.models import Employee, ReplyAnalysis, RiskFlag

log = logging.getLogger(__name__)
router = Router("risk")

NOT_ALLOWED = "抱歉，员工的原话和风险提醒仅对其直属主管、HRBP 和 HR 开放，你暂时无法查看。"
NOT_FOUND = "没有找到这条风险提醒，请检查编号。"


async def record_reply(services: Services, employee_id: str, text: str, source: str,
                       ref: str, raised: list[RiskFlag] | None = None) -> ReplyAnalysis | None:
    """Analyse one reply, store it once per ``ref`` and apply the flag rules; returns the stored
    analysis (the earlier one when ``ref`` was recorded before; None for blank text or an unknown
    employee). ``services`` may also be a handler's ``Ctx`` (its services are used). Flags this reply
    raised (their care cards are on the way) are appended to ``raised``, so a reply to the employee
    can promise only what really happens."""
    rows = await record_replies(services, employee_id, [(text, source, ref)], raised)
    return rows[0]


async def record_replies(services: Services, employee_id: str, items: list[tuple[str, str, str]],
                         raised: list[RiskFlag] | None = None) -> list[ReplyAnalysis | None]:
    """:func:`record_reply` for several replies of one employee at once, ``(text, source, ref)``
    each, in order (the three parts of a check-in): the same result as recording them one by one,
    with one read (what was stored before under these refs and the employee's recent analyses) and
    one insert instead of one of each per reply."""
    services = getattr(services, "services", services)
    out: list[ReplyAnalysis | None] = [None] * len(items)
    todo = [i for i, (text, _s, _r) in enumerate(items) if text and text.strip()]
    if not todo:
        return out
    now = services.now()
    policy = rules.Rules.from_policy(services.settings.policy)
    known = risk.analyses_context(services.db, employee_id, [items[i][2] for i in todo], now, policy,
                                  any(items[i][1] == "checkin" for i in todo))  # before these replies
    for i in todo:
        out[i] = known.by_ref.get(items[i][2])
    todo = [i for i in todo if out[i] is None and items[i][2] not in {items[j][2] for j in todo if j < i}]
    if not todo:
        return out
    emp = services.employee(employee_id)
    if emp is None:
        log.warning("record_reply %s: unknown employee %r; reply not analysed", items[todo[0]][2], employee_id)
        return out
    new: list[ReplyAnalysis] = []
    for i in todo:
        text, source, ref = items[i]
        result = await services.compute(analyze, text, source if source in SOURCES else "checkin")
        new.append(risk.new_analysis(
            employee_id=employee_id, source=source, ref=ref, text=text, sentiment=result.sentiment,
            score=result.score, created_at=now,
            risks=[{"category": r.category, "evidence": r.evidence, "start": r.start, "end": r.end,
                    "severity": r.severity} for r in result.risks]))
    recent, history = known.recent, known.history
    if not risk.save_analyses(services.db, new):  # the same replies were recorded concurrently
        return [out[i] if i not in todo else risk.get_analysis(services.db, items[i][2]) for i in range(len(items))]
    touched: dict[int, tuple[RiskFlag, bool]] = {}  # flag id -> (newest state, created by these replies)
    for n, (i, row) in enumerate(zip(todo, new, strict=True)):
        out[i] = row
        hist = [*reversed([r for r in new[: n + 1] if r.source == "checkin"]), *history][:risk.HISTORY]
        for category, rule, evidence in rules.evaluate(row, [*recent, *new[: n + 1]], hist, policy, services.tz):
            flag, created = risk.raise_flag(services.db, employee_id, category, rule, evidence, now, services.tz)
            touched[flag.id] = (flag, touched.get(flag.id, (flag, False))[1] or created)
            if created:
                log.info("risk flag #%s raised for %s: %s (%s)", flag.id, employee_id, category, rule)
    for flag, created in touched.values():  # cards after every rule, so they show all records
        if not created:
            await refresh_card(services, flag, emp)
            continue
        await notify_manager(services, flag, emp)
        if raised is not None:
            raised.append(flag)
    return out


async def notify_manager(services: Services, flag: RiskFlag, emp: Employee) -> None:
    """The care card goes to the employee's manager (their HRBP when they have no manager)."""
    to = emp.manager_id or emp.hrbp_id
    if not to:
        log.warning("risk flag #%s: %s has neither manager nor HRBP; HR sees it in the digest", flag.id, emp.id)
        return
    await services.messenger.send_card(to, care_card(flag, emp, services.tz), f"risk:card:{flag.id}",
                                       subject=f"risk:{flag.id}", at_commit=True)


async def refresh_card(services: Services, flag: RiskFlag, emp: Employee) -> None:
    """A flag still being followed up that absorbed new records: the delivered care card shows the
    new count, as 「风险列表」 does (no-op when nothing changed: the key names the count and status).
    A resolved flag's card keeps the state it was closed with."""
    if flag.status == "resolved":
        return
    if flag.status == "open":
        card = care_card(flag, emp, services.tz)
    else:
        by = employees.get(services.db, flag.handled_by) if flag.handled_by else None
        card = closed_card(flag, emp, by, services.tz)
    await services.messenger.update_cards(f"risk:{flag.id}", card,
                                          f"risk:card:{flag.id}:r{len(records(flag))}:{flag.status}")


# -- handling flags -----------------------------------------------------------------------------
def _load(ctx: Ctx, flag_id: int) -> tuple[RiskFlag | None, Employee | None]:
    flag = risk.get_flag(ctx.db, flag_id)
    if flag is None:
        return None, None
    return flag, employees.get(ctx.db, flag.employee_id)


async def _handle(ctx: Ctx, flag_id: int, status: str) -> None:
    flag, subject = _load(ctx, flag_id)
    if flag is None or subject is None:
        await ctx.reply(NOT_FOUND)
        return
    if not can_see_raw(ctx.employee, subject):
        await ctx.reply(NOT_ALLOWED)
        return
    flag, changed = risk.set_status(ctx.db, flag_id, status, ctx.employee.id, ctx.now())
    if flag is None:  # deleted meanwhile
        await ctx.reply(NOT_FOUND)
        return
    if not changed:
        await ctx.reply(f"这条提醒当前状态为「{STATUS_TEXT[flag.status]}」，无需重复操作。")
        return
    await ctx.update_cards(f"risk:{flag.id}", closed_card(flag, subject, ctx.employee, ctx.services.tz))
    if status == "acknowledged":
        await ctx.reply(f"已记录：你已跟进{subject.name}的情况，谢谢你的关心。问题解决后可发送「解决风险 {flag.id}」。")
    else:
        await ctx.reply(f"已将{subject.name}的「{label(flag.category)}」提醒标记为已解决。")


@router.action("risk", "ack", args=(int,))
async def on_ack_button(ctx: Ctx, event: CardAction, action: Action, flag_id: int) -> None:
    await _handle(ctx, flag_id, "acknowledged")


@router.action("risk", "resolve", args=(int,))
async def on_resolve_button(ctx: Ctx, event: CardAction, action: Action, flag_id: int) -> None:
    await _handle(ctx, flag_id, "resolved")


@router.pattern(r"^\s*(?:已?跟进|确认)风险\s*#?\s*(\d+)\s*$")
async def on_ack_command(ctx: Ctx, msg: TextMessage) -> bool | None:
    return await _by_number(ctx, msg, "acknowledged")


@router.pattern(r"^\s*(?:已?解决|关闭)风险\s*#?\s*(\d+)\s*$")
async def on_resolve_command(ctx: Ctx, msg: TextMessage) -> bool | None:
    return await _by_number(ctx, msg, "resolved")


async def _by_number(ctx: Ctx, msg: TextMessage, status: str) -> bool | None:
    """「确认风险 12」/「解决风险 12」: the flag number typed instead of pressing the button."""
    m = re.search(r"(\d+)", msg.text)
    if m is None:
        return False
    await _handle(ctx, int(m.group(1)), status)
    return None


@router.pattern(r"^\s*风险详情\s*#?\s*(\d+)\s*$")
async def on_detail(ctx: Ctx, msg: TextMessage) -> bool | None:
    m = re.search(r"(\d+)", msg.text)
    if m is None:
        return False
    flag, subject = _load(ctx, int(m.group(1)))
    if flag is None or subject is None:
        await ctx.reply(NOT_FOUND)
        return
    if not can_see_raw(ctx.employee, subject):
        log.info("risk detail #%s refused for %s", flag.id, ctx.employee.id)
        await ctx.reply(NOT_ALLOWED)
        return
    rows = risk.analyses_by_id(ctx.db, [e["analysis_id"] for e in flag.evidence if e.get("analysis_id")])
    await ctx.reply(detail_text(flag, subject, rows, ctx.services.tz))


@router.command("风险列表", "风险提醒", "关怀提醒", "团队风险")
async def on_list(ctx: Ctx, msg: TextMessage) -> None:
    me = ctx.employee
    people = risk.people_in_care_of(ctx.db, me)
    if me.role not in ("hr", "manager") and not people:
        await ctx.reply(NOT_ALLOWED)
        return
    flags = risk.open_flags(ctx.db, list(people) if me.role != "hr" else None)
    if not flags:
        await ctx.reply("目前没有待跟进的风险提醒。")
        return
    lines = [f"待跟进的风险提醒（{len(flags)} 条）："]
    for f in flags:
        name = people[f.employee_id].name if f.employee_id in people else f.employee_id
        lines.append(f"· #{f.id} {name} · {label(f.category)}（{STATUS_TEXT[f.status]}，{len(records(f))} 条记录）")
    lines.append("发送「风险详情 编号」查看原话，「跟进风险 编号」或「解决风险 编号」更新状态。")
    await ctx.reply("\n".join(lines))
