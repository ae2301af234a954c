from __future__ import annotations

from handlers.common.goals import alignment, attainment, format_progress, goals_of
from storage.models import Goal


def test_alignment_chain_and_weighted_contribution(chat):
    db = chat.bot.db
    a = alignment(db, "G-E101")
    assert [g.id for g in a.chain] == ["G-E101", "G-D1", "G-C1"]
    # 1 of 9 equally weighted sales KPIs under G-D1; G-D1 weighs 0.7 of G-C1's 0.7 + 0.3
    assert abs(a.share - (1 / 9) * 0.7) < 1e-9
    assert a.text().startswith("你的工作对齐公司目标：2026年营收增长30%（贡献度 7.8%）")


def test_lower_is_better_and_missing_values():
    g = Goal(id="x", title="投诉数", target=5, current=10, unit="件", higher_is_better=False)
    assert attainment(g) == 0.5
    assert "越低越好" in format_progress(g)
    assert attainment(Goal(id="y", title="t", target=None, current=3)) is None


def test_cycle_in_goal_links_does_not_hang(db):
    with db.session() as s:
        s.add(Goal(id="A", title="A", parent_id="B"))
        s.add(Goal(id="B", title="B", parent_id="A"))
    a = alignment(db, "A")
    assert [g.id for g in a.chain] == ["A", "B"]
    assert goals_of(db, "nobody") == []
