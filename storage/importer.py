"""Idempotent import of a folder of CSV files or one XLSX workbook (one sheet per entity).

Nothing is written until every row of every file has been checked: each problem is reported as
``file:line: column: reason`` (all of a row's problems, not just the first), every reference (manager,
HRBP, department head, owner, parent goal …) must exist in the database or in the same import, and a
second row with the same id is reported with both line numbers. Valid rows are then written, each in
its own savepoint (a row the database refuses leaves nothing half-written); ``dry_run`` runs every
check and writes nothing. CSV files may be UTF-8 or GB18030/GBK (what Excel on Chinese Windows saves); sheets and
files may be named in English or Chinese (``员工``, ``部门`` …). Re-importing updates rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from storage import identity
from storage.db import Database
from storage.import_rows import COLUMNS, KEYS, REQUIRED, Known, check, write
from storage.models import Employee

__all__ = ["ALIASES", "COLUMNS", "REQUIRED", "ImportPathError", "ImportReport", "import_path"]

# Chinese sheet / file names (Excel users name sheets in Chinese).
ALIASES: dict[str, str] = {"部门": "departments", "员工": "employees", "目标": "goals", "任务": "tasks",
                           "拜访": "visits", "指标": "metrics", "工作日志": "worklogs"}
_ZH = {v: k for k, v in ALIASES.items()}
EXPECTED = ", ".join(f"{n}/{_ZH[n]}" for n in COLUMNS)
REFS = {"departments": ("departments", "department"), "employees": ("employees", "employee_id"),
        "goals": ("goals", "goal_id")}


class ImportPathError(Exception):
    """The path itself cannot be imported (missing, or not a folder/CSV/XLSX): exit code 2."""


@dataclass
class ImportReport:
    loaded: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "file:line: column: reason"
    warnings: list[str] = field(default_factory=list)
    rejected_rows: int = 0
    new_visits: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        parts = [f"{name}: {n}" for name, n in self.loaded.items()]
        verb = "dry run, nothing written; would import " if self.dry_run else "imported "
        lines = [verb + (", ".join(parts) if parts else "nothing")]
        lines.extend("warning: " + w for w in self.warnings)
        if self.errors:
            lines.append(f"{self.rejected_rows} row(s) rejected, {len(self.errors)} problem(s):")
            lines.extend("  " + e for e in self.errors)
        return "\n".join(lines)


@dataclass
class _Source:
    name: str
    label: str  # "employees.csv" or "org.xlsx[员工]"
    rows: list[tuple[int, dict[str, Any]]]
    header: list[str]


def _entity(stem: str) -> str | None:
    s = stem.strip()
    return s.lower() if s.lower() in COLUMNS else ALIASES.get(s)


# -- sources ------------------------------------------------------------------------------------
def _decode(path: Path) -> tuple[str | None, str | None]:
    """(text, None), or (None, the one line saying how to fix the encoding)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), None
    except UnicodeDecodeError:
        return None, (f"{path.name}: not UTF-8 or GB18030/GBK text; in Excel use 另存为 → "
                      f"「CSV UTF-8（逗号分隔）」 and import again")


def _csv_source(path: Path, name: str, report: ImportReport) -> _Source | None:
    text, problem = _decode(path)
    if text is None:
        report.errors.append(problem or path.name)
        return None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = [(reader.line_num, row) for row in reader if any((v or "").strip() for v in row.values()
                                                               if isinstance(v, str))]
    return _Source(name, path.name, rows, [h.strip() for h in reader.fieldnames or []])


def _xlsx_sources(path: Path, report: ImportReport) -> list[_Source]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    out, unknown = [], []
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or all(h is None for h in header):
            continue
        name = _entity(ws.title)
        if name is None:
            unknown.append(ws.title)
            continue
        cols = [str(h).strip() if h is not None else "" for h in header]
        data = [(n, dict(zip(cols, values, strict=False))) for n, values in enumerate(rows, start=2)
                if values is not None and any(v is not None and str(v).strip() for v in values)]
        out.append(_Source(name, f"{path.name}[{ws.title}]", data, cols))
    wb.close()
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        msg = f"{path.name}: unknown sheet(s) {names} not imported (sheet names: {EXPECTED})"
        (report.warnings if out else report.errors).append(msg)
    return out


def _sources(path: Path, report: ImportReport) -> list[_Source]:
    if not path.exists():
        raise ImportPathError(f"import: path not found: {path}")
    if path.is_dir():
        out, unknown = [], []
        for f in sorted(path.glob("*.csv")):
            name = _entity(f.stem)
            if name is None:
                unknown.append(f.name)
            elif (src := _csv_source(f, name, report)) is not None:
                out.append(src)
        if unknown:
            report.warnings.append(f"{path}: unknown file(s) {', '.join(unknown)} not imported")
        if not out and not report.errors:
            report.errors.append(f"{path}: no known CSV files ({', '.join(n + '.csv' for n in COLUMNS)}, "
                                 f"or named in Chinese: {', '.join(ALIASES)})")
        return out
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_sources(path, report)
    if path.suffix.lower() == ".csv" and _entity(path.stem):
        src = _csv_source(path, _entity(path.stem) or "", report)
        return [src] if src else []
    raise ImportPathError(f"import: {path}: expected a folder of CSV files, one known CSV file or an .xlsx workbook")


# -- checking -----------------------------------------------------------------------------------
def _key(name: str, row: dict[str, Any]) -> tuple[str, ...] | None:
    vals = tuple(str(row.get(c) or "").strip() for c in KEYS[name])
    return vals if all(vals) else None


def _check_all(sources: list[_Source], known: Known, tz: ZoneInfo, report: ImportReport
               ) -> list[tuple[_Source, list[tuple[int, dict[str, Any]]]]]:
    """Every source with its rows that passed every check; problems go to the report."""
    errors: dict[tuple[str, int], list[str]] = {}
    candidates: list[tuple[_Source, list[tuple[int, dict[str, Any]]]]] = []
    for src in sources:
        extra = [c for c in src.header if c and c not in COLUMNS[src.name]]
        if extra:
            report.warnings.append(f"{src.label}:1: unknown column(s) {', '.join(extra)} ignored "
                                   f"(known: {', '.join(COLUMNS[src.name])})")
        missing = [c for c in REQUIRED[src.name] if c not in src.header]
        if missing:
            report.errors.append(f"{src.label}:1: missing column(s) {', '.join(missing)}")
            continue
        first: dict[tuple[str, ...], int] = {}
        keep = []
        for line, row in src.rows:
            row = {k.strip() if isinstance(k, str) else k: v for k, v in row.items() if k is not None}
            key = _key(src.name, row)
            if key is not None and key in first:
                what = "/".join(KEYS[src.name])
                errors[(src.label, line)] = [f"{what}: {'/'.join(key)!r} appears twice (lines {first[key]} and "
                                             f"{line}); only line {first[key]} is imported"]
                continue
            if key is not None:
                first[key] = line
            keep.append((line, row))
            if src.name in REFS:
                table, col = REFS[src.name]
                known.table(table).setdefault(str(row.get(col) or "").strip(), f"{src.label}:{line}")
        candidates.append((src, keep))
    _claim_platform_ids(candidates, known, errors)
    while True:  # a row referring to a rejected row is rejected too: repeat until nothing changes
        changed = False
        for src, rows in candidates:
            for line, row in rows:
                if (src.label, line) in errors:
                    continue
                _clean, problems = check(src.name, row, known, tz)
                if problems:
                    errors[(src.label, line)] = problems
                    changed = True
                    if src.name in REFS:
                        table, col = REFS[src.name]
                        rid = str(row.get(col) or "").strip()
                        if known.table(table).get(rid) == f"{src.label}:{line}":
                            del known.table(table)[rid]
                            known.rejected[(table, rid)] = f"{src.label}:{line}"
        if not changed:
            break
    rank = {src.label: i for i, src in enumerate(sources)}
    for (label, line), problems in sorted(errors.items(), key=lambda kv: (rank.get(kv[0][0], 0), kv[0][1])):
        report.rejected_rows += 1
        report.errors.extend(f"{label}:{line}: {p}" for p in problems)
    return [(src, [(ln, r) for ln, r in rows if (src.label, ln) not in errors]) for src, rows in candidates]


def _claim_platform_ids(candidates: list[tuple[_Source, list[tuple[int, dict[str, Any]]]]], known: Known,
                        errors: dict[tuple[str, int], list[str]]) -> None:
    """The same WeCom/DingTalk id on two employee rows: the second is reported with both lines."""
    for src, rows in candidates:
        if src.name != "employees":
            continue
        seen: dict[tuple[str, str], int] = {}
        for line, row in rows:
            emp_id = str(row.get("employee_id") or "").strip()
            for col in ("wecom_userid", "dingtalk_userid"):
                v = str(row.get(col) or "").strip()
                if not v:
                    continue
                if (col, v) in seen:
                    errors.setdefault((src.label, line), []).append(
                        f"{col}: {v!r} appears twice (lines {seen[(col, v)]} and {line})")
                    continue
                seen[(col, v)] = line
                if known.platform_ids.get((col, v)) is None:
                    known.platform_ids[(col, v)] = emp_id


# -- the import ---------------------------------------------------------------------------------
def import_path(db: Database, path: Path, tz: ZoneInfo | None = None, dry_run: bool = False) -> ImportReport:
    """Check everything, then write the valid rows (``dry_run``: write nothing). Raises
    ``ImportPathError`` when the path is missing or of an unknown kind."""
    tz = tz or ZoneInfo("Asia/Shanghai")
    report = ImportReport(dry_run=dry_run)
    sources = _sources(path, report)
    order = list(COLUMNS)
    sources.sort(key=lambda src: order.index(src.name))  # parents before children
    with db.session() as s:
        known = Known.stored(s)
        checked = _check_all(sources, known, tz, report)
        for src, rows in checked:
            ok = 0
            for line, row in rows:
                clean, _ = check(src.name, row, known, tz)
                if src.name == "employees" and (prev := s.get(Employee, clean["id"])) is not None and not prev.active:
                    report.warnings.append(f"{src.label}:{line}: employee_id: {clean['id']!r} was deactivated "
                                           f"(left the company); this import makes them active again")
                if dry_run:
                    ok += 1
                    continue
                sp = s.begin_nested()
                try:
                    status = write(s, src.name, clean)
                    s.flush()
                    sp.commit()
                except Exception as exc:  # a constraint the checks cannot see; the row leaves nothing behind
                    sp.rollback()
                    reason = str(getattr(exc, "orig", exc)).splitlines()[0]
                    report.rejected_rows += 1
                    report.errors.append(f"{src.label}:{line}: rejected by the database: {reason}")
                    continue
                ok += 1
                if src.name == "visits" and status == "new":
                    report.new_visits.append(clean["id"])
            report.loaded[src.name] = report.loaded.get(src.name, 0) + ok
        if not dry_run:
            identity.bump(db, s)  # in this transaction: every process drops its cached identities
    identity.invalidate()  # platform ids and managers may have changed: drop cached identities
    return report


# -- the same checks for items posted to the ingest API ------------------------------------------
@dataclass
class ItemsResult:
    accepted: int = 0  # new rows
    updated: int = 0  # existing rows that changed
    duplicates: int = 0  # identical to what is stored: an idempotent re-send
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"index", "error"}


def ingest_items(db: Database, name: str, items: list[tuple[int, dict[str, Any]]], tz: ZoneInfo) -> ItemsResult:
    """Check and upsert posted rows of one entity, given with their index in the request, exactly like
    imported rows (references must exist, employees be active); every problem of an item in its
    ``error``, joined by "; "."""
    result = ItemsResult()
    with db.session() as s:
        known = Known.stored(s, active_only=True)
        seen: dict[tuple[str, ...], int] = {}
        for i, item in items:
            clean, problems = check(name, item, known, tz)
            key = _key(name, item)
            if key is not None and key in seen and not problems:
                problems = [f"{'/'.join(KEYS[name])}: {'/'.join(key)!r} appears twice (items {seen[key]} and {i})"]
            if problems:
                result.errors.append({"index": i, "error": "; ".join(problems)})
                continue
            if key is not None:
                seen[key] = i
            sp = s.begin_nested()
            try:
                status = write(s, name, clean)
                s.flush()
                sp.commit()
            except Exception as exc:  # a constraint the checks cannot see
                sp.rollback()
                result.errors.append({"index": i, "error": "rejected by the database: "
                                      + str(getattr(exc, "orig", exc)).splitlines()[0]})
                continue
            if status == "new":
                result.accepted += 1
            elif status == "updated":
                result.updated += 1
            else:
                result.duplicates += 1
    return result
