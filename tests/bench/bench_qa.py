"""Q&A benchmark and NLP figures in one command: ``python -m tests.bench.bench_qa``.

Builds a store of 10,000 employees and 1,000,000 tasks (plus goals, feedback, check-ins and points)
in a temporary SQLite file (or ``--url`` of an EMPTY database, e.g. PostgreSQL), then times answering
each intent for random employees — parse the question, check who it is about, read the store and
write the answer, exactly what a user waits for — and prints ms per answer (p50/p99; target < 20 ms).
Finally prints the NLP evaluation figures on the shared dev sets.

Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from handlers.qa import store as queries
from handlers.qa.answers import ANSWERS, Ask
from nlp.intent import parse_question
from storage.db import Database, open_database
from storage.models import CheckIn, Department, Employee, Feedback, Goal, PointsEntry, Task

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 24)
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
QUESTIONS = {
    "tasks_left": "本月还有哪些任务没完成",
    "last_feedback": "上次反馈提到的改进建议是什么",
    "goal_progress": "我的KPI完成多少了",
    "goal_alignment": "我的工作对齐哪个公司目标",
    "points": "我的积分排第几",
    "checkin_status": "上周写了什么",
}
SURNAMES = "王李张刘陈杨黄赵吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂玉萍红娥玲芬燕彬鹏华飞鑫波宁琳晨"


def _chunks(rows: list[dict], n: int = 20000):
    for i in range(0, len(rows), n):
        yield rows[i:i + n]


def _insert(db: Database, table, rows: list[dict]) -> None:
    # executemany compiles the statement from the FIRST row's keys: a key missing there is silently
    # dropped from every row (goals were inserted without owner, parent and department that way).
    keys = {k for r in rows for k in r}
    rows = [{k: r.get(k) for k in keys} for r in rows]
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for chunk in _chunks(rows):
            conn.execute(insert(table), chunk)


def build(db: Database, employees: int, tasks: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    per_dept = 100
    n_dept = max(1, employees // per_dept)
    _insert(db, Department.__table__, [{"id": 1, "name": "公司"}] + [
        {"id": d + 2, "name": f"部门{d + 1:03d}", "parent_id": 1} for d in range(n_dept)])
    emps = []
    for i in range(employees):
        d = i // per_dept
        is_mgr = i % per_dept == 0
        name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
        emps.append({"id": f"E{i:05d}", "name": name, "department_id": min(d, n_dept - 1) + 2,
                     "manager_id": None if is_mgr else f"E{d * per_dept:05d}",
                     "role": "manager" if is_mgr else "employee", "weekly_capacity_hours": 40.0, "active": True})
    _insert(db, Employee.__table__, emps)
    qs, qe = date(2026, 10, 1), date(2026, 12, 31)
    goals = [{"id": f"G-C{c}", "title": f"公司目标{c}", "level": "company", "kind": "objective", "weight": 1.0,
              "target": 100.0, "current": 60.0, "unit": "%", "period_start": qs, "period_end": qe,
              "higher_is_better": True, "version": 1} for c in range(1, 6)]
    goals += [{"id": f"G-D{d}", "title": f"部门目标{d}", "level": "department", "kind": "key_result",
               "parent_id": f"G-C{d % 5 + 1}", "department_id": d + 2, "weight": rnd.choice((0.2, 0.3, 0.5)), "target": 200.0,
               "current": 120.0, "unit": "家", "period_start": qs, "period_end": qe, "higher_is_better": True,
               "version": 1} for d in range(n_dept)]
    goals += [{"id": f"G-{e['id']}", "title": "新客户签约数", "level": "individual", "kind": "kpi",
               "owner_id": e["id"], "parent_id": f"G-D{e['department_id'] - 2}", "department_id": e["department_id"],
               "weight": 1.0,
               "target": 20.0, "current": float(rnd.randint(3, 18)), "unit": "家", "period_start": qs,
               "period_end": qe, "higher_is_better": True, "version": 1} for e in emps]
    _insert(db, Goal.__table__, goals)
    statuses = ["done"] * 10 + ["cancelled"] + ["todo"] * 5 + ["doing"] * 4
    per_emp = max(1, tasks // employees)
    task_rows = []
    for k in range(tasks):
        owner = emps[k // per_emp % employees]["id"]
        task_rows.append({"id": f"T{k:07d}", "owner_id": owner, "title": f"任务{k}",
                          "due_date": TODAY + timedelta(days=rnd.randint(-180, 90)),
                          "status": rnd.choice(statuses), "goal_id": f"G-{owner}", "estimated_hours": 4.0})
        if len(task_rows) >= 100_000:
            _insert(db, Task.__table__, task_rows)
            task_rows = []
    _insert(db, Task.__table__, task_rows)
    base = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    fb, ci, pts = [], [], []
    for e in emps:
        for w in range(1, 13):
            at = base - timedelta(weeks=w)
            y, wk, _ = (TODAY - timedelta(weeks=w)).isocalendar()
            ci.append({"employee_id": e["id"], "week": f"{y}-W{wk:02d}", "status": "submitted",
                       "achievement": "完成方案汇报", "obstacle": "审批较慢", "next_action": "推进谈判",
                       "pushed_at": at, "submitted_at": at})
            if w <= 5:
                fb.append({"employee_id": e["id"], "author_id": e["manager_id"] or "E00000",
                           "text": "推进扎实。建议风险更早暴露。", "created_at": at + timedelta(days=1)})
        for p in range(rnd.randint(0, 20)):
            pts.append({"employee_id": e["id"], "delta": 1, "reason": "拜访反馈", "ref": f"b:{e['id']}:{p}",
                        "created_at": base - timedelta(days=p)})
    _insert(db, CheckIn.__table__, ci)
    _insert(db, Feedback.__table__, fb)
    _insert(db, PointsEntry.__table__, pts)
    if db.is_sqlite:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def answer_once(db: Database, emp: Employee, intent: str) -> str:
    """What the chat handler does for one question, minus the transport."""
    text = QUESTIONS[intent]
    q = parse_question(text, TODAY, known_names=())
    queries.employees_named_in(db, text)  # the "is this about a colleague?" check
    return ANSWERS[intent](Ask(db, emp, q.period, TODAY, TZ))


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def bench(db: Database, samples: int, employees: int) -> dict[str, tuple[float, float]]:
    rnd = random.Random(11)
    ids = [f"E{rnd.randrange(employees):05d}" for _ in range(samples)]
    with db.session() as s:
        people = [s.get(Employee, i) for i in ids]
    for intent in QUESTIONS:  # warm up (imports, jieba, statement caches)
        answer_once(db, people[0], intent)
    times: dict[str, list[float]] = {intent: [] for intent in QUESTIONS}
    for emp in people:  # intents interleaved, so a burst of load on the machine hits them all alike
        for intent in QUESTIONS:
            t0 = time.perf_counter()
            answer_once(db, emp, intent)
            times[intent].append((time.perf_counter() - t0) * 1000)
    return {intent: (statistics.median(xs), pct(xs, 99)) for intent, xs in times.items()}


def nlp_figures() -> None:
    from nlp.evaluate import eval_replies, format_replies_report
    from nlp.questions_eval import eval_questions, format_questions_report

    replies, questions = SHARED_DATA / "replies_dev.jsonl", SHARED_DATA / "questions_dev.jsonl"
    if replies.exists():
        print("\n== NLP: replies (sentiment + risk) ==")
        print(format_replies_report(eval_replies(str(replies))))
    if questions.exists():
        print("\n== NLP: questions (intent + period) ==")
        print(format_questions_report(eval_questions(str(questions))))
    if not (replies.exists() or questions.exists()):
        print(f"\n(NLP dev sets not found under {SHARED_DATA}; skipped)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.bench_qa", description=__doc__.split("\n")[0])
    ap.add_argument("--employees", type=int, default=10_000)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=300, help="random employees per intent")
    ap.add_argument("--url", help="an EMPTY database to fill (default: a temporary SQLite file)")
    ap.add_argument("--no-nlp", action="store_true", help="skip the NLP evaluation figures")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = open_database(url)
        t0 = time.perf_counter()
        build(db, args.employees, args.tasks)
        with db.session() as s:
            keyed = s.execute(select(func.count()).select_from(Goal).where(Goal.owner_id.is_not(None),
                                                                           Goal.parent_id.is_not(None))).scalar()
        print(f"store: {args.employees:,} employees, {args.tasks:,} tasks, {keyed:,} individual goals with owner "
              f"and parent, on {db.engine.dialect.name} (built in {time.perf_counter() - t0:.1f} s)")
        results = bench(db, args.samples, args.employees)
        print(f"\n{'intent':16} {'p50 ms':>8} {'p99 ms':>8}   ({args.samples} random employees each)")
        for intent, (p50, p99) in results.items():
            flag = "" if p99 < 20 else "  ← over the 20 ms target"
            print(f"{intent:16} {p50:8.2f} {p99:8.2f}{flag}")
        db.dispose()
    if not args.no_nlp:
        nlp_figures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
