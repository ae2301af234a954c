"""Acknowledging and resolving flags, who may see raw replies, and the HR digest job."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from handlers.risk import record_reply
from storage.models import OutboxMessage, RiskFlag
from tests.conftest import texts


async def raise_attrition(chat, employee_id: str = "E101", text: str = "最近在看机会，已经开始投简历了。") -> RiskFlag:
    await record_reply(chat.bot.services, employee_id, text, "checkin", f"ci:{employee_id}:test")
    await chat.bot.drain()
    with chat.bot.db.session() as s:
        return s.execute(select(RiskFlag).where(RiskFlag.employee_id == employee_id)).scalar_one()


def read_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def status_of(chat, flag_id: int) -> str:
    with chat.bot.db.session() as s:
        return s.get(RiskFlag, flag_id).status


async def test_button_acknowledges_and_updates_the_card(chat):
    flag = await raise_attrition(chat)
    chat.seen("E100")
    card_no = chat.terminal.latest_card("E100")
    shown = await chat.press("E100", 1, card=card_no)
    assert status_of(chat, flag.id) == "acknowledged"
    updated = [s for s in shown if s.kind == "update_card"]
    assert updated and updated[0].card_no == card_no and "已跟进 · 王磊" in updated[0].text
    assert "谢谢你的关心" in texts(shown)
    with chat.bot.db.session() as s:
        assert s.get(RiskFlag, flag.id).handled_by == "E100"


async def test_resolve_by_command_and_repeat_is_harmless(chat):
    flag = await raise_attrition(chat)
    assert "已解决" in texts(await chat.say(f"解决风险 {flag.id}", as_="E003"))  # the HRBP
    assert status_of(chat, flag.id) == "resolved"
    assert "无需重复操作" in texts(await chat.say(f"跟进风险 {flag.id}", as_="E100"))
    assert status_of(chat, flag.id) == "resolved"


async def test_raw_replies_only_for_manager_hrbp_and_hr(chat):
    flag = await raise_attrition(chat)
    for allowed in ("E100", "E003", "E002"):  # manager, HRBP, HR
        assert "投简历" in texts(await chat.say(f"风险详情 {flag.id}", as_=allowed)), allowed
    for refused in ("E102", "E110", "E200", "E101"):  # peer, other team's manager, other dept, the employee
        shown = texts(await chat.say(f"风险详情 {flag.id}", as_=refused))
        assert "仅对其直属主管、HRBP 和 HR 开放" in shown and "投简历" not in shown, refused


async def test_others_cannot_acknowledge_and_nothing_changes(chat):
    flag = await raise_attrition(chat)
    assert "无法查看" in texts(await chat.say(f"跟进风险 {flag.id}", as_="E110"))
    assert "无法查看" in texts(await chat.say(f"解决风险 {flag.id}", as_="E102"))
    assert status_of(chat, flag.id) == "open"


async def test_flag_list_is_scoped(chat):
    await raise_attrition(chat)
    await raise_attrition(chat, "E201", "我想离职了。")
    mine = texts(await chat.say("风险列表", as_="E100"))
    assert "张伟" in mine and "冯磊" not in mine
    assert "张伟" in (hr := texts(await chat.say("风险列表", as_="E002"))) and "冯磊" in hr
    assert "无法查看" in texts(await chat.say("风险列表", as_="E102"))
    assert "没有待跟进" in texts(await chat.say("风险列表", as_="E300"))


async def test_digest_goes_to_every_hr_once_with_a_chart(chat):
    await raise_attrition(chat)
    await record_reply(chat.bot.services, "E201", "天天加班到凌晨，顶不住了。", "checkin", "ci:E201:x")
    await chat.bot.drain()
    for who in ("E100", "E200"):
        chat.seen(who)  # the care cards
    detail = await chat.run_job("risk_digest")
    assert "sent to 2 of 2 HR" in detail
    for hr in ("E002", "E003"):
        shown = chat.seen(hr)
        body = texts([s for s in shown if s.kind == "text"])
        assert "HR 风险周报" in body and "华东销售组" in body and "研发部" in body
        assert "离职倾向 1（张伟「" in body and "工作负荷过重 1（冯磊「" in body
        assert "周复盘提交率（2026-W47）：5/5（100%）" in body  # demo: everyone submitted last week
        [image] = [s for s in shown if s.kind == "image"]
        data = read_bytes(image.path)
        assert data.startswith(b"\x89PNG")
    for other in ("E100", "E200", "E101", "E001"):
        assert chat.seen(other) == []
    await chat.run_job("risk_digest")  # a second run in the same week sends nothing new
    assert chat.seen("E002") == [] and chat.seen("E003") == []
    with chat.bot.db.session() as s:
        keys = [k for k in s.execute(select(OutboxMessage.key).where(OutboxMessage.key.like("risk:digest:%"))).scalars()]
    assert sorted(keys) == ["risk:digest:E002:2026-W48", "risk:digest:E002:2026-W48:chart",
                            "risk:digest:E003:2026-W48", "risk:digest:E003:2026-W48:chart"]


async def test_digest_counts_new_flags_by_week(chat):
    await raise_attrition(chat)
    chat.clock.advance(days=7)
    await raise_attrition(chat, "E102", "我想离职。")
    await chat.run_job("risk_digest")
    body = texts(chat.seen("E002"))
    assert "近 7 天新增 1 条，此前 7 天 1 条" in body
    assert "待跟进：离职倾向 2" in body


def chart_data(path: str) -> dict:
    """The heat map's title, labels and values, as stored in the PNG's Description chunk."""
    with Image.open(path) as img:
        return json.loads(img.info["Description"])


async def test_digest_chart_counts_the_flags_the_text_counts_and_names_departments(chat):
    await raise_attrition(chat)  # 华东销售组, now a week before the digest
    chat.clock.advance(days=7)
    await raise_attrition(chat, "E102", "我想离职。")  # 华东销售组, this week
    await raise_attrition(chat, "E201", "我想离职了。")  # 研发部, this week
    await record_reply(chat.bot.services, "E202", "压力有点大。", "checkin", "ci:E202:x")  # a signal, no flag
    await chat.bot.drain()
    await chat.run_job("risk_digest")
    shown = chat.seen("E002")
    body = texts([s for s in shown if s.kind == "text"])
    [image] = [s for s in shown if s.kind == "image"]
    chart = chart_data(image.path)
    assert "新增风险提醒" in chart["title"]
    per_dept = {}  # department -> (new flags in the last 7 days, in the 7 days before), as the text says
    for section in body.split("▌")[1:]:
        m = re.search(r"· 新增：近 7 天 (\d+) / 此前 7 天 (\d+)", section)
        per_dept[section.split("\n")[0].strip()] = (int(m.group(1)), int(m.group(2)))
    assert per_dept["华东销售组"] == (1, 1) and per_dept["研发部"] == (1, 0)
    assert chart["rows"] == list(per_dept)  # department names, not D1…D6 codes
    for name, row in zip(chart["rows"], chart["values"], strict=True):
        assert (row[-1], row[-2]) == per_dept[name], name
    assert "图中部门编号" not in body
