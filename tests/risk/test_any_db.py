"""The risk and Q&A paths on both databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.risk import record_reply
from storage.models import RiskFlag, Task
from tests.conftest import texts


async def test_flag_ack_digest_and_answers_on_any_db(chat_any_db):
    chat = chat_any_db
    await record_reply(chat.bot.services, "E101", "最近在看机会，已经开始投简历了。", "checkin", "ci:E101:any")
    await record_reply(chat.bot.services, "E101", "最近在看机会，已经开始投简历了。", "checkin", "ci:E101:any")
    await chat.bot.drain()
    with chat.bot.db.session() as s:
        [flag] = list(s.execute(select(RiskFlag)).scalars())
        open_tasks = [t.title for t in s.execute(select(Task).where(Task.owner_id == "E101")).scalars()
                      if t.status in ("todo", "doing") and t.due_date and t.due_date.month == 11]
    assert "离职倾向" in texts(chat.seen("E100"))
    assert "谢谢你的关心" in texts(await chat.press("E100", 1))
    assert "投简历" in texts(await chat.say(f"风险详情 {flag.id}", as_="E003"))
    assert "无法查看" in texts(await chat.say(f"风险详情 {flag.id}", as_="E102"))
    await chat.run_job("risk_digest")
    assert "离职倾向 1（张伟「" in texts(chat.seen("E002"))
    answer = texts(await chat.say("张伟本月还有哪些任务", as_="E100"))
    assert all(t in answer for t in open_tasks)
    assert "只能告诉你自己的情况" in texts(await chat.say("张伟本月还有哪些任务", as_="E102"))
