"""scripts/heldout_round.py: a round's writers' files become blind inputs, disagreements and a labelled set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "heldout_round.py"

REPLIES = [
    {"id": "z1-r001", "writer": "z1", "text": "这周把仓库盘点做完了，差异都查清楚了", "source": "checkin", "sentiment": "pos", "risks": []},
    {"id": "z1-r002", "writer": "z1", "text": "叉车坏了两台一直没人修，货堆在门口出不去", "source": "checkin", "sentiment": "neg",
     "risks": ["resource"]},
    {"id": "z1-r003", "writer": "z1", "text": "客户说下月再谈", "source": "visit", "sentiment": "neu", "risks": []},
]
QUESTIONS = [
    {"id": "z1-q001", "writer": "z1", "text": "我这个月的指标完成多少了", "intent": "goal_progress", "period": "this_month"},
    {"id": "z1-q002", "writer": "z1", "text": "你都能帮我干啥", "intent": "help", "period": None},
]
SECOND = [  # the blind reader: r002 also conflict, r003 negative, q001 without a period
    {"id": "z1-r001", "sentiment": "pos", "risks": []},
    {"id": "z1-r002", "sentiment": "neg", "risks": ["conflict", "resource"]},
    {"id": "z1-r003", "sentiment": "neg", "risks": []},
    {"id": "z1-q001", "intent": "goal_progress"},
    {"id": "z1-q002", "intent": "help", "period": None},
]


def _lines(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT)


def test_a_round_goes_from_writers_files_to_a_labelled_set(tmp_path: Path) -> None:
    src, labels, work, data = (tmp_path / d for d in ("src/z", "labels", "work", "data"))
    for d in (src, labels, data):
        d.mkdir(parents=True)
    (src / "replies_z.jsonl").write_text(_lines(REPLIES), encoding="utf-8")
    (src / "questions_z.jsonl").write_text(_lines(QUESTIONS), encoding="utf-8")

    done = _run("prep", "--src", str(tmp_path / "src"), "--out", str(work))
    assert done.returncode == 0, done.stderr
    blind = _read(work / "in_z.jsonl")
    assert sorted(r["id"] for r in blind) == sorted(r["id"] for r in REPLIES + QUESTIONS)
    assert all(set(r) <= {"id", "kind", "text", "source"} for r in blind)  # no label reaches the labeller

    (labels / "labels2_z.jsonl").write_text(_lines(SECOND), encoding="utf-8")
    done = _run("compare", "--src", str(tmp_path / "src"), "--labels", str(labels), "--out", str(work))
    assert done.returncode == 0, done.stderr
    dis = _read(work / "disagreements.jsonl")
    assert {(d["id"], d["field"]) for d in dis} == {("z1-r002", "conflict"), ("z1-r003", "sentiment"),
                                                    ("z1-q001", "period")}
    assert all("writer" not in d and {d["X"], d["Y"]} for d in dis)

    decisions = tmp_path / "decisions.jsonl"
    final = ["final", "--src", str(tmp_path / "src"), "--labels", str(labels), "--decisions", str(decisions),
             "--set", "99", "--data", str(data)]
    decisions.write_text(_lines([{"id": "z1-r002", "field": "conflict", "label": "yes", "reason": "r"}]), encoding="utf-8")
    done = _run(*final)
    assert done.returncode != 0 and "no decision" in done.stderr  # every disagreement needs a decision

    decisions.write_text(_lines([
        {"id": "z1-r002", "field": "conflict", "label": "yes", "reason": "the team blocks the forklifts"},
        {"id": "z1-r003", "field": "sentiment", "label": "neu", "reason": "a plain report"},
        {"id": "z1-q001", "field": "period", "label": "this_month", "reason": "这个月"},
    ]), encoding="utf-8")
    done = _run(*final)
    assert done.returncode == 0, done.stderr
    replies = {r["id"]: r for r in _read(data / "heldout99_replies.jsonl")}
    assert replies["z1-r002"]["risks"] == ["resource", "conflict"]
    assert replies["z1-r003"]["sentiment"] == "neu"
    assert _read(data / "heldout99_questions.jsonl")[0]["period"] == "this_month"
    tsv = (data / "heldout99_adjudication.tsv").read_text(encoding="utf-8").splitlines()
    assert len(tsv) == 4 and tsv[1].split("\t")[:3] == ["z1-r002", "conflict", "yes"]


def test_prep_reports_a_visit_note_over_twenty_characters(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    long_visit = {**REPLIES[2], "text": "客户说下个月再谈，价格还要再压一压，竞品报价更低"}
    (tmp_path / "src" / "replies_z.jsonl").write_text(_lines([long_visit]), encoding="utf-8")
    done = _run("prep", "--src", str(tmp_path / "src"), "--out", str(tmp_path / "work"))
    assert "visit note over 20 characters" in done.stdout and "1 problem(s)" in done.stdout


def test_corpus_import_drops_decisions_for_rows_it_did_not_keep(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from corpus_import import OUT, prune_adjudication, read

    real = read(OUT / "replies.jsonl")[0]["id"]
    adj = tmp_path / "adjudication.tsv"
    adj.write_text(f"# id\tfield\tlabel\treason\n{real}\tsentiment\tneu\tkept\nw99z-r001\tsentiment\tneg\tdropped row\n",
                   encoding="utf-8")
    assert prune_adjudication(adj) == 1
    assert adj.read_text(encoding="utf-8").splitlines()[1:] == [f"{real}\tsentiment\tneu\tkept"]
