"""The manager's battle map: the Monday card and 「团队预警」, with evidence, a suggested next step and
buttons to acknowledge, snooze or go through the alerts one by one; plus the HR views of alerts."""

from __future__ import annotations

from datetime import timedelta

from handlers.alerts.report import alerts_report
from tests.alerts.scenarios import MONDAY, SCENARIOS
from tests.alerts.test_rules_chat import scan
from tests.conftest import TZ, texts

ATTAINMENT, BASELINE, WORKLOG, CAPACITY = SCENARIOS


def statuses(chat) -> dict[str, str]:
    return {a["who"]: a["status"] for a in alerts_report(chat.bot.db, TZ)["alerts"]}


async def test_monday_battle_map_lists_evidence_and_next_steps_once_a_week(chat) -> None:
    ATTAINMENT.worse(chat.bot.db)
    WORKLOG.mild(chat.bot.db)
    await scan(chat, MONDAY)
    chat.seen("E200")
    assert "sent to" in str(await chat.run_job("battle_map", MONDAY + timedelta(minutes=30)))
    [card] = [s for s in chat.seen("E200") if s.kind == "card"]
    assert "团队预警 · 郑强" in card.text
    assert "研发部加权达成率 32%" in card.text and "（红灯）" in card.text  # figures
    assert "研发部：版本按期交付率95%（郑强）：达成 32% / 时间 66%" in card.text  # evidence
    assert "彭飞已连续 2 个自然月（9月、10月）没有工作日志" in card.text
    assert "→ 建议本周召开目标复盘会" in card.text and "→ 建议提醒彭飞补写近期工作日志" in card.text
    assert "待处理：2 条" in card.text and "红色：1 条" in card.text
    # the same Monday again: no second card
    await chat.run_job("battle_map", MONDAY + timedelta(hours=1))
    assert [s for s in chat.seen("E200") if s.kind == "card"] == []
    # 逐条查看: each alert as its own card with its own buttons
    each = await chat.press("E200", 3, card=card.card_no)
    assert [s.kind for s in each] == ["card", "card"]
    assert all("[1] 确认" in s.text and "[2] 暂缓" in s.text for s in each)
    # 全部确认: both acknowledged, the map card closes
    out = await chat.press("E200", 1, card=card.card_no)
    assert "已确认 2 条预警" in texts(out)
    assert any(s.kind == "update_card" and "已全部确认" in s.text for s in out)
    assert statuses(chat)["研发部"] == statuses(chat)["彭飞"] == "acknowledged"


async def test_team_alerts_command_single_alert_detail_and_snooze_all(chat) -> None:
    assert "目前没有需要你处理的预警" in texts(await chat.say("团队预警", as_="E100"))
    BASELINE.mild(chat.bot.db)
    await scan(chat, MONDAY)
    chat.seen("E100")
    [card] = [s for s in await chat.say("团队预警", as_="E100") if s.kind == "card"]
    assert "指标低于基线" in card.text and "· 走势：100 → 100 → 82 → 80" in card.text
    assert "[1] 确认" in card.text and "[3] 详情" in card.text
    detail = texts(await chat.press("E100", 3, card=card.card_no))
    assert "基线 100" in detail and "已提醒 1 次" in detail and "确认预警" in detail
    # a person sees the capacity alert about themselves; snoozing all of them empties the map
    CAPACITY.mild(chat.bot.db)
    await scan(chat, MONDAY + timedelta(hours=1))
    chat.seen("E100")
    assert "张伟本周（2026-W49）到期的未完成任务共 34 小时" in texts(await chat.say("团队预警", as_="E101"))
    [card] = [s for s in await chat.say("团队预警", as_="E100") if s.kind == "card"]
    assert "待处理：2 条" in card.text
    out = texts(await chat.press("E100", 2, card=card.card_no))
    assert "已暂缓 7 天 2 条预警" in out
    assert "目前没有需要你处理的预警（另有 2 条已暂缓）" in texts(await chat.say("团队预警", as_="E100"))
    assert "目前没有需要你处理的预警（另有 1 条已暂缓）" in texts(await chat.say("团队预警", as_="E101"))


async def test_hr_digest_ends_with_the_open_alerts(chat) -> None:
    ATTAINMENT.mild(chat.bot.db)
    CAPACITY.worse(chat.bot.db)
    await scan(chat, MONDAY)
    await chat.run_job("risk_digest", MONDAY + timedelta(hours=1, minutes=30))
    digest = texts(chat.seen("E002"))
    report = alerts_report(chat.bot.db, TZ)["alerts"]
    red = sum(a["color"] == "red" for a in report)
    assert "【经营预警】" in digest and f"未解除 {len(report)} 条（红色 {red} 条）" in digest
    assert "研发部加权达成率 47%" in digest and "张伟本周（2026-W49）到期的未完成任务共 50 小时" in digest


async def test_the_demo_organisation_shows_each_kind_of_alert(chat) -> None:
    detail = await chat.run_job("alert_scan")  # as of the demo's "today"
    assert detail is not None and "attainment 1, baseline 1, worklog 1, capacity 1" in detail
    seen = {who: texts(chat.seen(who)) for who in ("E300", "E110", "E113")}
    assert "市场部加权达成率" in seen["E300"] and "宋佳已连续" in seen["E300"]
    assert "高洁的「新客户签约数」连续 2 周低于基线" in seen["E110"] and "罗斌本周" in seen["E110"]
    assert "华南区招标文件准备" in seen["E113"]


async def test_next_mondays_map_shows_the_trend_week_over_week(chat) -> None:
    ATTAINMENT.mild(chat.bot.db)  # 47% attained at 66% of the quarter: yellow
    await scan(chat, MONDAY)
    await chat.run_job("battle_map", MONDAY + timedelta(minutes=30))
    chat.seen("E200")
    # a week later nothing moved, so the pace ratio fell to 64% (still yellow: no new alert)
    await scan(chat, MONDAY + timedelta(weeks=1))
    assert [s for s in chat.seen("E200") if "目标达成预警" in s.text] == []
    await chat.run_job("battle_map", MONDAY + timedelta(weeks=1, minutes=30))
    [card] = [s for s in chat.seen("E200") if s.kind == "card"]
    assert "团队预警 · 郑强" in card.text and "· 趋势：71% → 64%" in card.text


async def test_the_monday_map_reads_the_alerts_once_for_all_managers(chat) -> None:
    # one read of the open alerts, grouped per manager (it read them all again for each manager:
    # 150 s of a jobs thread for 2,000 managers)
    from sqlalchemy import event

    for scenario in SCENARIOS:
        scenario.mild(chat.bot.db)
    await scan(chat, MONDAY)
    managers = {a["manager_id"] for a in alerts_report(chat.bot.db, TZ)["alerts"]} - {None}
    reads: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001 - SQLAlchemy's hook signature
        if "FROM alerts" in statement:
            reads.append(statement)

    event.listen(chat.bot.db.engine, "before_cursor_execute", count)
    try:
        out = str(await chat.run_job("battle_map", MONDAY + timedelta(minutes=30)))
    finally:
        event.remove(chat.bot.db.engine, "before_cursor_execute", count)
    assert len(managers) >= 2 and f"of {len(managers)} managers" in out
    assert len(reads) == 1
