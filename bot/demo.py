"""A realistic demo organisation, written as CSV files and loaded through the real importer,
plus a few weeks of history (check-ins, feedback, visit notes, points)."""

from __future__ import annotations

import csv
import random
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

from bot.config import Settings
from storage import seed
from storage.db import Database
from storage.importer import COLUMNS, import_path

COMPANY = "星海医疗科技"
# (id, name, department, manager, role, hrbp)
PEOPLE = [
    ("E001", "林志远", COMPANY, "", "admin", ""),
    ("E002", "周敏", "人力资源部", "E001", "hr", ""),
    ("E003", "吴婷", "人力资源部", "E002", "hr", ""),
    ("E090", "陈刚", "销售部", "E001", "manager", "E003"),
    ("E100", "王磊", "华东销售组", "E090", "manager", "E003"),
    ("E101", "张伟", "华东销售组", "E100", "employee", "E003"),
    ("E102", "李娜", "华东销售组", "E100", "employee", "E003"),
    ("E103", "刘洋", "华东销售组", "E100", "employee", "E003"),
    ("E104", "赵敏", "华东销售组", "E100", "employee", "E003"),
    ("E105", "孙浩", "华东销售组", "E100", "employee", "E003"),
    ("E110", "黄丽", "华南销售组", "E090", "manager", "E003"),
    ("E111", "马超", "华南销售组", "E110", "employee", "E003"),
    ("E112", "高洁", "华南销售组", "E110", "employee", "E003"),
    ("E113", "罗斌", "华南销售组", "E110", "employee", "E003"),
    ("E114", "许静", "华南销售组", "E110", "employee", "E003"),
    ("E200", "郑强", "研发部", "E001", "manager", "E003"),
    ("E201", "冯磊", "研发部", "E200", "employee", "E003"),
    ("E202", "曹雪", "研发部", "E200", "employee", "E003"),
    ("E203", "彭飞", "研发部", "E200", "employee", "E003"),
    ("E204", "曾颖", "研发部", "E200", "employee", "E003"),
    ("E205", "谢涛", "研发部", "E200", "employee", "E003"),
    ("E206", "韩梅", "研发部", "E200", "employee", "E003"),
    ("E300", "何静", "市场部", "E001", "manager", "E002"),
    ("E301", "邓超", "市场部", "E300", "employee", "E002"),
    ("E302", "梁爽", "市场部", "E300", "employee", "E002"),
    ("E303", "宋佳", "市场部", "E300", "employee", "E002"),
]
DEPARTMENTS = [
    (COMPANY, "", "E001"), ("人力资源部", COMPANY, "E002"), ("销售部", COMPANY, "E090"),
    ("华东销售组", "销售部", "E100"), ("华南销售组", "销售部", "E110"), ("研发部", COMPANY, "E200"),
    ("市场部", COMPANY, "E300"),
]
CUSTOMERS = ["仁和医院", "华山医院", "协和医疗集团", "安康药业", "博爱医院", "瑞金医院", "同济医院", "康泰诊所"]
TASKS = {
    "sales": ["准备{c}投标材料", "跟进{c}采购流程", "整理{c}需求清单", "安排{c}产品演示", "回款催收：{c}"],
    "rd": ["完成订单模块接口联调", "修复压测发现的性能问题", "编写设备对接文档", "评审新版本需求", "补充单元测试"],
    "mkt": ["策划{c}学术会议", "更新产品宣传册", "整理线索转化数据", "准备行业展会物料"],
    "other": ["整理季度绩效数据", "组织季度复盘会", "更新培训计划"],
}
# Past check-ins by kind of work (four each: the demo history draws the same picks whatever the kind).
CHECKINS = {
    "sales": [
        ("完成了{c}的方案汇报，客户反馈积极。", "报价审批流程较慢。", "推动{c}进入商务谈判。"),
        ("本周新签1家客户，回款30万。", "无明显障碍。", "跟进两家意向客户。"),
        ("{c}产品演示顺利，科室主任认可。", "客户预算审批还没下来。", "约{c}采购科确认招标时间。"),
        ("拜访了3家医院，收集到2条新需求。", "竞品报价低，客户在比价。", "准备{c}的报价方案。"),
    ],
    "rd": [
        ("接口联调完成，测试通过率98%。", "测试环境不稳定，影响进度。", "完成压测并修复问题。"),
        ("修复了压测发现的3个性能问题。", "需求变更频繁，排期被打乱。", "完成设备对接文档评审。"),
        ("新版本需求评审完成。", "无明显障碍。", "补齐订单模块单元测试。"),
        ("设备对接文档初稿完成。", "联调依赖的设备还没到位。", "和硬件组确认设备到货时间。"),
    ],
    "mkt": [
        ("完成了展会物料准备。", "设计资源紧张，排期排不上。", "确认展位布置方案。"),
        ("{c}学术会议议程确定。", "讲者时间还没敲定。", "发出会议邀请函。"),
        ("产品宣传册更新完成。", "无明显障碍。", "整理本月线索转化数据。"),
        ("本周新增有效线索40条。", "部分线索质量不高。", "和销售对齐线索分配规则。"),
    ],
}


def _kind(dept: str) -> str:
    return "sales" if "销售" in dept else "rd" if dept == "研发部" else "mkt" if dept == "市场部" else "other"


def quarter_bounds(d: date) -> tuple[date, date]:
    q0 = (d.month - 1) // 3 * 3 + 1
    start = date(d.year, q0, 1)
    end = date(d.year + (q0 == 10), 1 if q0 == 10 else q0 + 3, 1) - timedelta(days=1)
    return start, end


def build_csvs(folder: Path, today: date, tz) -> None:
    rnd = random.Random(20261124)
    qs, qe = quarter_bounds(today)
    rows: dict[str, list[list[object]]] = {name: [] for name in COLUMNS}
    rows["departments"] = [list(d) for d in DEPARTMENTS]
    for eid, name, dept, mgr, role, hrbp in PEOPLE:
        rows["employees"].append([eid, name, dept, mgr, role, hrbp, f"wx_{eid.lower()}", f"dt_{eid.lower()}",
                                  40, f"{eid.lower()}@example.com"])
    g = rows["goals"]
    g.append(["G-C1", f"{today.year}年营收增长30%", "company", "objective", "E001", COMPANY, "", 1, 30, 21, "%",
              qs, qe, "true"])
    g.append(["G-C2", "客户满意度达到90分", "company", "objective", "E001", COMPANY, "", 1, 90, 86, "分", qs, qe, "true"])
    g.append(["G-D1", "销售部：新客户签约200家", "department", "key_result", "E090", "销售部", "G-C1", 0.7, 200, 124,
              "家", qs, qe, "true"])
    g.append(["G-D2", "研发部：版本按期交付率95%", "department", "key_result", "E200", "研发部", "G-C2", 0.6, 95, 88,
              "%", qs, qe, "true"])
    g.append(["G-D3", "市场部：有效线索800条", "department", "key_result", "E300", "市场部", "G-C1", 0.3, 800, 520,
              "条", qs, qe, "true"])
    parent = {"sales": "G-D1", "rd": "G-D2", "mkt": "G-D3"}
    for eid, _name, dept, _mgr, role, _ in PEOPLE:
        kind = _kind(dept)
        if kind == "other" or role != "employee":
            continue
        if kind == "sales":
            target = rnd.choice([18, 20, 24])
            g.append([f"G-{eid}", "新客户签约数", "individual", "kpi", eid, dept, parent[kind], 1, target,
                      round(target * rnd.uniform(0.35, 0.8)), "家", qs, qe, "true"])
        elif kind == "rd":
            g.append([f"G-{eid}", "需求按期交付数", "individual", "kpi", eid, dept, parent[kind], 1, 12,
                      rnd.randint(5, 10), "个", qs, qe, "true"])
        else:
            g.append([f"G-{eid}", "有效线索数", "individual", "kpi", eid, dept, parent[kind], 1, 200,
                      rnd.randint(90, 170), "条", qs, qe, "true"])
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    n = 1
    for eid, _name, dept, _mgr, role, _ in PEOPLE:
        kind = _kind(dept)
        titles = rnd.sample(TASKS[kind], k=min(4, len(TASKS[kind])))
        for i, title in enumerate(titles):
            due = today + timedelta(days=rnd.randint(-20, 25))
            due = min(due, month_end) if i % 2 == 0 else due
            status = "done" if due < today and rnd.random() < 0.6 else rnd.choice(["todo", "doing"])
            goal = f"G-{eid}" if role == "employee" and kind != "other" else ""
            rows["tasks"].append([f"T{n:04d}", eid, title.format(c=rnd.choice(CUSTOMERS)), due, status, goal,
                                  rnd.choice([2, 4, 8, 16])])
            n += 1
    v = 1
    for eid, _name, dept, _mgr, role, _ in PEOPLE:
        if _kind(dept) != "sales" or role != "employee":
            continue
        for k in range(4):
            ended = datetime.combine(today - timedelta(days=3 + 4 * k), time(15, 30), tz)
            rows["visits"].append([f"V{v:04d}", eid, rnd.choice(CUSTOMERS), ended.strftime("%Y-%m-%d %H:%M")])
            v += 1
    for goal_row in g:
        if goal_row[2] != "individual":
            continue
        cur = float(goal_row[9])
        for w in range(4, 0, -1):
            # Every individual goal counts things (家/个/条): whole numbers only.
            rows["metrics"].append([goal_row[0], today - timedelta(days=7 * w), round(cur * (1 - 0.12 * w))])
    for eid, _name, dept, *_ in PEOPLE[3:12]:
        for d in range(1, 4):
            rows["worklogs"].append([eid, today - timedelta(days=d), f"{rnd.choice(TASKS[_kind(dept)])}".format(
                c=rnd.choice(CUSTOMERS))])
    _alert_examples(rows, today)
    folder.mkdir(parents=True, exist_ok=True)
    for name, cols in COLUMNS.items():
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            w.writerows(rows[name])


def _alert_examples(rows: dict[str, list[list[object]]], today: date) -> None:
    """Data that makes each early-warning rule fire on the demo's "today" (job ``alert_scan``):
    市场部 behind its time (yellow), 高洁's signings below their 3-month baseline two weeks running,
    宋佳 without a work log since three months ago, 罗斌's week over capacity."""
    for goal in rows["goals"]:
        if goal[0] == "G-D3":
            goal[9] = 330
    cur = next(float(g[9]) for g in rows["goals"] if g[0] == "G-E112")
    for w in range(5, 13):
        rows["metrics"].append(["G-E112", today - timedelta(days=7 * w), round(cur * 1.3)])
    for d in (100, 107, 114):
        rows["worklogs"].append(["E303", today - timedelta(days=d), "整理线索转化数据"])
    monday = today - timedelta(days=today.weekday())
    for i, (title, hours) in enumerate([("华南区招标文件准备", 16), ("安康药业合同评审", 16), ("季度回款对账", 6)]):
        rows["tasks"].append([f"T9{i + 1:03d}", "E113", title, monday + timedelta(days=2 + i), "doing", "G-E113", hours])


def seed_history(db: Database, today: date, tz) -> None:
    """Past check-ins, manager feedback, visit notes and points (idempotent)."""
    employees = [(eid, mgr) for eid, _name, _dept, mgr, role, _ in PEOPLE if role == "employee"]
    phrases = {eid: CHECKINS[_kind(dept)] for eid, _name, dept, *_ in PEOPLE if _kind(dept) in CHECKINS}
    seed.history(db, today, tz, employees, [p[0] for p in PEOPLE[5:14]], phrases, CUSTOMERS)


def seed_demo(db: Database, settings: Settings, export_dir: Path | None = None, today: date | None = None) -> str:
    tz = settings.schedule.tz
    today = today or datetime.now(tz).date()
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_dir or Path(tmp)
        build_csvs(folder, today, tz)
        report = import_path(db, folder, tz)
    if report.errors:
        raise RuntimeError("demo data failed to import:\n" + report.summary())
    seed_history(db, today, tz)
    return f"{COMPANY}：{len(PEOPLE)} 名员工、{len(DEPARTMENTS)} 个部门已导入（{report.summary()}）"
