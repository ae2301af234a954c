"""Free-text replies: sentiment and risk signals.

Every example sentence here is new (none is copied from ../shared/data/replies_dev.jsonl): they check
that each context rule generalises to replies nobody has labelled yet.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nlp.analyze import Analysis, RiskSignal, analyze
from nlp.evaluate import eval_replies, format_replies_report
from nlp.lexicon import CATEGORIES, load_lexicon, parse_lexicon
from nlp.normalize import normalize

DEV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "replies_dev.jsonl"


def cats(text: str, source: str = "checkin") -> list[str]:
    return analyze(text, source).risk_categories


def check(cases: list[tuple[str, list[str]]], source: str = "checkin") -> None:
    bad = [(t, want, cats(t, source)) for t, want in cases if cats(t, source) != want]
    assert not bad, bad


def test_api_shapes() -> None:
    a = analyze("人手紧，每天加班到十一点。")
    assert isinstance(a, Analysis)
    assert a.sentiment in ("pos", "neu", "neg") and -1.0 <= a.score <= 1.0
    assert all(isinstance(r, RiskSignal) and 1 <= r.severity <= 3 for r in a.risks)
    assert a.risk_categories == ["burnout", "resource"]
    assert analyze("").risks == () and analyze("").sentiment == "neu"
    assert analyze("还行", source="unknown-source").sentiment == "neu"


def test_plain_signals() -> None:
    check([
        ("这个月每天都加班到十一点，有点撑不住了。", ["burnout"]),
        ("连续三周加班，周末也没休息。", ["burnout"]),
        ("拿到一个offer，在考虑要不要去。", ["attrition"]),
        ("晋升名单又没有我，准备投简历了。", ["attrition", "conflict"]),
        ("服务器申请了一个月还没批下来，只能在本地跑。", ["resource"]),
        ("市场预算被砍了三成，活动只能减半。", ["resource"]),
        # too much work for too few people, with no exhaustion or overtime said: resource only (both
        # labellers of the writers' corpus agree, kappa 0.97; nlp/data/GUIDELINE.md "Time and people")
        ("一个人负责三个城市的渠道，根本忙不过来。", ["resource"]),
        ("一个人负责三个城市的渠道，天天忙到半夜，根本忙不过来。", ["burnout", "resource"]),
        ("需求变更频繁，开发和产品吵了好几次。", ["conflict"]),
        ("睡眠很差，一闭眼就想到没做完的需求。", ["burnout"]),
        ("主管对我的考评不公平，我已经找HR反映了。", ["conflict"]),
        ("功劳都是组长的，锅都是我的。", ["conflict"]),
    ])


def test_negation() -> None:
    check([
        ("最近压力并不大，项目节奏可控。", []),
        ("加班不多，基本六点就能走。", []),
        ("没有想跳槽的意思，这边挺好。", []),
        ("暂时不缺人，排期也跟得上。", []),
        ("我们组没有内卷，大家到点就走。", []),
        ("并不存在甩锅的问题，大家都很配合。", []),
    ])
    assert analyze("没有想跳槽的意思，这边挺好。").sentiment == "pos"


def test_hedges_and_answered_questions() -> None:
    check([
        ("会不会预算不够？问了财务，够用。", []),
        ("加班多不多？还好，偶尔。", []),
        ("跳槽？从来没考虑过。", []),
        ("下个月会不会又要天天加班？有点慌。", ["burnout"]),
        ("测试环境够不够用？不够，差得远。", ["resource"]),
    ])


def test_resolved_and_declined() -> None:
    check([
        ("上个月人手很紧，后来招到了两个人，现在好多了。", []),
        ("之前老加班，现在流程顺了，不用加班了。", []),
        ("猎头打电话来，我直接拒了，不考虑。", []),
        # turned down, said after the offer or before it in the clause (eighth round, from H13's misses)
        ("猎头找我去一家物流公司当经理，我说不去，这边挺好", []),
        ("猎头这周打了好几次电话，懒得理", []),
        ("Coco拒了那边的offer，说还是想留下来", []),
    ])
    check([("拿到offer，在和家人商量", ["attrition"]), ("面试了一家，下周复试", ["attrition"])])


def test_a_peer_resigning_is_resource_for_the_writer() -> None:
    check([
        ("同组的陈工递了辞呈，月底离开，他的两条线由我接手", ["resource"]),
        ("场控阿May提了离职，下周五最后一天，她那块我先顶着", ["resource"]),
    ])


def test_ninth_round_settlements() -> None:
    """GUIDELINE.md, ninth-round settlements: a shortage already covered, a leaving remark taken back as
    a joke, a move inside the company, a peer named by team and name, the person told about a
    resignation, an overnight said to be the only one, a quarrel talked through."""
    check([
        ("下周外出培训本来缺一个带队老师，教研组已经安排好了，没问题", []),
        ("打样要出三十双，师傅只有三个，我排了一下排得下", []),
        ("上周说要辞职是开玩笑的，别当真，这边挺好", []),
        ("不想再跑外勤了，想申请调到内勤那边去", []),
        ("上周六通宵帮客户抢修服务器，就一晚，没事", []),
        ("和组长的矛盾周三当面聊开了，现在没事了", []),
    ])
    check([
        ("我们组李老师递了辞呈，她的两个班要我们分担", ["resource"]),
        ("组里的kevin提了离职，他的客户要分给我们几个", ["resource"]),
        ("我已经跟王姐提了离职，做到月底，交接清单会列好", ["attrition"]),  # 王姐 is told, not leaving
        ("人手不够，其他没得问题", ["resource"]),  # "no other problem" does not cover the shortage
        ("再这样下去我真的要辞职了，不是开玩笑", ["attrition"]),
    ])


def test_the_one_problem_a_reply_singles_out_is_kept() -> None:
    """"X，其他没问题" names X as the week's one problem (ninth-round settlement): the rule signal is
    reported even where the reassuring tail pulls the learned model's probability under its usual floor;
    a tail with no signal before it stays clean, and the model still drops what it is sure is no risk
    (a leaving remark taken back as a joke, which the rules do not veto in this wording)."""
    check([
        ("人手不够，其他没得问题", ["resource"]),
        ("人手不够 其他都正常", ["resource"]),
        ("人手不够，不过其他没问题", ["resource"]),
        ("预算没批下来，其他没问题", ["resource"]),
        ("这周连轴转了六天，其余一切正常", ["burnout"]),
        ("进度正常，其他没得问题", []),
        ("上周说要辞职是开玩笑的，其他没问题", []),
    ])


def test_tenth_round_declines_transfers_and_promises() -> None:
    """Tenth round (from H15's errors): dialect declines, internal moves, a night or a tiredness
    conceded, broken promises; and what must stay a flight risk (a decline taken back, no answer yet)."""
    check([
        ("猎头问我去不去上海那边，我给回了，家在这边", []),
        ("想申请转培训岗，不想再跑业务了", []),
        ("内部竞聘报了名，下周面试", []),
        ("累是累，不过项目顺利上线，值了", []),
        ("周三守了一晚机房，今天补了觉，没事", []),
        ("又被拒了，这个客户太难搞", []),  # a customer's no, not a declined offer
    ])
    check([
        ("年初说好的补贴，到现在还没影", ["conflict"]),
        ("老领导叫我过去帮他，这回我不打算拒绝了", ["attrition"]),
        ("有家公司的HR加我微信，我还没回", ["attrition"]),  # not answered yet: still entertained
    ])


def test_eleventh_round_hr_work_declines_and_teammates_deciding() -> None:
    """Eleventh round (from H16's errors): an HR partner's own recruiting and exit work is not anyone
    leaving; more ways to turn an offer down; a move inside the company; a layoff fear; a teammate still
    deciding (or the writer's own report) is a flight risk, a teammate who has resigned leaves the team short."""
    check([
        ("本周：入职8人，离职3人，完成两场离职面谈", []),
        ("下周背调3人，终面2场", []),
        ("同行请我吃饭想拉我过去，我没应", []),
        ("朋友内推我去深圳，考虑到孩子上学，就没去", []),
        ("在考虑转去做售前，不想再背指标了", []),
        ("听说分公司要精简，外包那批可能不续了", []),
        ("这周事少，准时走人", []),
        ("两个实习生为排班吵起来了，我把班错开了，现在没事了", []),
        ("虽说累，客户终于验收了，大家辛苦", []),
    ])
    check([
        ("组里的小刘说年底拿完奖金就走", ["attrition"]),  # a teammate still deciding
        ("这个月熬了三个大夜，脑子都是懵的", ["burnout"]),  # counted nights are a pattern
        ("真的干不动了", ["burnout"]),
        ("出了质量问题，主管把责任全推到我们班组头上", ["conflict"]),
        ("设计跟我当着客户的面吵起来了，很尴尬", ["conflict"]),  # the customer only watched
    ])
    assert "attrition" in cats("我带的小陈递了辞职报告，下个月走，他的活还没人接")  # the writer's own report
    assert cats("隔壁组的老周递了辞职报告，下个月走，他的活还没人接") == ["resource"]  # a peer who resigned


def test_twelfth_round_declines_counterfactuals_promises_and_long_shifts() -> None:
    """Twelfth round (from H17's errors): more declines, a shortage that did not happen, a clash with
    the other party named after 跟, a promise with no news since, standing long shifts, weeks of crunch."""
    check([
        ("有家同行托人问我过不过去，我说不用了，这边挺好", []),
        ("前同事拉我去创业，我已读不回", []),
        ("幸亏小王帮我顶了一天，不然真的忙不过来", []),
        ("想调白班，孩子要接送，已经跟主管说了", []),
        ("周四通宵赶了一版标书，今天顺利开标，冲！", []),  # one upbeat all-nighter
        ("这周好累，不过项目终于上线了，值得", []),  # tiredness conceded before what was worth it
        ("业绩缺口还有两百万，大家加把劲", []),  # a sales gap, not a lack of means
        ("仓库缺两台叉车，已经从别的仓调了两台过来", []),
    ])
    check([
        ("小刘跟隔壁组的组长在会上吵起来了，我得去调解", ["conflict"]),
        ("公司年年说要涨补贴，讲了两年都没下文", ["conflict"]),
        ("排班改成两班倒了，每班12小时", ["burnout"]),
        ("赶工了两个月，人都瘦了一圈", ["burnout"]),
    ])


def test_slang_homophones_and_typos() -> None:
    check([
        ("又是卷的一周，大家都不敢走", ["burnout"]),
        ("真的想润了", ["attrition"]),
        ("天天家班，头都大了", ["burnout"]),
        ("在考虑离值，没动力了", ["attrition"]),
        ("资远严重不足，啥都干不了", ["resource"]),
    ])
    # the slang is the point; three launches at once may also read as `resource` (the guideline's
    # "time and people" rule), a borderline call the models of different rounds make either way
    assert set(cats("亚历山大啊，三个项目同时上线", "checkin")) - {"resource"} == {"burnout"}


def test_traditional_english_and_full_width() -> None:
    check([
        ("資源不夠，測試環境也沒有", ["resource"]),
        ("壓力山大，每天都在加班", ["burnout"]),
        ("Feeling burnout, 连续两个周末在改bug", ["burnout"]),
        ("组长天天ＰＵＡ我，受够了", ["conflict"]),
        ("评审会上被总监Diss了，很郁闷", ["conflict"]),
    ])


def test_owned_by_customer_or_other_department() -> None:
    check([
        ("客户那边压力很大，老板天天催他们", []),
        ("甲方内部矛盾很多，项目推不动", []),
        ("供应商缺人，交货要延后", []),
        ("对方项目经理离职了，要重新对接", []),
        ("帮兄弟部门解决了预算不足的问题", []),
    ], source="visit")


def test_visited_partys_shortage_is_the_writers_when_it_blocks_the_writer() -> None:
    # the learned model may not put back a class the rules gave to the visited party (Detection.firm),
    # but a note that says the writer's own work waits is the writer's resource problem
    check([
        ("供应商缺货，我们门店只能干等", ["resource"]),
        ("经销商缺人，我们的货压在仓库出不去", ["resource"]),
    ], source="visit")


def test_other_senses() -> None:
    check([
        ("把离职员工的账号都回收了。", []),
        ("做了一份员工离职原因分析。", []),
        ("修复了git合并冲突，代码已合入。", []),
        ("这周做压测，QPS到了五千。", []),
        ("在给候选人发offer，下周入职。", []),
        ("利润率提升了3个点，累计签约金额突破千万。", []),
    ])


def test_one_off_versus_pattern() -> None:
    check([
        ("昨天加班到十点，把报告赶完了。", []),
        ("周三晚上加了个班，其他时间正常。", []),
        ("最近经常加班，身体有点吃不消。", ["burnout"]),
    ])


def test_colleagues_leaving_is_resource_and_manager_reports() -> None:
    check([
        ("同事走了三个，一直没招到人，活都压在我身上", ["resource"]),
        ("组里老李提了离职，他的活分给我了", ["resource"]),
    ])
    check([
        ("小陈最近经常加班到很晚，和组长也有摩擦，我找他聊聊。", ["burnout", "conflict"]),
        # a resignation with a handover plan: the team loses a person (seventh-round settlement)
        ("老周已经在办离职手续，交接由小吴负责。", ["attrition", "resource"]),
    ], source="manager")
    assert analyze("老周已经在办离职手续，交接由小吴负责。", "manager").sentiment == "neu"


def test_sarcasm_emoji_and_short_replies() -> None:
    assert analyze("天天加班到半夜，真开心呢😊").sentiment == "neg"
    assert cats("太好了，又要通宵了") == ["burnout"] and analyze("太好了，又要通宵了").sentiment == "neg"
    assert analyze("谢谢主管又把锅甩给我，学到了").sentiment == "neg"
    assert analyze("😭😭").sentiment == "neg"
    assert analyze("🎉").sentiment == "pos"
    assert analyze("👍🏻").sentiment == "pos"  # skin tone modifier dropped
    assert analyze("OK").sentiment == "neu"
    assert analyze("暂无").sentiment == "neu" and cats("暂无") == []
    assert cats("累死了") == ["burnout"]


def test_sentiment_tone() -> None:
    assert analyze("客户验收通过，团队表现很棒！").sentiment == "pos"
    assert analyze("今天拜访顺利，客户有采购意向", "visit").sentiment == "pos"
    assert analyze("障碍：测试服务器不够，先用云上临时环境，下周申请扩容。").sentiment == "neu"
    assert analyze("方案被领导打回来了，很失望。").sentiment == "neg"


def test_evidence_spans_point_into_original_text() -> None:
    text = "Ｑ3目標：壓力真的很大！天天家班😩，預算也被砍了"
    a = analyze(text)
    assert a.risk_categories == ["burnout", "resource"]
    for r in a.risks:
        assert text[r.start:r.end] == r.evidence
    evidence = {r.evidence for r in a.risks}
    assert "壓力真的很大" in evidence and any("家班" in e for e in evidence)
    assert any(r.evidence.startswith("預算") for r in a.risks)


def test_severity_scales_with_intensity() -> None:
    mild = analyze("有点累").risks[0].severity
    severe = analyze("真的累垮了，完全顶不住").risks[0].severity
    assert 1 <= mild < severe <= 3


def test_normalize_keeps_offsets() -> None:
    n = normalize("ＡＢ，壓力")
    assert n.text == "ab，压力"
    assert n.span(3, 5) == (3, 5)


def test_lexicon_is_data(tmp_path: Path) -> None:
    lex = load_lexicon()
    assert {e.category for e in lex.entries} == set(CATEGORIES)
    extra = tmp_path / "lex.tsv"
    extra.write_text("# custom\n@thing\t打印机|投影仪\nresource\t{thing}~坏了\t-\t2\t-\t-\n", encoding="utf-8")
    custom = parse_lexicon(extra)
    assert custom.entries[0].regex.search("投影仪又坏了")


def test_thread_safe() -> None:
    texts = ["人手不够，天天加班", "客户很满意", "想离职了"] * 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        out = list(pool.map(analyze, texts))
    assert [a.risk_categories for a in out[:3]] == [["burnout", "resource"], [], ["attrition"]]


@pytest.mark.skipif(not DEV.exists(), reason=f"dev set not found at {DEV} (shared data lives beside the repo)")
def test_dev_set_targets() -> None:
    result = eval_replies(str(DEV))
    assert result["n"] == len(DEV.read_text(encoding="utf-8").splitlines())
    assert result["risk_micro_f1"] >= 0.92
    assert result["risk"]["attrition"]["recall"] >= 0.92
    assert result["risk"]["burnout"]["recall"] >= 0.92
    assert result["sentiment_macro_f1"] >= 0.80
    assert result["ms_per_item"] > 0  # measured, but never asserted against a wall-clock budget
    report = format_replies_report(result)
    assert "micro F1" in report and "macro F1" in report
    json.dumps(result)
