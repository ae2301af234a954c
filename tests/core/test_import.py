from __future__ import annotations

import csv

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.demo import build_csvs
from storage.importer import COLUMNS, ImportPathError, import_path
from storage.models import Department, Employee, Goal, MetricValue, Task, Visit, WorkLog
from tests.conftest import DEMO_TODAY, TZ


def counts(db):
    with db.session() as s:
        return {m.__name__: s.execute(select(func.count()).select_from(m)).scalar()
                for m in (Department, Employee, Goal, Task, Visit, MetricValue, WorkLog)}


def test_demo_csvs_round_trip_and_reimport_is_idempotent(db, tmp_path):
    build_csvs(tmp_path, DEMO_TODAY, TZ)
    first = import_path(db, tmp_path, TZ)
    assert first.errors == []
    c1 = counts(db)
    assert c1["Employee"] == 26 and c1["Department"] == 7 and c1["Task"] > 50
    second = import_path(db, tmp_path, TZ)
    assert second.errors == [] and second.new_visits == []
    assert counts(db) == c1
    with db.session() as s:
        zhang = s.get(Employee, "E101")
        assert zhang.name == "张伟" and zhang.manager_id == "E100" and zhang.wecom_userid == "wx_e101"
        g = s.get(Goal, "G-E101")
        assert g.parent_id == "G-D1" and g.unit == "家"


def test_reimport_updates_changed_values(db, tmp_path):
    build_csvs(tmp_path, DEMO_TODAY, TZ)
    import_path(db, tmp_path, TZ)
    with (tmp_path / "employees.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for r in rows:
        if r[0] == "E101":
            r[1] = "张伟伟"
    with (tmp_path / "employees.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    assert import_path(db, tmp_path, TZ).errors == []
    with db.session() as s:
        assert s.get(Employee, "E101").name == "张伟伟"
        assert s.execute(select(func.count()).select_from(Employee)).scalar() == 26


def _write(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_bad_rows_are_reported_and_the_rest_loads(db, tmp_path):
    _write(tmp_path / "departments.csv", COLUMNS["departments"], [["销售部", "", ""]])
    _write(tmp_path / "employees.csv", COLUMNS["employees"], [
        ["E1", "甲", "销售部", "", "employee", "", "wx1", "", "40", "a@x.com"],
        ["E2", "乙", "不存在部", "", "employee", "", "", "", "40", ""],          # line 3: unknown dept
        ["E3", "丙", "销售部", "", "boss", "", "", "", "40", ""],                # line 4: bad role
        ["E4", "丁", "销售部", "", "employee", "", "wx1", "", "40", ""],          # line 5: duplicate wecom id
        ["", "戊", "销售部", "", "employee", "", "", "", "40", ""],               # line 6: empty id
        ["E6", "己", "销售部", "", "employee", "", "", "", "many", ""],           # line 7: bad number
        ["E7", "庚", "销售部", "E1", "manager", "", "", "", "40", ""],
    ])
    _write(tmp_path / "tasks.csv", COLUMNS["tasks"], [
        ["T1", "E1", "写方案", "2026-11-30", "todo", "", "4"],
        ["T2", "E1", "写方案", "30/11/2026", "todo", "", "4"],                    # line 3: bad date
        ["T3", "E9", "写方案", "2026-11-30", "todo", "", "4"],                    # line 4: unknown owner
    ])
    report = import_path(db, tmp_path, TZ)
    errs = "\n".join(report.errors)
    assert "employees.csv:3: department: unknown department '不存在部' (add it to departments.csv)" in errs
    assert "employees.csv:4: role: 'boss' is not one of" in errs
    assert "employees.csv:5: wecom_userid: 'wx1' appears twice (lines 2 and 5)" in errs
    assert "employees.csv:6: employee_id: required" in errs
    assert "employees.csv:7: weekly_capacity_hours: not a number" in errs
    assert "tasks.csv:3: due_date: not a date" in errs
    assert "tasks.csv:4: owner_id: unknown employee 'E9'" in errs
    assert report.loaded == {"departments": 1, "employees": 2, "tasks": 1}
    with db.session() as s:
        assert {e.id for e in s.execute(select(Employee)).scalars()} == {"E1", "E7"}
        assert s.get(Employee, "E4") is None  # nothing half-written


def test_xlsx_workbook_one_sheet_per_entity(db, tmp_path):
    build_csvs(tmp_path / "csv", DEMO_TODAY, TZ)
    wb = Workbook()
    wb.remove(wb.active)
    for name in COLUMNS:
        ws = wb.create_sheet(name)
        with (tmp_path / "csv" / f"{name}.csv").open(encoding="utf-8") as f:
            for row in csv.reader(f):
                ws.append(row)
    wb.save(tmp_path / "org.xlsx")
    report = import_path(db, tmp_path / "org.xlsx", TZ)
    assert report.errors == []
    assert counts(db)["Employee"] == 26


def test_missing_column_and_unknown_path(db, tmp_path):
    _write(tmp_path / "employees.csv", ["id", "name"], [["E1", "甲"]])
    report = import_path(db, tmp_path, TZ)
    assert report.errors == ["employees.csv:1: missing column(s) employee_id"]
    assert report.warnings == ["employees.csv:1: unknown column(s) id ignored (known: employee_id, name, department, "
                               "manager_id, role, hrbp_id, wecom_userid, dingtalk_userid, weekly_capacity_hours, "
                               "email)"]
    (tmp_path / "nothing.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ImportPathError, match="or an .xlsx workbook"):
        import_path(db, tmp_path / "nothing.txt", TZ)
    with pytest.raises(ImportPathError, match="path not found"):
        import_path(db, tmp_path / "missing", TZ)


def test_reimport_with_a_changed_target_bumps_the_goal_version(db, tmp_path):
    build_csvs(tmp_path, DEMO_TODAY, TZ)
    import_path(db, tmp_path, TZ)
    with db.session() as s:
        before = s.get(Goal, "G-E101").version
    import_path(db, tmp_path, TZ)
    with db.session() as s:
        assert s.get(Goal, "G-E101").version == before  # unchanged numbers: same version
    with (tmp_path / "goals.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for r in rows:
        if r[0] == "G-E101":
            r[8] = "30"
    with (tmp_path / "goals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    import_path(db, tmp_path, TZ)
    with db.session() as s:
        g = s.get(Goal, "G-E101")
        assert g.target == 30 and g.version == before + 1
