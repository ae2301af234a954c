"""retention_sweep: finished records go after the retention period; nothing still to send or still
guarding against a duplicate goes with them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.models import InboundEvent, OutboxMessage


def counts(db) -> dict[str, int]:
    with db.session() as s:
        out = {"inbound": s.execute(select(func.count()).select_from(InboundEvent)).scalar_one()}
        for status, n in s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)):
            out[status] = n
        return out


async def test_finished_records_are_removed_after_the_period_and_the_rest_kept(chat_any_db):
    chat = chat_any_db
    db = chat.bot.db
    event = chat.terminal.text_event("E101", "帮助")
    await chat.bot.dispatcher.submit(event, wait=True)
    await chat.bot.drain()
    assert chat.seen("E101")  # the help reply went out
    with db.session() as s:  # a message parked after a long outage: still to be sent, never removed
        s.add(OutboxMessage(key="parked:1", channel="terminal", recipient="E102", kind="text",
                            payload={"text": "x"}, status="parked", next_attempt_at=chat.clock.now()))
    before = counts(db)
    assert before["inbound"] >= 1 and before["sent"] >= 1 and before["parked"] == 1

    # Within the period (90 days by default) nothing goes, and a redelivery is still a duplicate.
    detail = await chat.run_job("retention_sweep", chat.clock.now() + timedelta(days=89))
    assert counts(db) == before and "发件 0 条" in detail
    assert not await chat.bot.dispatcher.submit(event)

    detail = await chat.run_job("retention_sweep", chat.clock.now() + timedelta(days=91))
    after = counts(db)
    assert after.get("sent", 0) == 0 and after["inbound"] == 0 and after["parked"] == 1
    assert f"发件 {before['sent']} 条（保留 90 天）" in detail and f"收件 {before['inbound']} 条" in detail
