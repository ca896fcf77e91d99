"""The compiled evaluator: agrees with the reference tree-walker, and generates what it should.

`rulebook test` cross-checks both evaluators on every oracle case; here they also meet on
thousands of synthetic shipping cases and on small rulebooks aimed at one generation path.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from bench.baseline_shipping import decide
from bench.cases import generate
from interpreter.api import load_rulebook, load_source
from interpreter.fast_codec import ConclusionEncoder

NOW = datetime(2022, 3, 1)
HEAD = '规则书 编译样例\n版本号 "1"\n文献 政策：《政策》，种子 "000"\n'


def both(book, facts: dict, now: datetime = NOW) -> tuple[dict, dict]:
    compiled = book.evaluator.evaluate(facts, now)
    reference, _ = book.walker.evaluate(dict(facts), now)
    return compiled, reference


def test_shipping_compiled_agrees_with_tree_walker_and_baseline() -> None:
    book = load_rulebook("shipping")
    encode = ConclusionEncoder(book.conclusion_types)
    for case in generate(2000, 11):
        facts, _ = book.decode(case)
        compiled, reference = both(book, facts)
        assert repr(compiled) == repr(reference)
        assert encode(compiled) == decide(case, NOW)


def test_closed_functions_are_defined_once_beside_evaluate() -> None:
    source = load_rulebook("shipping").evaluator.source
    assert source.index("def v0(") < source.index("def evaluate(")
    assert "\n    def " not in source


FUNCTION_READS_NOW = HEAD + """
输入：
  时刻：时间
结论：
  已过：是否
函数 过了（时点：时间） = 现在 晚于 时点
规则 R1 判定：
  依据 政策 "一"
  则 已过 = 过了（时刻）
"""

FUNCTION_READS_INPUT = HEAD + """
输入：
  时刻：时间
  界限：时间
结论：
  已过：是否
函数 过了（时点：时间） = 时点 晚于 界限
规则 R1 判定：
  依据 政策 "一"
  则 已过 = 过了（时刻）
"""


@pytest.mark.parametrize("text", [FUNCTION_READS_NOW, FUNCTION_READS_INPUT])
def test_functions_that_read_evaluate_locals_stay_inside(text: str) -> None:
    book = load_source(text)
    assert "\n    def " in book.evaluator.source
    facts = {"时刻": datetime(2022, 2, 1), "界限": datetime(2022, 1, 1)}
    for now in (datetime(2022, 1, 1), datetime(2022, 3, 1)):
        compiled, reference = both(book, facts, now)
        assert compiled == reference and compiled["已过"] is not None


AGGREGATES = HEAD + """
输入：
  金额们：列表（金额）
  时刻们：列表（时间），默认 []
结论：
  合计：金额
  最早时刻：时间
  个数：数
  总是：金额
  有条件：金额
规则 R1 汇总：
  依据 政策 "一"
  则 合计 = 求和（[额 对于 额 属于 金额们 若 额 > 1元]），
    最早时刻 = 最早（[刻 对于 刻 属于 时刻们]），
    个数 = 计数（[额 对于 额 属于 金额们]），
    总是 = 最大（[额 对于 额 属于 金额们]）
规则 R2 有条件：
  依据 政策 "二"
  如果 计数（金额们） > 1
  则 有条件 = 最小（[额 对于 额 属于 金额们]）
"""


@pytest.mark.parametrize("facts", [
    {},
    {"金额们": ()},
    {"金额们": (None,)},
    {"金额们": (__import__("decimal").Decimal("0.50"), __import__("decimal").Decimal("2.00"))},
    {"时刻们": (datetime(2022, 1, 2), None, datetime(2022, 1, 1))},
])
def test_aggregates_over_comprehensions_and_unconditional_rules(facts: dict) -> None:
    book = load_source(AGGREGATES)
    source = book.evaluator.source
    assert "tuple([" not in source  # aggregates read the comprehension's list directly
    compiled, reference = both(book, facts)
    assert repr(compiled) == repr(reference)


def test_generated_source_carries_no_rulebook_text() -> None:
    source = load_rulebook("shipping").evaluator.source
    assert source.isascii()  # names, strings and numbers all come through the namespace


SORTED_FILTER = HEAD + """
输入：
  明细：列表（记录（价格：金额））
结论：
  结果：列表（金额）
规则 R1 排序结果：
  依据 政策 "一"
  则 结果 = [项.价格 对于 项 属于 明细 若 项.价格 > 0元 按 项.价格 排序]
"""

SHARED_ZERO = HEAD + """
定义 零元 = 0.00元
结论：
  数量：数
  金额：金额
规则 R1 甲：
  依据 政策 "一"
  则 数量 = 0，金额 = 零元
"""


def test_sorted_comprehension_with_a_filter_that_binds_compiles() -> None:
    book = load_source(SORTED_FILTER)
    from decimal import Decimal

    facts = {"明细": ({"价格": Decimal("3.00")}, {"价格": Decimal("0.00")}, {"价格": Decimal("1.00")})}
    compiled, reference = both(book, facts)
    assert compiled == reference == {"结果": (Decimal("1.00"), Decimal("3.00"))}


def test_equal_constants_of_different_types_are_not_pooled() -> None:
    compiled, reference = both(load_source(SHARED_ZERO), {})
    assert repr(compiled) == repr(reference)
    assert repr(compiled["数量"]) == "Decimal('0')"


def test_list_extremes_agree_with_the_general_builtins() -> None:
    from datetime import date, datetime

    from dsl.builtins import BUILTINS, LIST_EXTREMES
    from dsl.types import DATETIME

    samples = [None, [], [None], [datetime(2022, 1, 2), None, datetime(2022, 1, 1)],
               [date(2022, 1, 1), datetime(2021, 12, 31, 23)], [3, 1, 2], (5, None, 4)]
    for name, fast in LIST_EXTREMES.items():
        general = BUILTINS[name][1](DATETIME, "四舍五入")
        for values in samples:
            assert fast(None if values is None else list(values)) == general(values)
