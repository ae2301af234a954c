"""An import that can be trusted: every reference checked, duplicates and every problem of a row
reported with file and line, Excel's GBK CSV and Chinese sheet names read, ``--dry-run``."""

from __future__ import annotations

import csv

from openpyxl import Workbook
from sqlalchemy import func, select

from storage.importer import COLUMNS, import_path
from storage.models import Department, Employee, Task
from tests.conftest import TZ
from tests.core.test_cli import _config, run

DEPT = [["销售部", "", "", "", ""]]


def emp(eid, name, manager="", role="employee", hrbp="", wx="", cap="40", email="", dept="销售部"):
    return [eid, name, dept, manager, role, hrbp, wx, "", cap, email]


def write(path, name, rows, encoding="utf-8"):
    with (path / f"{name}.csv").open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS[name])
        w.writerows(rows)


def ids(db, model=Employee):
    with db.session() as s:
        return sorted(x.id for x in s.execute(select(model)).scalars())


def test_every_reference_is_checked_against_the_database_and_the_same_import(db, tmp_path):
    write(tmp_path, "departments", [["销售部", "", "E5", "", ""], ["华北组", "销售部", "E404", "", ""],
                                    ["华东组", "销售部", "E2", "", ""]])
    write(tmp_path, "employees", [
        emp("E1", "甲", manager="E2"),            # its manager's row is rejected
        emp("E2", "乙", manager="E999"),          # line 3: unknown manager
        emp("E3", "丙", hrbp="E888"),             # line 4: unknown HRBP
        emp("E4", "丁", dept="华北组"),             # line 5: its department's row is rejected
        emp("E5", "戊"),                           # the head of 销售部 (a forward reference: fine)
    ])
    write(tmp_path, "tasks", [["T1", "E5", "写方案", "2026-11-30", "todo", "G-NONE", "4"]])
    report = import_path(db, tmp_path, TZ)
    assert report.errors == [
        "departments.csv:3: head_id: unknown employee 'E404'",
        "departments.csv:4: head_id: employee 'E2' is rejected itself (employees.csv:3)",
        "employees.csv:2: manager_id: employee 'E2' is rejected itself (employees.csv:3)",
        "employees.csv:3: manager_id: unknown employee 'E999'",
        "employees.csv:4: hrbp_id: unknown employee 'E888'",
        "employees.csv:5: department: department '华北组' is rejected itself (departments.csv:3)",
        "tasks.csv:2: goal_id: unknown goal 'G-NONE'",
    ]
    assert report.rejected_rows == 7
    assert ids(db) == ["E5"] and ids(db, Task) == []
    # The next import may refer to what is stored now.
    write(tmp_path, "departments", DEPT)
    write(tmp_path, "employees", [emp("E6", "己", manager="E5")])
    write(tmp_path, "tasks", [])
    assert import_path(db, tmp_path, TZ).errors == []
    with db.session() as s:
        assert s.get(Employee, "E6").manager_id == "E5"


def test_duplicates_are_reported_with_both_lines_and_the_first_kept(db, tmp_path):
    write(tmp_path, "departments", DEPT + [["销售部", "", "", "", ""]])
    write(tmp_path, "employees", [emp("E1", "甲"), emp("E2", "乙"), emp("E1", "甲二")])
    report = import_path(db, tmp_path, TZ)
    assert report.errors == [
        "departments.csv:3: department: '销售部' appears twice (lines 2 and 3); only line 2 is imported",
        "employees.csv:4: employee_id: 'E1' appears twice (lines 2 and 4); only line 2 is imported",
    ]
    with db.session() as s:
        assert s.get(Employee, "E1").name == "甲"


def test_every_problem_of_a_row_is_reported(db, tmp_path):
    write(tmp_path, "departments", DEPT)
    write(tmp_path, "employees", [emp("E1", "甲", manager="E9", role="boss", cap="99", email="nope", dept="无")])
    report = import_path(db, tmp_path, TZ)
    assert report.rejected_rows == 1
    assert sorted(report.errors) == [
        "employees.csv:2: department: unknown department '无' (add it to departments.csv)",
        "employees.csv:2: email: not an e-mail address: 'nope'",
        "employees.csv:2: manager_id: unknown employee 'E9'",
        "employees.csv:2: role: 'boss' is not one of employee, manager, hr, admin",
        "employees.csv:2: weekly_capacity_hours: must be between 0 and 80",
    ]


def test_gbk_csv_from_excel_is_read_and_utf16_explains_how_to_save(db, tmp_path):
    write(tmp_path, "departments", [["华东销售组", "", "", "", ""]], encoding="gbk")
    write(tmp_path, "employees", [emp("E1", "张伟", dept="华东销售组")], encoding="gb18030")
    report = import_path(db, tmp_path, TZ)
    assert report.errors == []
    with db.session() as s:
        e = s.get(Employee, "E1")
        assert e.name == "张伟" and s.get(Department, e.department_id).name == "华东销售组"
    write(tmp_path, "employees", [emp("E2", "李娜", dept="华东销售组")], encoding="utf-16")
    report = import_path(db, tmp_path, TZ)
    assert report.errors == ["employees.csv: not UTF-8 or GB18030/GBK text; in Excel use 另存为 → "
                             "「CSV UTF-8（逗号分隔）」 and import again"]
    assert ids(db) == ["E1"]


def _sheet(wb, title, name, rows):
    ws = wb.create_sheet(title)
    ws.append(COLUMNS[name])
    for r in rows:
        ws.append(r)


def test_xlsx_sheets_named_in_chinese_and_unknown_sheets_named(db, tmp_path):
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "部门", "departments", DEPT)
    _sheet(wb, "员工", "employees", [emp("E1", "甲"), emp("E2", "乙", manager="E1")])
    _sheet(wb, "任务", "tasks", [["T1", "E2", "写方案", "2026-11-30", "doing", "", 4]])
    _sheet(wb, "花名册", "employees", [emp("E3", "丙")])
    wb.save(tmp_path / "org.xlsx")
    report = import_path(db, tmp_path / "org.xlsx", TZ)
    assert report.errors == []
    assert report.loaded == {"departments": 1, "employees": 2, "tasks": 1}
    assert report.warnings == ["org.xlsx: unknown sheet(s) '花名册' not imported (sheet names: departments/部门, "
                               "employees/员工, goals/目标, tasks/任务, visits/拜访, metrics/指标, worklogs/工作日志)"]
    wb = Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(COLUMNS["employees"])
    wb.active.append(emp("E9", "壬"))
    wb.save(tmp_path / "other.xlsx")
    report = import_path(db, tmp_path / "other.xlsx", TZ)
    assert report.errors == ["other.xlsx: unknown sheet(s) 'Sheet1' not imported (sheet names: departments/部门, "
                             "employees/员工, goals/目标, tasks/任务, visits/拜访, metrics/指标, worklogs/工作日志)"]
    assert ids(db) == ["E1", "E2"]


def test_cli_dry_run_missing_path_and_exit_codes(tmp_path):
    cfg = _config(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "departments", DEPT)
    write(folder, "employees", [emp("E1", "甲"), emp("E2", "乙", manager="E999")])
    r = run(["import", str(folder), "--dry-run"], cfg)
    assert r.returncode == 1, r.stderr
    assert "dry run, nothing written; would import departments: 1, employees: 1" in r.stdout
    assert "employees.csv:3: manager_id: unknown employee 'E999'" in r.stdout
    write(folder, "employees", [emp("E1", "甲"), emp("E2", "乙", manager="E1")])
    r = run(["import", str(folder), "--dry-run"], cfg)
    assert r.returncode == 0 and "would import departments: 1, employees: 2" in r.stdout
    r = run(["import", str(folder)], cfg)
    assert r.returncode == 0 and r.stdout.startswith("imported departments: 1, employees: 2")
    r = run(["import", str(tmp_path / "no-such-folder")], cfg)
    assert r.returncode == 2 and "import: path not found:" in r.stderr and r.stdout == ""


def test_dry_run_writes_nothing(db, tmp_path):
    write(tmp_path, "departments", DEPT)
    write(tmp_path, "employees", [emp("E1", "甲")])
    report = import_path(db, tmp_path, TZ, dry_run=True)
    assert report.errors == [] and report.loaded == {"departments": 1, "employees": 1}
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(Employee)).scalar() == 0
        assert s.execute(select(func.count()).select_from(Department)).scalar() == 0


def test_team_group_ids_are_imported_and_an_empty_cell_keeps_them(db, tmp_path):
    write(tmp_path, "departments", [["销售部", "", "", "wrkGroup01", "cidGroup01=="]])
    assert import_path(db, tmp_path, TZ).errors == []
    write(tmp_path, "departments", [["销售部", "", "", "", ""]])  # e.g. an older HR sheet
    assert import_path(db, tmp_path, TZ).errors == []
    with db.session() as s:
        d = s.execute(select(Department)).scalar_one()
        assert (d.wecom_chat_id, d.dingtalk_conversation_id) == ("wrkGroup01", "cidGroup01==")


def test_reactivating_someone_who_left_is_pointed_out(db, tmp_path):
    write(tmp_path, "departments", DEPT)
    write(tmp_path, "employees", [emp("E1", "甲")])
    assert import_path(db, tmp_path, TZ).errors == []
    with db.session() as s:
        s.get(Employee, "E1").active = False  # e.g. the directory sync saw them leave
    report = import_path(db, tmp_path, TZ)
    assert report.errors == []
    assert report.warnings == ["employees.csv:2: employee_id: 'E1' was deactivated (left the company); "
                               "this import makes them active again"]
