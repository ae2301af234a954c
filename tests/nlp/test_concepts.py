"""Concept features (nlp/concepts.py): many wordings of one thing share one model weight."""

from __future__ import annotations

from nlp.concepts import concept_features, parse, table


def test_different_wordings_of_one_thing_give_the_same_concept() -> None:
    concepts = table()
    assert concepts, "nlp/data/concepts.tsv is shipped with the model"
    night = {c for c in concept_features("昨晚又通宵了") if c.startswith("k:burnout.")}
    assert night and night == {c for c in concept_features("天天熬夜到凌晨三点") if c.startswith("k:burnout.")} & night


def test_a_negated_mention_is_its_own_feature() -> None:
    lex = parse(["burnout.overtime\t加班|OT"])
    assert concept_features("最近一直加班", lex) == {"k:burnout.overtime": (4, 6)}
    assert concept_features("最近没有加班", lex) == {"k!:burnout.overtime": (4, 6)}
    assert concept_features("这周不太OT", lex) == {"k!:burnout.overtime": (4, 6)}  # matched lower-case
    assert concept_features("hotel night audit", lex) == {}  # a Latin expression stands as a word
    # the shipped lexicon also lists common negations as their own concept (没有加班 -> a negation)
    assert not any(c.startswith("k:burnout.") for c in concept_features("最近没有加班"))


def test_the_longest_expression_wins_and_spans_point_at_the_words() -> None:
    lex = parse(["# comment", "burnout.sleep\t失眠|睡不着", "ctx.busy_fine\t还行|忙但还行", "pos.x\t失眠"])
    assert lex["失眠"] == "burnout.sleep"  # an expression listed twice keeps its first concept
    assert lex["忙但还行"] == "ctx.busy_fine"


def test_features_carry_the_span_of_the_matched_words() -> None:
    text = "这周HC冻结了，一个人顶三个"
    feats = concept_features(text)
    spans = {text[s:e] for s, e in feats.values()}
    assert any("一个人顶" in s or "顶三个" in s for s in spans)
