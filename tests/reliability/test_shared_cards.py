"""A shared card (the same for everyone, never updated: the help menu) to many people is one WeCom
``message/send`` with one ``task_id``, and stays exactly once per person when the answer is lost, when
the call never arrived and its rows come back in separate rounds, and when the worker dies mid-call:
who shares the card and under which ``task_id`` is stored on the rows before the call, every resend
goes to the whole group with that ``task_id``, and WeCom's refusal of a used ``task_id`` (40098) means
the group has it."""

from __future__ import annotations

from bot.channels.wecom import WeComChannel
from handlers.menu import help_card
from storage import cardstore
from storage import outbox as ob
from storage.outbox import NewMessage, enqueue_many
from tests.reliability.conftest import REPS
from tests.wecom.conftest import WeComRig

USERS = REPS[:6]


def _queue(rig: WeComRig, users: list[str], shared: bool = True) -> None:
    card = help_card("employee").to_dict()
    msgs = []
    for u in users:
        emp = "R" + u.removeprefix("wx_r")
        payload = {"card": card, "subject": f"help:{emp}", **({"shared": True} if shared else {})}
        msgs.append(NewMessage(f"test:help:{u}", "wecom", u, "card", payload, emp, priority=ob.REPLY))
    enqueue_many(rig.bot.db, msgs, rig.clock.now())


async def _send(rig: WeComRig, users: list[str], shared: bool = True, fault: str | None = None) -> None:
    """Queue the help card for ``users`` and let the running worker send it (``fault``: what the
    emulator does with the next API call)."""
    if fault is not None:
        rig.emulator.faults = [fault]
    _queue(rig, users, shared)
    rig.bot.services.wake("wecom")
    await rig.settle()


def _card_calls(rig: WeComRig) -> list[dict]:
    return [b for p, b in rig.emulator.api_calls if p == "message/send" and b.get("msgtype") == "template_card"]


async def _stop_workers(rig: WeComRig) -> None:
    for w in rig.bot.services.workers.values():
        await w.stop()


def _channel(rig: WeComRig) -> WeComChannel:
    ch = rig.bot.channels["wecom"]
    if not isinstance(ch, WeComChannel):
        raise TypeError(ch)
    return ch


async def test_one_call_one_card_each_and_taps_answered(frig: WeComRig) -> None:
    emu = frig.emulator
    emu.users.discard(USERS[3])  # left the company: echoed in invaliduser
    await _send(frig, USERS)
    [call] = _card_calls(frig)
    assert sorted(call["touser"].split("|")) == sorted(USERS)
    task_id = call["template_card"]["task_id"]
    assert [emu.deliveries(u, "template_card") for u in USERS] == [1, 1, 1, 0, 1, 1]
    rows = {u: ob.get(frig.bot.db, f"test:help:{u}") for u in USERS}
    assert [rows[u].status for u in USERS] == ["sent", "sent", "sent", "failed", "sent", "sent"]
    assert "invaliduser" in (rows[USERS[3]].last_error or "")
    [rec] = cardstore.for_subject(frig.bot.db, "help:R0000")
    assert rec.handle_key == task_id and rec.delivered_at is not None

    # Two people tap the same shared card: each is answered, as with a card of their own.
    for u in USERS[:2]:
        before = len(emu.texts(u))
        key = emu.card_for(u, task_id)["button_list"][0]["key"]
        assert await frig.driver.push(frig.driver.click_xml(u, key, task_id)) == [200]
        await frig.settle()
        assert len(emu.texts(u)) == before + 1


async def test_cards_not_marked_shared_still_go_one_by_one(frig: WeComRig) -> None:
    await _send(frig, USERS[:3], shared=False)
    calls = _card_calls(frig)
    assert len(calls) == 3 and len({c["template_card"]["task_id"] for c in calls}) == 3


async def test_an_answer_lost_after_delivery_does_not_show_the_card_twice(frig: WeComRig) -> None:
    emu = frig.emulator
    await _send(frig, USERS, fault="502-after")  # WeCom delivers, then the answer is lost: in doubt
    assert emu.faulted["502-after"] == 1 and all(ob.get(frig.bot.db, f"test:help:{u}").in_doubt for u in USERS)
    frig.clock.advance(seconds=3600)
    frig.bot.services.wake("wecom")
    await frig.settle()
    first, resend = _card_calls(frig)
    assert resend["template_card"]["task_id"] == first["template_card"]["task_id"]
    assert sorted(resend["touser"].split("|")) == sorted(USERS)
    assert [emu.deliveries(u, "template_card") for u in USERS] == [1] * len(USERS)
    assert {ob.get(frig.bot.db, f"test:help:{u}").status for u in USERS} == {"sent"}


async def test_a_call_that_never_arrived_reaches_everyone_once_when_its_rows_come_back_apart(frig: WeComRig) -> None:
    emu = frig.emulator
    await _send(frig, USERS, fault="502")  # nothing delivered, but the bot cannot know: in doubt
    assert [emu.deliveries(u, "template_card") for u in USERS] == [0] * len(USERS)
    await _stop_workers(frig)  # from here we play the workers
    frig.clock.advance(seconds=3600)
    two = ob.claim_due(frig.bot.db, "wecom", "worker-a", frig.clock.now(), limit=2)
    assert len(two) == 2
    results = await _channel(frig).deliver(two)  # the resend goes to the whole group; worker-a then dies
    assert [r.status for r in results] == ["sent", "sent"]
    assert [emu.deliveries(u, "template_card") for u in USERS] == [1] * len(USERS)
    frig.clock.advance(seconds=121)  # worker-a's rows are stale; the other four are due
    await frig.bot.drain()
    assert [emu.deliveries(u, "template_card") for u in USERS] == [1] * len(USERS)
    assert {ob.get(frig.bot.db, f"test:help:{u}").status for u in USERS} == {"sent"}


async def test_a_worker_that_dies_mid_call_leaves_no_second_card(frig: WeComRig) -> None:
    emu = frig.emulator
    await _stop_workers(frig)
    _queue(frig, USERS)
    rows = ob.claim_due(frig.bot.db, "wecom", "dead-worker", frig.clock.now(), limit=len(USERS))
    results = await _channel(frig).deliver(rows)  # delivered; the worker dies before recording it
    assert {r.status for r in results} == {"sent"}
    frig.clock.advance(seconds=121)
    await frig.bot.drain()  # reclaims the rows as in doubt and resends to the group: 40098
    assert len(_card_calls(frig)) == 2
    assert [emu.deliveries(u, "template_card") for u in USERS] == [1] * len(USERS)
    assert {ob.get(frig.bot.db, f"test:help:{u}").status for u in USERS} == {"sent"}
