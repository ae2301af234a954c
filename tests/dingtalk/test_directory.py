"""Directory sync against the DingTalk emulator's contacts API (listsub recursion, cursor-paged
user/list): the demo organisation mirrored, then someone leaves, a manager changes (a new leader of
a team), a large department that needs several pages, and a person who comes back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.demo import DEPARTMENTS, PEOPLE
from scheduler.runs import run_job
from storage.models import Department, Employee, Task
from tests.conftest import TZ
from tests.emulators.dingtalk import DingTalkEmulator, until
from tests.emulators.dingtalk_directory import DingTalkDirectory

AT = datetime(2026, 11, 25, 2, 0, tzinfo=TZ)


def mirror_demo(directory: DingTalkDirectory) -> dict[str, int]:
    """The demo organisation as DingTalk lists it (the company is the root department 1)."""
    ids = {name: (1 if not parent else 100 + i) for i, (name, parent, _head) in enumerate(DEPARTMENTS)}
    for name, parent, head in DEPARTMENTS:
        if parent:
            directory.add_department(ids[name], name, ids[parent], [f"dt_{head.lower()}"])
        else:
            directory.departments[1].update(name=name, leaders=[f"dt_{head.lower()}"])
    for eid, name, dept, *_ in PEOPLE:
        directory.add_user(f"dt_{eid.lower()}", name, [ids[dept]])
    return ids


def hr_summaries(emu: DingTalkEmulator, user: str = "dt_e002") -> list[str]:
    return [t for t in emu.api.texts(user) if t.startswith("通讯录同步（钉钉）")]


async def sync(bot) -> str:
    detail = await run_job(bot.services, "directory_sync", AT)
    await bot.drain()
    return detail or ""


def emp(bot, emp_id: str) -> Employee:
    with bot.db.session() as s:
        e = s.get(Employee, emp_id)
    assert e is not None
    return e


async def test_sync_with_paging_a_leaver_a_new_leader_and_a_return(emu, make_bot):
    ids = mirror_demo(emu.directory)
    bot = await make_bot(connect=False, oapi_base=emu.base)
    detail = await sync(bot)
    assert "dingtalk: 7 departments, 26 people; 0 joined, 0 left, 0 manager changes, 0 moved" in detail
    with bot.db.session() as s:
        assert s.execute(select(Department).where(Department.name == "研发部")).scalar_one().dingtalk_dept_id == \
            str(ids["研发部"])
    assert hr_summaries(emu) == []

    d = emu.directory
    del d.users["dt_e201"]                                   # 冯磊 leaves
    d.departments[ids["研发部"]]["leaders"] = ["dt_e202"]      # 曹雪 now leads R&D: a new manager for the team
    d.add_department(900, "客服部", 1, ["dt_cs000"])
    for n in range(130):                                     # more people than one page (100) holds
        d.add_user(f"dt_cs{n:03d}", f"客服{n:03d}", [900])
    detail = await sync(bot)
    assert "dingtalk: 8 departments, 155 people; 130 joined, 1 left" in detail
    pages = [b["cursor"] for path, b in d.calls if path == "/topapi/v2/user/list" and b["dept_id"] == 900]
    assert pages[-2:] == [0, 100]
    with bot.db.session() as s:
        assert s.execute(select(func.count()).select_from(Employee)
                         .where(Employee.id.like("dingtalk:dt_cs%"), Employee.active)).scalar() == 130
        assert s.get(Employee, "dingtalk:dt_cs005").manager_id == "dingtalk:dt_cs000"
        assert s.get(Employee, "dingtalk:dt_cs000").role == "manager"
        assert not list(s.execute(select(Task).where(Task.owner_id == "E201", Task.status.in_(("todo", "doing"))))
                        .scalars())
    feng = emp(bot, "E201")
    assert feng.active is False
    assert emp(bot, "E203").manager_id == "E202" and emp(bot, "E202").manager_id == "E001"
    assert emp(bot, "E203").hrbp_id == "E003"                # locally imported fields stay
    await until(lambda: hr_summaries(emu), what="the HR summary")
    [summary] = hr_summaries(emu)
    assert "· 新部门：客服部" in summary and "· 已离开：冯磊（E201），账号已停用" in summary
    assert "· 新同事：客服014（dingtalk:dt_cs014）" in summary and "客服015" not in summary
    assert "· ……另有 115 位新同事" in summary  # one message, not 130 lines
    assert "· 上级变更：彭飞，郑强 → 曹雪" in summary and "· 上级变更：曹雪，郑强 → 林志远" in summary

    d.add_user("dt_e201", "冯磊", [ids["研发部"]])                # 冯磊 is rehired
    detail = await sync(bot)
    assert "0 joined, 0 left" in detail and emp(bot, "E201").active
    await until(lambda: len(hr_summaries(emu)) == 2, what="the second HR summary")
    assert "· 重新启用：冯磊（E201）" in hr_summaries(emu)[-1]


async def test_people_imported_without_a_platform_id_are_matched_on_email(emu, make_bot):
    mirror_demo(emu.directory)
    bot = await make_bot(connect=False, oapi_base=emu.base)
    with bot.db.session() as s:
        s.get(Employee, "E204").dingtalk_userid = None  # imported before anyone knew their DingTalk id
    emu.directory.users["dt_e204"]["email"] = "e204@example.com"
    detail = await sync(bot)
    assert "0 joined, 0 left" in detail
    e = emp(bot, "E204")
    assert (e.dingtalk_userid, e.manager_id, e.active) == ("dt_e204", "E200", True)
    with bot.db.session() as s:
        assert s.execute(select(func.count()).select_from(Employee).where(Employee.name == "曾颖")).scalar() == 1


async def test_cli_sync_does_not_open_a_second_stream_and_still_tells_hr(emu, make_bot, sqlite_url, tmp_path):
    from tests.wecom.test_directory import cli

    mirror_demo(emu.directory)
    del emu.directory.users["dt_e303"]                        # 宋佳 leaves
    bot = await make_bot(connect=True)                       # the running `serve` with its Stream client
    gateway_calls = len(emu.gateway_calls)
    cfg = tmp_path / "perfbot.toml"
    cfg.write_text(f'[storage]\nurl = "{sqlite_url}"\n[dingtalk]\nclient_id = "{emu.client_id}"\n'
                   f'client_secret = "{emu.client_secret}"\nopenapi_base = "{emu.base}"\noapi_base = "{emu.base}"\n',
                   encoding="utf-8")
    code, out, err = await cli(str(cfg), "sync", "directory")
    assert code == 0, err
    assert "dingtalk: 7 departments, 25 people; 0 joined, 1 left" in out and "summary sent to 2 HR" in out
    assert len(emu.gateway_calls) == gateway_calls           # no second Stream connection
    assert any("· 已离开：宋佳（E303）" in t for t in hr_summaries(emu))
    assert not emp(bot, "E303").active
