"""No decision within approval_escalation_hours: the job hands the request to the director."""

from __future__ import annotations

from sqlalchemy import event

from tests.adjust.util import click, goal, requests
from tests.conftest import texts

SMALL = "申请把新客户签约数从24调到23，原因：华山医院采购预算冻结到明年"  # E103, 4.2%: manager E100


async def test_escalation_after_24_hours_moves_the_card_to_the_director(chat):
    await chat.say(SMALL, as_="E103")
    chat.seen("E103")
    [manager_card] = chat.seen("E100")
    [req] = requests(chat)
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 0"
    chat.clock.advance(hours=23, minutes=50)
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 0"
    chat.clock.advance(minutes=10)  # exactly 24 h
    assert await chat.run_job("adjust_escalation") == "escalated 1, reminded 0"

    [req] = requests(chat)
    assert (req.approver_id, req.escalated, req.escalated_at) == ("E090", True, chat.clock.now())
    shown = chat.seen("E100")
    assert shown[0].kind == "update_card" and shown[0].card_no == manager_card.card_no
    assert shown[0].card.state == "已升级至陈刚审批（超过 24 小时未处理）"
    assert "已转给陈刚审批" in texts(shown)
    [director_card] = chat.seen("E090")
    assert director_card.kind == "card" and "王磊超过 24 小时未处理，已升级由你审批" in director_card.text
    assert "已转给陈刚审批" in texts(chat.seen("E103"))

    # the job runs every 10 minutes: nothing happens twice
    chat.clock.advance(minutes=10)
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 0"
    assert chat.seen("E090") == [] and chat.seen("E100") == []

    # the manager's old card no longer counts; the director decides and every copy shows it
    assert "需由陈刚审批，你的操作未生效" in await click(chat, "E100", "approve", req.id)
    shown = await chat.press("E090", 1)
    assert shown[0].kind == "update_card" and shown[0].card.state.startswith("已批准 · 陈刚")
    manager_update, note = chat.seen("E100")
    assert manager_update.card_no == manager_card.card_no and manager_update.card.state.startswith("已批准")
    assert "陈刚已批准刘洋的目标调整申请" in note.text  # the manager hears the outcome
    assert goal(chat, "G-E103").target == 23


async def test_director_level_request_gets_one_reminder(chat):
    await chat.say("申请把新客户签约数目标从18调到17，原因：XX医院招标推迟到明年一季度", as_="E101")
    chat.clock.advance(hours=2)
    await chat.press("E100", 1)  # the manager's first approval; the director's clock starts now
    chat.seen("E090")
    chat.clock.advance(hours=23, minutes=50)
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 0"
    chat.clock.advance(hours=1, minutes=10)
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 1"
    assert "已等待超过 24 小时" in texts(chat.seen("E090"))
    chat.clock.advance(hours=1)
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 0"
    assert chat.seen("E090") == []
    assert requests(chat)[0].approver_id == "E090"


async def test_decided_requests_are_not_escalated(chat):
    await chat.say(SMALL, as_="E103")
    await chat.press("E100", 1)
    chat.clock.advance(hours=30)
    assert await chat.run_job("adjust_escalation") == "escalated 0, reminded 0"


async def test_the_job_is_registered_every_ten_minutes(chat):
    assert chat.bot.services.jobs["adjust_escalation"].cron_expr(chat.bot.services) == "*/10 * * * *"


async def test_an_escalated_card_looks_up_the_goals_tasks_by_index(chat):
    """The approval card lists the goal's open tasks; each escalation builds it (twice). Without an index
    on tasks.goal_id every card read the whole tasks table: 2,000 escalations in a 20,000-person
    organisation (60,000 tasks) took 134 s. The query plan must search an index, never scan the table."""
    await chat.say(SMALL, as_="E103")
    chat.clock.advance(hours=24)
    reads: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, *args) -> None:  # noqa: ANN001 - SQLAlchemy's hook signature
        if "FROM tasks" in statement:
            reads.append((statement, parameters))

    event.listen(chat.bot.db.engine, "before_cursor_execute", keep)
    try:
        assert await chat.run_job("adjust_escalation") == "escalated 1, reminded 0"
    finally:
        event.remove(chat.bot.db.engine, "before_cursor_execute", keep)
    assert reads, "the approval card no longer reads the goal's tasks: update this test"
    with chat.bot.db.engine.connect() as conn:
        for statement, parameters in reads:
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            assert not any(step.startswith("SCAN tasks") for step in plan), (statement, plan)
