"""Router composition: clashes fail at start-up; buttons route on prefix and verb with typed args;
commands flagged ``escapes`` leave any flow; patterns may decline."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from bot.events import CardAction
from bot.router import Router, RoutingError
from bot.routing import Routes
from cards.payload import pack
from handlers import load_routers
from handlers.checkin import store
from tests.conftest import TZ, texts

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)


async def _noop(*args: object) -> None:
    return None


def test_the_real_feature_routers_compose_without_clashes():
    routes = Routes(load_routers())
    assert ("adj", "approve") in routes.actions and ("adj", "pick") in routes.actions
    assert routes.fallback is not None


def test_a_card_prefix_claimed_by_two_features_fails_at_start_up():
    a, b = Router("a"), Router("b")
    a.action("x", "go")(_noop)
    b.action("x", "stop")(_noop)
    with pytest.raises(RoutingError, match="prefix 'x'"):
        Routes([a, b])


def test_a_duplicate_prefix_and_verb_fails_even_inside_one_feature():
    parent, child = Router("parent"), Router("child")
    parent.action("x", "go")(_noop)
    child.action("x", "go")(_noop)
    parent.include(child)
    with pytest.raises(RoutingError, match="x:go"):
        Routes([parent])


def test_duplicate_flows_and_a_second_fallback_fail_at_start_up():
    a, b = Router("a"), Router("b")
    a.flow("f")(_noop)
    b.flow("f")(_noop)
    with pytest.raises(RoutingError, match="flow 'f'"):
        Routes([a, b])
    c, d = Router("c"), Router("d")
    c.fallback(_noop)
    d.fallback(_noop)
    with pytest.raises(RoutingError, match="fallback"):
        Routes([c, d])


def test_a_router_cannot_be_included_twice():
    a, b = Router("a"), Router("b")
    a.include(b)
    with pytest.raises(RoutingError):
        a.include(b)
    with pytest.raises(RoutingError):
        Routes([a, b])


async def test_a_button_whose_arguments_do_not_convert_gets_a_friendly_answer(chat):
    ev = CardAction(channel="terminal", sender="E101", key=f"terminal:{uuid.uuid4().hex}",
                    action=pack("ci", "start", "not-a-number"))
    await chat.bot.dispatcher.submit(ev, wait=True)
    await chat.bot.drain()
    assert "按钮已失效" in texts(chat.terminal.take("E101"))


async def test_an_unknown_verb_gets_a_friendly_answer(chat):
    ev = CardAction(channel="terminal", sender="E101", key=f"terminal:{uuid.uuid4().hex}",
                    action=pack("ci", "explode", 1))
    await chat.bot.dispatcher.submit(ev, wait=True)
    await chat.bot.drain()
    assert "按钮已失效" in texts(chat.terminal.take("E101"))


async def test_commands_that_escape_leave_another_features_flow(chat):
    """Mid-way through the check-in, 「我的积分」 is answered by the points feature and the check-in
    question is still waiting for its answer."""
    chat.clock.set(FRIDAY)
    await chat.run_job("checkin_push")
    await chat.press("E101", 1)  # 开始填写
    assert "在华东销售组排第" in texts(await chat.say("我的积分", as_="E101"))
    assert "积分" not in (checkin_of(chat).achievement or "")
    await chat.say("签下仁和医院首单", as_="E101")
    assert checkin_of(chat).achievement == "签下仁和医院首单"


def checkin_of(chat):
    ci = store.for_week(chat.bot.db, "E101", "2026-W48")
    assert ci is not None
    return ci


async def test_a_pattern_that_declines_lets_the_question_through(chat):
    """「1、…」 looks like a numbered check-in answer, but with no check-in open the check-in pattern
    declines, and the question is answered instead of getting the fallback."""
    out = texts(await chat.say("1、本月还有哪些任务没完成", as_="E101"))
    assert "没太明白" not in out and "任务" in out
