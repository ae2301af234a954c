"""The demo company reads like a real one: people report their own kind of work."""

from __future__ import annotations

from sqlalchemy import select

from bot.demo import PEOPLE
from storage.models import CheckIn, MetricValue

RD_WORDS = ("联调", "压测", "单元测试", "需求评审", "设备对接", "版本")
SALES_WORDS = ("客户", "医院", "报价", "回款", "招标", "拜访")


async def test_sales_reps_report_sales_work_and_rd_reports_rd_work(chat):
    dept = {eid: d for eid, _n, d, *_ in PEOPLE}
    with chat.bot.db.session() as s:
        history = list(s.execute(select(CheckIn)).scalars())
    sales = [c for c in history if "销售" in dept[c.employee_id]]
    rd = [c for c in history if dept[c.employee_id] == "研发部"]
    assert sales and rd
    for c in sales:
        text = c.achievement + c.obstacle + c.next_action
        assert not any(w in text for w in RD_WORDS), (c.employee_id, text)
    for c in rd:
        text = c.achievement + c.obstacle + c.next_action
        assert not any(w in text for w in SALES_WORDS), (c.employee_id, text)


async def test_counted_goals_have_whole_number_history(chat):
    with chat.bot.db.session() as s:
        values = list(s.execute(select(MetricValue.value)).scalars())
    assert values and all(v == int(v) for v in values)
