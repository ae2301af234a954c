"""DingTalk's 通讯录 (contacts) read side for tests, on the legacy oapi host (``/topapi/...``,
``?access_token=`` from ``/v1.0/oauth2/accessToken``; errors are HTTP 200 ``{errcode, errmsg}``):

* ``POST /topapi/v2/department/get {"dept_id"}`` → ``result {dept_id, name, parent_id}``;
* ``POST /topapi/v2/department/listsub {"dept_id"}`` → ``result [{dept_id, name, parent_id,
  create_dept_group, auto_add_user}]``: the next level only (callers recurse);
* ``POST /topapi/v2/user/list {"dept_id", "cursor", "size" ≤ 100}`` → ``result {has_more, next_cursor,
  list: [{userid, name, dept_id_list, leader, email, active, title}]}`` (``leader``: the user leads
  ``dept_id``): a cursor-paged listing.

Unknown departments answer 60003, a size outside 1–100 or a missing cursor 40035, a bad token 40014.
Edit ``departments``/``users`` between syncs to play a reorganisation.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from aiohttp import web

ROOT = 1


class DingTalkDirectory:
    def __init__(self, tokens: dict[str, float]) -> None:
        self.tokens = tokens  # the OpenAPI side's issued tokens (token -> monotonic expiry)
        self.departments: dict[int, dict[str, Any]] = {ROOT: {"name": "根部门", "parent_id": None, "leaders": []}}
        self.users: dict[str, dict[str, Any]] = {}  # userid -> {name, dept_id_list, email}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # -- knobs for tests --------------------------------------------------------------------------
    def add_department(self, dept_id: int, name: str, parent: int = ROOT, leaders: list[str] | None = None) -> None:
        self.departments[dept_id] = {"name": name, "parent_id": parent, "leaders": list(leaders or [])}

    def add_user(self, userid: str, name: str, departments: list[int], email: str = "") -> None:
        self.users[userid] = {"name": name, "dept_id_list": list(departments), "email": email}

    # -- routes -----------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/topapi/v2/department/get", self.department_get)
        app.router.add_post("/topapi/v2/department/listsub", self.listsub)
        app.router.add_post("/topapi/v2/user/list", self.user_list)

    @staticmethod
    def _answer(errcode: int = 0, errmsg: str = "ok", **extra: Any) -> web.Response:
        return web.json_response({"errcode": errcode, "errmsg": errmsg, "request_id": secrets.token_hex(6), **extra})

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        if self.tokens.get(request.query.get("access_token", ""), 0) <= time.monotonic():
            return self._answer(40014, "不合法的access_token")
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            return self._answer(40035, "不合法的参数")
        self.calls.append((request.path, body))
        return body if isinstance(body, dict) else self._answer(40035, "不合法的参数")

    async def _dept_call(self, request: web.Request) -> tuple[dict[str, Any], int] | web.Response:
        """The body and the (existing) department it names, or the error answer."""
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        d = body.get("dept_id", ROOT)
        if not isinstance(d, int) or d not in self.departments:
            return self._answer(60003, "部门不存在")
        return body, d

    async def department_get(self, request: web.Request) -> web.Response:
        call = await self._dept_call(request)
        if isinstance(call, web.Response):
            return call
        _body, d = call
        info = self.departments[d]
        result = {"dept_id": d, "name": info["name"], **({"parent_id": info["parent_id"]} if info["parent_id"] else {})}
        return self._answer(result=result)

    async def listsub(self, request: web.Request) -> web.Response:
        call = await self._dept_call(request)
        if isinstance(call, web.Response):
            return call
        _body, d = call
        subs = [{"dept_id": i, "name": v["name"], "parent_id": d, "create_dept_group": False, "auto_add_user": True}
                for i, v in sorted(self.departments.items()) if v["parent_id"] == d]
        return self._answer(result=subs)

    async def user_list(self, request: web.Request) -> web.Response:
        call = await self._dept_call(request)
        if isinstance(call, web.Response):
            return call
        body, d = call
        size, cursor = body.get("size"), body.get("cursor")
        if not isinstance(size, int) or not 1 <= size <= 100 or not isinstance(cursor, int) or cursor < 0:
            return self._answer(40035, "不合法的参数")
        members = [(uid, u) for uid, u in sorted(self.users.items()) if d in u["dept_id_list"]]
        page = members[cursor:cursor + size]
        more = cursor + size < len(members)
        listing = [{"userid": uid, "name": u["name"], "dept_id_list": u["dept_id_list"], "email": u["email"],
                    "leader": uid in self.departments[d]["leaders"], "active": True, "title": ""} for uid, u in page]
        result: dict[str, Any] = {"has_more": more, "list": listing}
        if more:
            result["next_cursor"] = cursor + size
        return self._answer(result=result)
