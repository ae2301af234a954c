"""A synthetic organisation in the import format (CSV folder), for benchmarks at any size.

Teams of 10 under a manager, 10 teams under a director, one HR; every employee has an individual
KPI under the department goal and three tasks this month. Loaded through the real importer.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path


def write_org(folder: Path, employees: int, today: date, wecom_prefix: str = "wx_u",
              dingtalk_prefix: str = "dt_u") -> list[str]:
    """Write departments/employees/goals/tasks CSVs; returns the WeCom user ids of the employees."""
    folder.mkdir(parents=True, exist_ok=True)
    teams = max(1, (employees + 9) // 10)
    divisions = max(1, (teams + 9) // 10)
    month_start = today.replace(day=1)
    month_end = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    year_start, year_end = date(today.year, 1, 1), date(today.year, 12, 31)

    def write(name: str, header: list[str], rows: list[list[object]]) -> None:
        with open(folder / name, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)

    deps = [["公司", "", "H0001"]]
    deps += [[f"事业部{d:03d}", "公司", f"D{d:04d}"] for d in range(divisions)]
    deps += [[f"团队{t:04d}", f"事业部{t // 10:03d}", f"M{t:05d}"] for t in range(teams)]
    write("departments.csv", ["department", "parent", "head_id"], deps)

    people: list[list[object]] = [["H0001", "人事一", "公司", "", "hr", "", "wx_h0001", "dt_h0001", 40, ""]]
    people += [[f"D{d:04d}", f"总监{d}", f"事业部{d:03d}", "", "manager", "H0001", f"wx_d{d:04d}",
                f"dt_d{d:04d}", 40, ""] for d in range(divisions)]
    people += [[f"M{t:05d}", f"经理{t}", f"团队{t:04d}", f"D{t // 10:04d}", "manager", "H0001", f"wx_m{t:05d}",
                f"dt_m{t:05d}", 40, ""] for t in range(teams)]
    users = [f"{wecom_prefix}{i:06d}" for i in range(employees)]
    people += [[f"U{i:06d}", f"员工{i}", f"团队{i // 10:04d}", f"M{i // 10:05d}", "employee", "H0001", users[i],
                f"{dingtalk_prefix}{i:06d}", 40, ""] for i in range(employees)]
    write("employees.csv", ["employee_id", "name", "department", "manager_id", "role", "hrbp_id", "wecom_userid",
                            "dingtalk_userid", "weekly_capacity_hours", "email"], people)

    goals: list[list[object]] = [["G-C", "年度营收", "company", "objective", "", "公司", "", 1, 100000, 42000,
                                  "万元", year_start, year_end, "true"]]
    goals += [[f"G-T{t:04d}", f"团队{t}签约数", "department", "key_result", f"M{t:05d}", f"团队{t:04d}", "G-C", 1,
               100, 40, "家", year_start, year_end, "true"] for t in range(teams)]
    goals += [[f"G-U{i:06d}", "新客户签约数", "individual", "kpi", f"U{i:06d}", f"团队{i // 10:04d}",
               f"G-T{i // 10:04d}", 1, 12, i % 9, "家", year_start, year_end, "true"] for i in range(employees)]
    write("goals.csv", ["goal_id", "title", "level", "kind", "owner_id", "department", "parent_goal_id", "weight",
                        "target", "current", "unit", "period_start", "period_end", "higher_is_better"], goals)

    tasks = []
    for i in range(employees):
        for k in range(3):
            due = month_start.replace(day=min(28, 5 + 9 * k))
            tasks.append([f"T{i:06d}-{k}", f"U{i:06d}", f"客户方案{k + 1}", due, "todo" if k else "done",
                          f"G-U{i:06d}", 4])
    write("tasks.csv", ["task_id", "owner_id", "title", "due_date", "status", "goal_id", "estimated_hours"], tasks)
    del month_end
    return users
