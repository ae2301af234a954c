"""An accepted event's stored payload (InboundEvent.to_dict): what the sweeper replays after a crash."""

from __future__ import annotations

import json

from bot.events import CardAction, SystemEvent, TextMessage, event_from_dict


def test_every_kind_reads_back_as_the_same_event_after_the_json_round_trip() -> None:
    events = [
        TextMessage(channel="wecom", sender="zhangsan", key="wecom:msg:1", text="本周完成了华山医院的方案"),
        CardAction(channel="dingtalk", sender="lisi", key="dt:cb:9", conversation_id="cid", employee_id="E007",
                   action="checkin|tags", selected={"tags": ["价格", "交期"]}, handle={"outTrackId": "t-1"}),
        SystemEvent(channel="system", sender="E001", key="sys:import:3", name="import", data={"rows": [1, 2]}),
    ]
    for event in events:
        stored = json.loads(json.dumps(event.to_dict(), ensure_ascii=False))
        assert stored["kind"] == type(event).__name__
        assert event_from_dict(stored) == event


def test_the_payload_does_not_change_when_the_live_event_does() -> None:
    # the payload is written on the database thread while a worker may already be handling the event
    event = CardAction(channel="dingtalk", sender="lisi", key="dt:cb:10", selected={"tags": ["价格"]})
    payload = event.to_dict()
    event.selected["tags"].append("交期")
    event.employee_id = "E007"
    assert payload["selected"] == {"tags": ["价格"]} and payload["employee_id"] is None
