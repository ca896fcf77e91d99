"""Explanations are read off the trace: rule, citation, conditions, arithmetic, exceptions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from interpreter.api import load_rulebook, load_source
from interpreter.explanation import why_not

FESTIVAL = {
    "订单号": "1",
    "付款时间": "2022-01-25 10:00:00",
    "实付金额": "100.15",
    "报名春节不打烊": True,
    "收货省份": "浙江省",
    "发货省份": "广东省",
    "评估时间": "2022-01-30 00:00:00",
    "物流轨迹": [{"时间": "2022-01-27 15:30:00", "状态": "已揽收"}],
}


@pytest.fixture(scope="module")
def decision():
    return load_rulebook("shipping").evaluate(FESTIVAL, now="2022-01-30 00:00:00")


def test_conclusion_names_the_rule_and_its_citation(decision):
    view = decision.explanation.get("发货截止时间")
    assert view.text == "2022-01-27 10:00:00"
    assert view.decided_by.key == "SHIP-1a"
    assert any("特殊说明(1)" in c and "种子 000" in c for c in view.decided_by.citations)


def test_conditions_carry_the_compared_values(decision):
    conds = decision.explanation.get("发货截止时间").decided_by.conditions
    window = next(c for c in conds if "春节不打烊付款开始" in c["条件"])
    assert window["结果"] == "成立"
    assert "2022-01-25 10:00:00 在 2022-01-24 20:00:00 至 2022-02-08 23:59:59 之间" == window["取值"]


def test_exceptions_weighed_say_why(decision):
    weighed = {r.key: r for r in decision.explanation.get("发货截止时间").weighed}
    assert weighed["SHIP-1"].status == "被例外覆盖"
    assert "SHIP-1a" in weighed["SHIP-1"].reason
    assert weighed["SHIP-1b"].status == "不适用"


def test_arithmetic_shows_rounding(decision):
    view = decision.explanation.get("本单赔付金额")
    assert decision.conclusions["本单赔付金额"] == Decimal("30.05")
    assert view.calculation == "最大（100.15 × 30% = 30.045 → 30.05，5.00）= 30.05"


def test_counterfactual_gives_the_threshold(decision):
    lines = decision.explanation.get("是否延迟发货").counterfactuals
    assert any("不晚于 2022-01-27 10:00:00" in line and "将为 否" in line for line in lines)


def test_version_choice_is_explained():
    book = load_source(
        """规则书 价格
文献 价规：《价格规则》
输入：
  报名时间：时间
结论：
  上限：金额
版本 旧版：按 报名时间，早于 2022-04-15
版本 新版：按 报名时间，自 2022-04-15 起
规则 P-1 旧：
  依据 价规 "一"
  适用版本 旧版
  则 上限 = 10元
规则 P-2 新：
  依据 价规 "二"
  适用版本 新版
  则 上限 = 20元
""",
        "价格.rules",
    )
    d = book.evaluate({"报名时间": "2022-05-10 00:00:00"}, now="2022-06-01 00:00:00")
    view = d.explanation.get("上限")
    assert view.text == "20.00"
    assert view.decided_by.version == "报名时间 2022-05-10 00:00:00 ≥ 2022-04-15 → 适用「新版」"
    old = next(r for r in view.weighed if r.key == "P-1")
    assert "不适用" in old.reason


def test_why_not_lists_every_rule(decision):
    lines = why_not(decision.rulebook.program, decision.trace, "是否自动赔付")
    text = "\n".join(lines)
    assert "SHIP-4a" in text and "✗ 报名春节不打烊 = 否" in text


def test_why_not_for_a_rule():
    d = load_rulebook("shipping").evaluate({**FESTIVAL, "报名春节不打烊": False}, now="2022-01-30 00:00:00")
    text = "\n".join(why_not(d.rulebook.program, d.trace, "SHIP-1a"))
    assert "SHIP-1a" in text and "条件不成立" in text


def test_why_not_unknown_name_suggests():
    d = load_rulebook("shipping").evaluate(FESTIVAL, now="2022-01-30 00:00:00")
    with pytest.raises(KeyError, match="是否想写"):
        why_not(d.rulebook.program, d.trace, "是否自动赔")


def test_json_explanation_matches_conclusions(decision):
    payload = decision.to_json()
    assert payload["rulebook"] == "shipping"
    names = [e["结论"] for e in payload["explanation"]]
    assert names == list(payload["conclusions"])
    entry = next(e for e in payload["explanation"] if e["结论"] == "本单赔付金额")
    assert entry["值"] == "30.05" and entry["决定规则"]["规则"] == "SHIP-5"


@pytest.mark.parametrize(("value", "text"), [
    (None, "空"), (True, "是"), (False, "否"), ("浙江省", "浙江省"), (3, "3"),
    (Decimal("30.05"), "30.05"), (Decimal("-0.00"), "-0.00"), (Decimal("30.0"), "30"),
    (Decimal("1.250"), "1.25"), (Decimal("100"), "100"),
    (datetime(2022, 1, 27, 10, 0), "2022-01-27 10:00:00"),
    (date(2022, 1, 27), "2022-01-27"),
    (timedelta(days=1, hours=2), "1天2小时"),
    (("a", True), "[a，是]"), ([], "[]"), ({"时间": None, "状态": "揽收"}, "{时间：空，状态：揽收}"),
])
def test_display_spells_each_kind_of_value(value, text):
    from dsl.operations import display

    assert display(value) == text


def test_brief_summarises_a_list_only_when_its_text_is_over_the_limit():
    from interpreter.explanation import _brief

    fits = ["x" * 9] * 6  # "[" + 6×9 + 5 separators + "]" = 61 > 60
    assert _brief(fits[:5]) == "[" + "，".join(fits[:5]) + "]"
    assert _brief(fits) == "[共 6 项]"
    exact = ["x" * 58]  # "[" + 58 + "]" = 60, the limit itself
    assert _brief(exact) == "[" + "x" * 58 + "]"
    assert _brief(["x" * 59]) == "[共 1 项]"
    assert _brief(()) == "[]"
