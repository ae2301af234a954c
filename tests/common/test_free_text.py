"""Free text that is neither a command nor a flow answer: questions are answered, venting is met with care."""

from __future__ import annotations

from tests.conftest import texts


async def test_question_about_the_target_is_answered_not_consoled(chat):
    out = texts(await chat.say("我离目标还差多少？", as_="E101"))
    assert "辛苦" not in out and "不太顺" not in out
    assert out.strip()


async def test_venting_still_gets_care(chat):
    out = texts(await chat.say("连续三周加班到半夜，真的撑不住了", as_="E101"))
    assert "辛苦了" in out


async def test_short_acknowledgement_gets_no_care(chat):
    for ack in ("就这样", "好的", "收到", "👌"):
        out = texts(await chat.say(ack, as_="E101"))
        assert "辛苦" not in out and "不太顺" not in out, ack
