"""Directory sync against the WeCom emulator's contacts API: the demo organisation mirrored on the
platform, then a reorganisation (someone leaves, a manager changes, someone moves, someone joins, a
department is renamed), through the ``directory_sync`` job and ``python -m bot sync directory``."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime

from sqlalchemy import select

from bot.demo import DEPARTMENTS, PEOPLE
from scheduler.runs import run_job
from storage.importer import import_path
from storage.models import Department, Employee, Task
from tests.conftest import REPO, TZ, import_team_group
from tests.emulators.wecom_directory import WeComDirectory
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN, WeComRig

AT = datetime(2026, 11, 25, 2, 0, tzinfo=TZ)


def mirror_demo(directory: WeComDirectory) -> dict[str, int]:
    """The demo organisation as WeCom lists it: department leaders are the department heads."""
    ids = {name: i for i, (name, _parent, _head) in enumerate(DEPARTMENTS, start=1)}
    for name, parent, head in DEPARTMENTS:
        directory.add_department(ids[name], name, ids.get(parent, 0), [f"wx_{head.lower()}"])
    for eid, name, dept, *_ in PEOPLE:
        directory.add_user(f"wx_{eid.lower()}", name, [ids[dept]])
    return ids


def emp(rig: WeComRig, emp_id: str) -> Employee:
    with rig.bot.db.session() as s:
        e = s.get(Employee, emp_id)
    assert e is not None
    return e


def dept_name(rig: WeComRig, dept_id: int | None) -> str:
    with rig.bot.db.session() as s:
        d = s.get(Department, dept_id)
    return d.name if d else ""


def hr_summaries(rig: WeComRig, user: str = "wx_e002") -> list[str]:
    return [t for t in rig.emulator.texts(user) if t.startswith("通讯录同步（企业微信）")]


async def sync(rig: WeComRig) -> str:
    detail = await run_job(rig.bot.services, "directory_sync", AT)
    await rig.settle()
    return detail or ""


async def test_sync_maps_the_platform_keeps_local_fields_and_handles_a_reorganisation(rig: WeComRig, tmp_path):
    ids = mirror_demo(rig.emulator.directory)
    import_team_group(rig.bot.db, tmp_path / "g", "市场部", "星海医疗科技", "E300", wecom_chat_id="wrkMarketing01")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "tasks.csv").write_text("task_id,owner_id,title,due_date,status,goal_id,estimated_hours\n"
                                              "T-LEAVE,E105,交接华山医院投标,2026-12-04,doing,,6\n", encoding="utf-8")
    assert import_path(rig.bot.db, tmp_path / "t", TZ).errors == []

    # 1. The platform matches what was imported: ids are mapped, nothing changes, HR hears nothing.
    detail = await sync(rig)
    assert "wecom: 7 departments, 26 people; 0 joined, 0 left, 0 manager changes, 0 moved" in detail
    assert hr_summaries(rig) == []
    with rig.bot.db.session() as s:
        assert {d.name: d.wecom_dept_id for d in s.execute(select(Department)).scalars()}["华东销售组"] == str(ids["华东销售组"])
    e101 = emp(rig, "E101")
    assert (e101.manager_id, e101.hrbp_id, e101.role, e101.wecom_userid) == ("E100", "E003", "employee", "wx_e101")

    # 2. A reorganisation on the platform.
    with rig.bot.db.session() as s:
        open_e105 = [t.id for t in s.execute(select(Task).where(Task.owner_id == "E105",
                                                                Task.status.in_(("todo", "doing")))).scalars()]
    assert "T-LEAVE" in open_e105
    d = rig.emulator.directory
    del d.users["wx_e105"]                                       # 孙浩 leaves
    d.users["wx_e103"]["direct_leader"] = ["wx_e090"]            # 刘洋 now reports to the sales director
    d.users["wx_e104"]["department"] = [ids["华南销售组"]]         # 赵敏 moves to South China
    d.add_user("wx_e106", "钱多多", [ids["华东销售组"]])              # a new hire
    d.departments[ids["市场部"]]["name"] = "品牌市场部"               # a rename
    detail = await sync(rig)
    assert "1 joined, 1 left, 2 manager changes, 1 moved" in detail

    sun = emp(rig, "E105")
    assert sun.active is False                                   # deactivated, never deleted
    with rig.bot.db.session() as s:
        assert {s.get(Task, t).owner_id for t in open_e105} == {"E100"}  # open work went to the manager
        market = s.execute(select(Department).where(Department.wecom_dept_id == str(ids["市场部"]))).scalar_one()
    assert (market.name, market.wecom_chat_id) == ("品牌市场部", "wrkMarketing01")  # the team group stays
    assert emp(rig, "E103").manager_id == "E090"
    zhao = emp(rig, "E104")
    assert (dept_name(rig, zhao.department_id), zhao.manager_id, zhao.hrbp_id) == ("华南销售组", "E110", "E003")
    new = emp(rig, "wecom:wx_e106")
    assert (new.name, new.manager_id, dept_name(rig, new.department_id), new.active) == ("钱多多", "E100", "华东销售组", True)

    [summary] = hr_summaries(rig)
    assert hr_summaries(rig, "wx_e003") == [summary]
    for line in ("· 部门改名：市场部 → 品牌市场部", "· 新同事：钱多多（wecom:wx_e106）", "· 调岗：赵敏，华东销售组 → 华南销售组",
                 "· 上级变更：刘洋，王磊 → 陈刚", "· 上级变更：赵敏，王磊 → 黄丽",
                 f"· 已离开：孙浩（E105），账号已停用，{len(open_e105)} 项未完成事项已转给 王磊"):
        assert line in summary

    # 3. Nothing new on the platform: nothing changes and HR is not told twice.
    assert "0 joined, 0 left, 0 manager changes, 0 moved" in await sync(rig)
    assert len(hr_summaries(rig)) == 1


async def test_an_empty_listing_changes_nothing(rig: WeComRig):
    mirror_demo(rig.emulator.directory)
    rig.emulator.directory.departments.clear()  # e.g. the visibility scope was emptied by mistake
    rig.emulator.directory.users.clear()
    detail = await sync(rig)
    assert "lists nobody" in detail and "nothing changed" in detail
    assert emp(rig, "E101").active


def _cli_config(rig: WeComRig, tmp_path) -> str:
    p = tmp_path / "perfbot.toml"
    p.write_text(f'[storage]\nurl = "{rig.url}"\n[wecom]\ncorp_id = "{CORP_ID}"\nagent_id = 1000002\n'
                 f'secret = "emulator-secret"\ntoken = "{TOKEN}"\nencoding_aes_key = "{AES_KEY}"\n'
                 f'api_base = "{rig.emulator.api_base}"\n', encoding="utf-8")
    return str(p)


async def cli(cfg: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--config", cfg, *args, cwd=REPO,
                                                env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_sync_directory_dry_run_then_for_real(rig: WeComRig, tmp_path):
    mirror_demo(rig.emulator.directory)
    del rig.emulator.directory.users["wx_e302"]
    cfg = _cli_config(rig, tmp_path)
    code, out, err = await cli(cfg, "sync", "directory", "--dry-run")
    assert code == 0, err
    assert "wecom (dry run, nothing written): 7 departments, 25 people; 0 joined, 1 left" in out
    assert "· 已离开：梁爽（E302），账号已停用，" in out
    assert emp(rig, "E302").active and hr_summaries(rig) == []
    code, out, err = await cli(cfg, "sync", "directory")
    assert code == 0, err
    assert "wecom: 7 departments, 25 people; 0 joined, 1 left" in out and "summary sent to 2 HR" in out
    assert not emp(rig, "E302").active
    assert any("已离开：梁爽（E302）" in t for t in hr_summaries(rig))
    rig.emulator.secret = "rotated"  # the app secret changed on the platform: refuse, change nothing
    code, out, err = await cli(cfg, "sync", "directory")
    assert code == 1 and "wecom: failed, nothing changed" in out


async def test_a_narrowed_visibility_scope_deactivates_nobody_and_tells_hr(rig: WeComRig):
    ids = mirror_demo(rig.emulator.directory)
    await sync(rig)
    rd = ids["研发部"]  # the app's 可见范围 lost R&D: seven people vanish from the listing at once
    rig.emulator.directory.users = {u: v for u, v in rig.emulator.directory.users.items() if v["department"] != [rd]}
    detail = await sync(rig)
    assert "0 left" in detail and "7 not deactivated (more than directory_max_leavers_percent at once)" in detail
    assert emp(rig, "E200").active and emp(rig, "E203").active
    [summary] = hr_summaries(rig)
    assert "有 7 人不再出现在通讯录中（" in summary and "没有停用任何人" in summary
    assert all(name in summary for name in ("郑强", "冯磊", "曹雪", "彭飞", "曾颖", "谢涛", "韩梅"))


async def test_a_department_removed_on_the_platform_is_named_once(rig: WeComRig):
    ids = mirror_demo(rig.emulator.directory)
    await sync(rig)
    d = rig.emulator.directory
    for u in d.users.values():
        if u["department"] == [ids["市场部"]]:
            u["department"] = [ids["星海医疗科技"]]
    del d.departments[ids["市场部"]]
    await sync(rig)
    [summary] = hr_summaries(rig)
    assert "· 通讯录中已没有的部门：市场部（保留，未删除）" in summary
    await sync(rig)
    assert len(hr_summaries(rig)) == 1
