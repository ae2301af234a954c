"""cards.wecom renders within WeCom's limits: every output passes the emulator's strict validation."""

from __future__ import annotations

import pytest

from cards.model import Button, Card, TagChoice, TagOption
from cards.payload import pack
from cards.wecom import render_markdown, render_template_card, task_id_for
from tests.emulators.wecom_cards import TASK_ID_RE, validate


def approval() -> Card:
    return Card(
        title="目标调整申请：张三 · 华东区季度签约额（2026 Q4）需要您审批",
        body="原因：大客户预算冻结，项目延期到明年一季度。",
        fields=[("申请人", "张三"), ("当前目标值", "20"), ("申请调整为", "18"), ("调整幅度", "-10%"),
                ("审批层级", "主管"), ("提交时间", "11-24 10:00"), ("备注", "第七个字段放进正文"),
                ("超长", "这个值非常非常非常非常非常非常非常非常非常非常长，放不进横向列表")],
        buttons=[Button("批准这个目标调整申请吧", pack("adj", "approve", 12), "primary"),
                 Button("驳回", pack("adj", "reject", 12), "danger")],
        footer="48 小时未处理将提醒 HRBP",
    )


def test_approval_card_fits_every_limit() -> None:
    out = render_template_card(approval(), "adj-12")
    assert validate(out) == "button_interaction"
    assert out["main_title"]["title"].endswith("…") and len(out["main_title"]["title"]) <= 26
    assert len(out["horizontal_content_list"]) <= 6
    assert "第七个字段" in out["sub_title_text"] or out["sub_title_text"].endswith("…")
    assert [b["text"] for b in out["button_list"]] == ["批准这个目标调整申…", "驳回"]
    assert [b["style"] for b in out["button_list"]] == [1, 3]
    assert out["button_list"][0]["key"] == "adj:approve:12:v1"


def test_tags_render_as_vote_interaction() -> None:
    options = [TagOption(f"t{i}", f"标签{i}号很长的名字啊啊") for i in range(25)]
    card = Card(title="拜访反馈", tags=TagChoice("visit_tags", options, selected=["t1"],
                                                 submit=Button("提交", pack("visit", "tags", "V0001"))))
    out = render_template_card(card, "visit-V0001")
    assert validate(out) == "vote_interaction"
    assert out["checkbox"]["mode"] == 1 and len(out["checkbox"]["option_list"]) == 20
    assert out["checkbox"]["option_list"][1]["is_checked"] is True
    assert out["submit_button"] == {"text": "提交", "key": "visit:tags:V0001:v1"}


def test_closed_card_shows_the_outcome_instead_of_buttons() -> None:
    out = render_template_card(approval().closed("已批准（王经理）"), "adj-12")
    validate(out)
    assert out["replace_text"] == "已批准（王经理）"
    assert all(b["key"].startswith("closed:") for b in out["button_list"])


def test_card_without_buttons_is_still_valid() -> None:
    out = render_template_card(Card(title="通知", body="本周复盘已收到"), "n-1")
    validate(out)


@pytest.mark.parametrize("key", ["wecom:msg:7301234567890123456:r1", "a" * 300, "checkin:push:E101:2026-W48",
                                 "plain_key-1@x", "中文:key"])
def test_task_id_is_legal_deterministic_and_distinct(key: str) -> None:
    tid = task_id_for(key)
    assert TASK_ID_RE.match(tid) and len(tid.encode()) <= 128
    assert tid == task_id_for(key)
    assert tid != task_id_for(key + "x")
    assert task_id_for("a:b") != task_id_for("a_b")


def test_markdown_fallback_is_bounded() -> None:
    md = render_markdown(approval())
    assert md.startswith("**目标调整申请") and "批准这个目标调整申请" in md
    big = Card(title="长", body="很长的正文。" * 1000)
    assert len(render_markdown(big).encode()) <= 2048
