"""Recording replies and the flag rules, through the real bot (terminal channel, demo organisation)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.risk import record_reply
from storage.models import ReplyAnalysis, RiskFlag
from tests.conftest import texts


def flags(chat, employee_id: str = "E101") -> list[RiskFlag]:
    with chat.bot.db.session() as s:
        return list(s.execute(select(RiskFlag).where(RiskFlag.employee_id == employee_id)
                              .order_by(RiskFlag.id)).scalars())


async def record(chat, text: str, ref: str, employee_id: str = "E101", source: str = "checkin") -> None:
    await record_reply(chat.bot.services, employee_id, text, source, ref)
    await chat.bot.drain()


async def test_attrition_raises_a_flag_and_the_manager_gets_a_care_card(chat):
    await record(chat, "最近在看机会，已经开始投简历了。", "ci:E101:W48")
    [flag] = flags(chat)
    assert (flag.category, flag.rule, flag.status) == ("attrition", "strong", "open")
    shown = chat.seen("E100")
    assert len(shown) == 1 and shown[0].kind == "card"
    assert "张伟" in shown[0].text and "离职倾向" in shown[0].text and "1 对 1" in shown[0].text
    assert "已跟进" in shown[0].text
    assert chat.seen("E101") == []  # the employee is not told


async def test_recording_is_idempotent_per_ref(chat):
    await record(chat, "我想离职了。", "ci:E101:W48:a")
    await record(chat, "我想离职了。", "ci:E101:W48:a")
    with chat.bot.db.session() as s:
        assert len(list(s.execute(select(ReplyAnalysis).where(ReplyAnalysis.ref == "ci:E101:W48:a")).scalars())) == 1
    assert len(flags(chat)) == 1
    assert len(chat.seen("E100")) == 1


async def test_severe_burnout_raises_a_flag_mild_burnout_once_does_not(chat):
    await record(chat, "最近压力有点大。", "ci:E102:1", employee_id="E102")  # severity 2 < 3
    assert flags(chat, "E102") == []
    await record(chat, "天天加班到凌晨，身体快垮了。", "ci:E103:1", employee_id="E103")  # severity 3
    [flag] = flags(chat, "E103")
    assert (flag.category, flag.rule) == ("burnout", "strong")


async def test_severity_threshold_comes_from_policy(chat):
    chat.bot.services.settings.policy.alert_min_severity = 2
    await record(chat, "最近压力有点大。", "ci:E102:1", employee_id="E102")
    assert [f.category for f in flags(chat, "E102")] == ["burnout"]


async def test_repeated_signals_within_the_window_raise_a_flag(chat):
    await record(chat, "人手不够，需求排不过来。", "ci:E104:1", employee_id="E104")
    assert flags(chat, "E104") == []
    chat.clock.advance(days=10)
    await record(chat, "还是缺人，测试环境也没有。", "ci:E104:2", employee_id="E104")
    [flag] = flags(chat, "E104")
    assert (flag.category, flag.rule) == ("resource", "repeated")
    assert len(flag.evidence) == 2
    assert "资源不足" in texts(chat.seen("E100"))


async def test_signals_further_apart_than_the_window_do_not(chat):
    await record(chat, "人手不够，需求排不过来。", "ci:E104:1", employee_id="E104")
    chat.clock.advance(days=15)
    await record(chat, "还是缺人。", "ci:E104:2", employee_id="E104")
    assert flags(chat, "E104") == []


async def test_falling_sentiment_over_three_checkins(chat):
    replies = ["本周新签两家客户，很开心，团队配合很好！", "进展一般，有些事情推不动。", "很失望，方案又被否了，心累。"]
    for i, text in enumerate(replies):
        await record(chat, text, f"ci:E105:{i}", employee_id="E105")
        chat.clock.advance(days=7)
    [flag] = flags(chat, "E105")
    assert (flag.category, flag.rule) == ("sentiment", "trend")
    assert len(flag.evidence) == 3
    assert "情绪持续走低" in texts(chat.seen("E100"))


async def test_no_trend_flag_when_sentiment_rises(chat):
    replies = ["很失望，方案又被否了。", "进展一般。", "本周新签两家客户，很开心！"]
    for i, text in enumerate(replies):
        await record(chat, text, f"ci:E105:{i}", employee_id="E105")
        chat.clock.advance(days=7)
    assert flags(chat, "E105") == []


async def test_negated_and_customer_owned_risks_raise_nothing(chat):
    await record(chat, "压力不大，也没有离职的想法，挺好的。", "ci:E101:n1")
    await record(chat, "客户说人手不够，想外包。", "v:E101:n2", source="visit")
    await record(chat, "对接人离职了，需要重新建立联系。", "v:E101:n3", source="visit")
    assert flags(chat) == []
    assert chat.seen("E100") == []


async def test_manager_note_about_an_employee_flags_that_employee(chat):
    await record(chat, "小张提出离职，正在挽留，先安排好交接。", "fb:E100:E102:1", employee_id="E102",
                 source="manager")
    [flag] = flags(chat, "E102")
    assert flag.category == "attrition"
    assert "李娜" in texts(chat.seen("E100"))


async def test_open_flag_absorbs_new_evidence_instead_of_a_second_card(chat):
    await record(chat, "我想离职。", "ci:E101:1")
    chat.clock.advance(days=8)  # next ISO week, the flag is still open
    await record(chat, "猎头在联系我，在看机会。", "ci:E101:2")
    [flag] = flags(chat)
    assert len(flag.evidence) >= 2
    shown = chat.seen("E100")  # one card, updated in place with the new count
    assert [s.kind for s in shown] == ["card", "update_card"] and "相关记录：2 条" in shown[-1].text


async def test_same_week_dedup_key_after_resolution(chat):
    await record(chat, "我想离职。", "ci:E101:1")
    [flag] = flags(chat)
    shown = await chat.say(f"解决风险 {flag.id}", as_="E100")
    assert "已解决" in texts(shown)
    await record(chat, "还是想离职。", "ci:E101:2")
    [again] = flags(chat)  # same employee, category and ISO week: absorbed, no new flag or card
    assert again.id == flag.id and again.status == "resolved"
    assert chat.seen("E100") == []
    chat.clock.advance(days=7)
    await record(chat, "想离职，已经拿到offer了。", "ci:E101:3")
    assert [f.status for f in flags(chat)] == ["resolved", "open"]


async def test_parts_of_one_checkin_count_as_one_reply(chat):
    await record(chat, "人手不够，需求排不过来。", "checkin:77:achievement", employee_id="E104")
    await record(chat, "还是缺人。", "checkin:77:obstacle", employee_id="E104")
    assert flags(chat, "E104") == []
    chat.clock.advance(days=7)
    await record(chat, "测试环境也没有，缺人。", "checkin:78:obstacle", employee_id="E104")
    [flag] = flags(chat, "E104")
    assert (flag.category, flag.rule) == ("resource", "repeated")


async def test_card_list_and_detail_count_the_same_records_and_list_a_sentence_once(chat):
    await record(chat, "我想离职了。", "checkin:7:obstacle")
    chat.clock.advance(days=2)
    await record(chat, "我想离职了。", "checkin:7:obstacle:r2")  # the same sentence, revised check-in
    await record(chat, "在看机会，准备投简历。", "ci:E101:chat")
    [flag] = flags(chat)
    cards = [s for s in chat.seen("E100") if s.kind in ("card", "update_card")]
    latest = cards[-1].text  # the care card as the manager sees it now
    assert "相关记录：2 条" in latest, latest
    listed = texts(await chat.say("风险列表", as_="E100"))
    assert f"#{flag.id} 张伟 · 离职倾向（待跟进，2 条记录）" in listed
    detail = texts(await chat.say(f"风险详情 {flag.id}", as_="E100"))
    assert detail.count("我想离职了。") == 1 and detail.count("投简历") == 1
