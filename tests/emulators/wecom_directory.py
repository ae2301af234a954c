"""WeCom's 通讯录 (contacts) read side for tests: ``GET department/list`` and ``GET user/list``.

As documented (developer.work.weixin.qq.com 90208 获取部门列表, 90201 读取部门成员详情):
``department/list?id=ID`` answers the department and all its sub-departments (all of them without
``id``) as ``{"department": [{"id", "name", "parentid", "order", "department_leader": [userid]}]}``;
``user/list?department_id=ID`` answers that department's members (no paging in WeCom's API) as
``{"userlist": [{"userid", "name", "department": [ids], "main_department", "is_leader_in_dept": [0|1],
"direct_leader": [userid], "status", "email"}]}``. ``status``: 1 active, 2 disabled, 4 not yet
activated, 5 left. An unknown department answers errcode 60123. Edit ``departments``/``users``
between syncs to play a reorganisation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

UNKNOWN_DEPARTMENT = 60123


class WeComDirectory:
    def __init__(self) -> None:
        self.departments: dict[int, dict[str, Any]] = {}  # id -> {name, parentid, department_leader}
        self.users: dict[str, dict[str, Any]] = {}  # userid -> {name, department, direct_leader, status, email}
        self.calls: list[str] = []

    # -- knobs for tests --------------------------------------------------------------------------
    def add_department(self, dept_id: int, name: str, parent: int = 0, leaders: list[str] | None = None) -> None:
        self.departments[dept_id] = {"name": name, "parentid": parent, "department_leader": list(leaders or [])}

    def add_user(self, userid: str, name: str, departments: list[int], direct_leader: list[str] | None = None,
                 email: str = "", status: int = 1) -> None:
        self.users[userid] = {"name": name, "department": list(departments), "direct_leader": list(direct_leader or []),
                              "email": email, "status": status}

    # -- routes -----------------------------------------------------------------------------------
    def add_routes(self, app: web.Application, api: Callable[[Callable[[web.Request], Any]], Any],
                   err: Callable[..., web.Response]) -> None:
        self._err = err
        app.router.add_get("/cgi-bin/department/list", api(self.department_list))
        app.router.add_get("/cgi-bin/user/list", api(self.user_list))

    def _subtree(self, root: int) -> list[int]:
        out, todo = [], [root]
        while todo:
            d = todo.pop(0)
            out.append(d)
            todo.extend(sorted(i for i, v in self.departments.items() if v["parentid"] == d))
        return out

    async def department_list(self, request: web.Request) -> web.Response:
        self.calls.append("department/list")
        raw = request.query.get("id", "")
        if raw:
            if not raw.isdigit() or int(raw) not in self.departments:
                return self._err(UNKNOWN_DEPARTMENT, "invalid department id")
            ids = self._subtree(int(raw))
        else:
            ids = sorted(self.departments)
        depts = [{"id": i, "name": self.departments[i]["name"], "parentid": self.departments[i]["parentid"],
                  "order": 100000000 - i, "department_leader": self.departments[i]["department_leader"]} for i in ids]
        return web.json_response({"errcode": 0, "errmsg": "ok", "department": depts})

    async def user_list(self, request: web.Request) -> web.Response:
        raw = request.query.get("department_id", "")
        self.calls.append(f"user/list?department_id={raw}")
        if not raw.isdigit() or int(raw) not in self.departments:
            return self._err(UNKNOWN_DEPARTMENT, "invalid department id")
        dept = int(raw)
        out = []
        for uid, u in sorted(self.users.items()):
            if dept not in u["department"]:
                continue
            out.append({"userid": uid, "name": u["name"], "department": u["department"],
                        "main_department": u["department"][0], "order": [0] * len(u["department"]),
                        "is_leader_in_dept": [int(uid in self.departments[d]["department_leader"])
                                              for d in u["department"] if d in self.departments],
                        "direct_leader": u["direct_leader"], "status": u["status"], "email": u["email"]})
        return web.json_response({"errcode": 0, "errmsg": "ok", "userlist": out})
