"""The writers' corpus in nlp/data/corpus (scripts/corpus_import.py) and behaviour issue 14 asks for."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from nlp.analyze import analyze
from nlp.intent import parse_question
from nlp.normalize import looks_like_question, normalize

CORPUS = Path(__file__).resolve().parents[2] / "nlp" / "data" / "corpus"
RISKS = ["burnout", "attrition", "resource", "conflict"]


def _rows(name: str) -> list[dict]:
    return [json.loads(x) for x in (CORPUS / name).read_text(encoding="utf-8").splitlines() if x.strip()]


def test_corpus_replies_keep_both_labels_and_the_adjudicated_one() -> None:
    rows = _rows("replies.jsonl")
    assert len({r["id"] for r in rows}) == len(rows) >= 1500
    assert len({r["writer"] for r in rows}) >= 8
    for r in rows:
        assert r["source"] in {"checkin", "visit", "manager"} and r["sentiment"] in {"pos", "neu", "neg"}, r["id"]
        assert r["risks"] == [c for c in RISKS if c in r["risks"]], r["id"]
        assert r["label_writer"]["sentiment"] in {"pos", "neu", "neg"}
        if r["label_second"] is not None:
            assert set(r["label_second"]) == {"sentiment", "risks"}
        if r["source"] == "visit":
            assert len(r["text"]) <= 20, r["id"]
    assert sum(r["label_second"] is not None for r in rows) >= 1000


def test_corpus_questions_are_labelled_with_known_intents() -> None:
    rows = _rows("questions.jsonl")
    assert len({r["id"] for r in rows}) == len(rows) >= 700
    known = {"tasks_left", "last_feedback", "goal_progress", "goal_alignment", "points", "checkin_status",
             "adjust_target", "help", "none"}
    assert all(r["intent"] in known and r["label_writer"]["intent"] in known for r in rows)


def test_adjudication_decisions_name_real_rows_and_fields() -> None:
    ids = {r["id"] for r in _rows("replies.jsonl")} | {r["id"] for r in _rows("questions.jsonl")}
    fields = {"sentiment", "intent", "period", *RISKS}
    for line in (CORPUS / "adjudication.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rid, field, _value, reason = line.split("\t")
            assert rid in ids and field in fields and reason, line


@pytest.mark.parametrize(("name", "tag", "at_least"), [("relabel7.tsv", "7th", 50), ("relabel8.tsv", "8th", 20)])
def test_the_blind_relabels_are_applied_to_the_corpus(name: str, tag: str, at_least: int) -> None:
    """Points settled or reread after most rows were labelled (pay and promises; who is leaving):
    the training rows carry the relabelled classes (the conflict the new writers expect for
    说好的补贴到现在还没发; the resource a report's resignation with a handover leaves)."""
    rows = {r["id"]: r for r in _rows("replies.jsonl")}
    decisions = [line.split("\t") for line in (CORPUS / name).read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
    assert len(decisions) >= at_least
    later = {(rid, field) for path in ("relabel7.tsv", "relabel8.tsv") if path > name
             for rid, field, *_ in (line.split("\t") for line in (CORPUS / path).read_text(encoding="utf-8").splitlines()
                                    if line.strip() and not line.startswith("#"))}
    for rid, field, value, reason in decisions:
        assert field in RISKS and reason.startswith(tag), (rid, field)
        if (rid, field) not in later:
            assert (field in rows[rid]["risks"]) == (value == "1"), (rid, field, rows[rid]["text"])


@pytest.mark.parametrize("text", ["就这样", "好的", "收到", "行", "嗯", "👌", "收到！", "好的。"])
def test_short_acknowledgements_are_neutral(text: str) -> None:
    assert analyze(text).sentiment == "neu"
    assert analyze(text).risks == ()


@pytest.mark.parametrize(("text", "intent"), [
    ("请问这个助手是做什么用的", "help"),
    ("头一回用这个，怎么玩", "help"),
    ("有没有使用说明", "help"),
    ("我手上的项目是为公司哪个大目标服务的", "goal_alignment"),
    ("我干的这些活跟部门今年的方向有什么关系", "goal_alignment"),
    ("离这个月的目标我还差多少", "goal_progress"),
    ("我距离季度指标还有多远", "goal_progress"),
])
def test_questions_in_their_own_words(text: str, intent: str) -> None:
    assert parse_question(text, date(2026, 11, 24)).intent == intent


def test_a_question_is_recognised_as_one_and_is_not_read_as_distress() -> None:
    def is_question(text: str) -> bool:
        return looks_like_question(normalize(text).text)

    assert is_question("我离目标还差多少") and is_question("这个机器人是干嘛的") and is_question("怎么提交周报")
    assert not is_question("连续三周加班到半夜，真的撑不住了") and not is_question("收到")
    assert analyze("我离目标还差多少？").sentiment != "neg"


def test_cantonese_written_forms_reach_the_lexicons() -> None:
    assert normalize("搞掂咗，唔使担心").text == "搞定了，不使担心"
    assert analyze("成个月冇休息，日日做到半夜，好攰").risk_categories == ["burnout"]
    assert analyze("人手唔够，日日加班到十一点").risk_categories == ["burnout", "resource"]
