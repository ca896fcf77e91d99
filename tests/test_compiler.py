"""The compiled evaluator: agrees with the reference tree-walker, and generates what it should.

`rulebook test` cross-checks both evaluators on every oracle case; here they also meet on
thousands of synthetic shipping cases and on small rulebooks aimed at one generation path.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from bench.baseline_shipping import decide
from bench.cases import generate
from dsl.runtime_errors import EvaluationError
from dsl.values import Percent
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


EXTREME_LOOPS = HEAD + """
输入：
  时刻们：列表（时间），默认 []
  单们：列表（记录（件：列表（记录（时刻：时间，数量：数）））），可选
  额们：列表（金额），可选
结论：
  甲：时间
  乙：时间
  丙：时间
  丁：金额
  戊：金额
  己：时间
定义 最早时刻 = 最早（[刻 对于 刻 属于 时刻们]）
定义 最晚时刻 = 最晚（[刻 对于 刻 属于 时刻们 若 刻 有值]）
定义 嵌套最早 = 最早（[件.时刻 对于 单 属于 单们 对于 件 属于 单.件 若 件.数量 > 1]）
定义 最小额 = 最小（[额 对于 额 属于 额们]）
定义 最大额 = 最大（[额 对于 额 属于 额们 若 额 > 1元]）
定义 两者较早 = 最早（最早时刻，嵌套最早）
规则 R1 汇总：
  依据 政策 "一"
  则 甲 = 最早时刻，乙 = 最晚时刻，丙 = 嵌套最早，丁 = 最小额，戊 = 最大额，己 = 两者较早
"""


def _extreme_facts() -> list[dict]:
    from datetime import date
    from decimal import Decimal as D

    t1, t2, t3 = datetime(2022, 1, 2, 10), datetime(2022, 1, 1, 23), datetime(2022, 1, 1)
    return [
        {},
        {"时刻们": ()},
        {"时刻们": (None,)},
        {"时刻们": (t1, None, t2, t3)},
        {"时刻们": (t3, t3.replace(), t1)},  # equals: the first is kept, as min/max do
        {"时刻们": (date(2022, 1, 1), t2, date(2022, 1, 3))},  # dates mix with times: fallback
        {"时刻们": (t1, date(2022, 1, 2))},
        {"时刻们": (t1, "x")},  # incomparable: the same error as the general way
        {"单们": ({"件": ({"时刻": t1, "数量": D(2)}, {"时刻": t2, "数量": D(1)})},
                  {"件": ({"时刻": t3, "数量": D(5)},)}, {"件": None}, None)},
        {"单们": ({"件": ({"时刻": t1, "数量": D(2)}, {"时刻": date(2022, 1, 1), "数量": D(2)})},)},
        {"额们": (D("1.50"), D("1.5"), None, D("0.99"))},
        {"额们": (D("2.0"), D("2.00"))},
        {"额们": ()},
    ]


@pytest.mark.parametrize("facts", _extreme_facts())
def test_extremes_over_comprehensions_in_one_pass(facts: dict) -> None:
    book = load_source(EXTREME_LOOPS)
    assert "except TypeError:" in book.evaluator.source  # definitions take the loop
    try:
        compiled = repr(book.evaluator.evaluate(facts, NOW))
    except Exception as exc:  # noqa: BLE001 - the same failure both ways
        compiled = f"{type(exc).__name__}: {exc}"  # 求值失败：TypeError: … from both
    try:
        reference = repr(book.walker.evaluate(dict(facts), NOW)[0])
    except Exception as exc:  # noqa: BLE001
        reference = f"{type(exc).__name__}: {exc}"
    assert compiled == reference


def test_extremes_of_two_agree_with_the_general_builtins() -> None:
    from datetime import date
    from decimal import Decimal as D

    from dsl.builtins import BUILTINS, PAIR_EXTREMES
    from dsl.types import DATETIME

    t = datetime(2022, 1, 1, 12)
    samples = [None, t, date(2022, 1, 1), date(2022, 1, 2), datetime(2022, 1, 1), D("1.0"), D("1.00"),
               D("0.5"), "x"]
    for name, fast in PAIR_EXTREMES.items():
        general = BUILTINS[name][1](DATETIME, "四舍五入")
        for a in samples:
            for b in samples:
                try:
                    want = repr(general(a, b))
                except TypeError as exc:
                    want = str(exc)
                try:
                    got = repr(fast(a, b))
                except TypeError as exc:
                    got = str(exc)
                assert got == want, (name, a, b)


HOISTED = HEAD + """

输入：
  单们：列表（记录（件：列表（记录（时刻：时间，数量：数）））），可选
  界限：数，可选
  标签：列表（文本），默认 []
结论：
  合计：数
  件数：数
  都大：是否
  有新：是否
  最早件：时间
  每单最早：列表（时间）
函数 计大（xs：列表（数）） = 计数（[x 对于 x 属于 xs 若 x > 界限]）
规则 R1 汇总：
  依据 政策 "一"
  则 合计 = 求和（[件.数量 对于 单 属于 单们 对于 件 属于 单.件 若 件.数量 > 界限]），
    件数 = 计大（[件.数量 对于 单 属于 单们 对于 件 属于 单.件]），
    都大 = 所有 单 属于 单们 满足 存在 件 属于 单.件 满足 件.数量 > 界限，
    有新 = 存在 t 属于 标签 满足 t 以 "新" 开头，
    最早件 = 若 界限 有值 则 最早（[件.时刻 对于 单 属于 单们 对于 件 属于 单.件]） 否则 空，
    每单最早 = [最早（[件.时刻 对于 件 属于 单.件 若 件.数量 > 界限]） 对于 单 属于 单们]
"""


def _hoisted_facts() -> list[dict]:
    from datetime import date
    from decimal import Decimal as D

    t1, t2 = datetime(2022, 1, 2, 10), datetime(2022, 1, 1, 23)
    orders = ({"件": ({"时刻": t1, "数量": D(2)}, {"时刻": t2, "数量": D(1)})},
              {"件": ({"时刻": t2, "数量": D(5)}, None)}, {"件": None}, None, {"件": ()})
    return [
        {},
        {"界限": D(1)},
        {"单们": orders},
        {"单们": orders, "界限": D(1), "标签": ("旧", "新品")},
        {"单们": orders, "界限": D(0), "标签": ("旧", None)},
        {"单们": orders[:2], "界限": D(0)},
        {"单们": ({"件": ({"时刻": date(2022, 1, 1), "数量": D(2)}, {"时刻": t1, "数量": D(3)})},),
         "界限": D(1)},  # dates mixed with times in 最早: the general way
    ]


@pytest.mark.parametrize("facts", _hoisted_facts())
def test_comprehensions_and_quantifiers_as_hoisted_functions(facts: dict) -> None:
    book = load_source(HOISTED)
    source = book.evaluator.source
    assert " for " not in source.split("def evaluate(")[1]  # every loop is a hoisted function
    # no temporaries or other locals turned into cells: only what 计大 (defined inside) reads
    assert book.evaluator._fn.__code__.co_cellvars == ("v1",)
    compiled, reference = both(book, facts)
    assert repr(compiled) == repr(reference)


INLINED_OPERATIONS = HEAD + """{rounding}
输入：
  金额甲：金额，可选
  比例：百分比，可选
  倍数：数，可选
  名称：文本，可选
  标签：列表（文本），可选
结论：
  积一：金额
  积二：金额
  积三：金额
  积四：金额
  积五：金额
  是开头：是否
  是结尾：是否
  有包含：是否
  含标签：是否
  合并：列表（文本）
参数：
  固定比例 = 30%
规则 R1 运算：
  依据 政策 "一"
  则 积一 = 金额甲 × 比例，积二 = 比例 × 金额甲，积三 = 金额甲 × 倍数，积四 = 倍数 × 金额甲，
    积五 = 金额甲 × 固定比例，
    是开头 = 名称 以 "天猫" 开头，是结尾 = 名称 以 "店" 结尾，有包含 = 名称 包含 "旗舰"，
    含标签 = 标签 包含 "包邮"，
    合并 = （若 名称 有值 则 ["有名"] 否则 []） + （若 标签 有值 则 ["有标签"] 否则 ["无"]）
"""


@pytest.mark.parametrize("rounding", ["", "金额舍入：银行家舍入", "金额舍入：向下舍入"])
@pytest.mark.parametrize("facts", [
    {},
    {"金额甲": Decimal("100.15"), "比例": Percent(Decimal("30")), "倍数": Decimal("0.125"),
     "名称": "天猫旗舰店", "标签": ("包邮", "新品")},
    {"金额甲": Decimal("0.25"), "比例": Percent(Decimal("50")), "倍数": Decimal("3"), "名称": "淘宝",
     "标签": ()},
    {"金额甲": Decimal("0.35"), "倍数": Decimal("0.5"), "名称": "旗舰店"},
])
def test_inlined_operations_agree_with_the_tree_walker(rounding: str, facts: dict) -> None:
    book = load_source(INLINED_OPERATIONS.format(rounding=rounding))
    source = book.evaluator.source
    assert "o_" not in source  # every operation here is written inline
    compiled, reference = both(book, facts)
    assert repr(compiled) == repr(reference)


def test_evaluate_values_is_evaluate_without_the_facts_dict() -> None:
    book = load_rulebook("shipping")
    evaluator = book.evaluator
    for case in generate(300, 5):
        facts, _ = book.decode(case)
        values = [facts.get(name) for name in evaluator.input_names]
        got = dict(zip(evaluator.conclusion_names, evaluator.evaluate_values(NOW, *values), strict=True))
        assert repr(got) == repr(evaluator.evaluate(facts, NOW))


def test_later_generators_evaluate_no_more_than_the_walker() -> None:
    # 且 in a comprehension's later collection is a call (no := there): its right operand —
    # a 唯一 table whose rows disagree for this value — must not be evaluated once 且 is decided
    source = """规则书 t
文献 规范：《规范》

输入：
  L：列表（数）
  K：数

结论：
  X：列表（数）

决策表 T（v：数），命中 唯一：
  | ≥ K | => "a"
  | ≥ 0 | => "b"

规则 R1 x：
  依据 规范 "1"
  则 X = [q 对于 p 属于 L 对于 q 属于 (若 p > 10 且 T（p） = "a" 则 L 否则 (L 若无则 [p]))]
"""
    book = load_source(source)
    facts, _ = book.decoder.decode({"L": [1, 2], "K": 0})
    now = datetime(2022, 3, 1)
    expected = book.walker.evaluate(dict(facts), now)[0]
    assert book.evaluator.evaluate(dict(facts), now) == expected


@pytest.mark.parametrize("reads", [False, True])
def test_a_failing_definition_fails_only_when_read(reads) -> None:
    # like the reference evaluator: a definition nothing reads for this case cannot fail it
    source = """规则书 t
文献 规范：《规范》

输入：
  A：是否
  K：数
  V：数

结论：
  X：文本，默认 "无"

决策表 T（v：数），命中 唯一：
  | ≥ K | => "a"
  | ≥ 0 | => "b"

定义 D = T（V）

规则 R1 x：
  依据 规范 "1"
  如果 A
  则 X = D
"""
    book = load_source(source)
    facts, _ = book.decoder.decode({"A": reads, "K": 0, "V": 1})
    now = datetime(2022, 3, 1)
    if not reads:
        assert book.evaluator.evaluate(dict(facts), now) == book.walker.evaluate(dict(facts), now)[0] == {"X": "无"}
        return
    for evaluate in (book.evaluator.evaluate, lambda f, t: book.walker.evaluate(f, t)[0]):
        with pytest.raises(EvaluationError, match="决策表「T」"):
            evaluate(dict(facts), now)


_TABLE_CASE = """规则书 t
文献 规范：《规范》

输入：
  L：列表（数）
  A：数，可选
  K：数

结论：
  X：是否

决策表 T（v：数），命中 唯一：
  | ≥ K | => "a"
  | ≥ 0 | => "b"

规则 R1 x：
  依据 规范 "1"
  则 X = {rule}
"""


@pytest.mark.parametrize("rule", [
    '存在 p 属于 L 满足 (A > p 且 T（p） = "a")',
    '所有 p 属于 L 满足 (存在 q 属于 L 满足 (q = 1 或 T（q） = "a"))',
    '存在 p 属于 L 满足 (A > p 且 (T（p） = "a"))',
    '存在 p 属于 L 满足 (A 在 p 至 (若 T（p） = "a" 则 1 否则 2) 之间)',
    '(A > 1) 且 (T（1） = "a")',
])
def test_an_operand_that_can_fail_is_evaluated_as_the_walker_does(rule) -> None:
    # where the verdict code would skip an operand that cannot change the value, it still
    # evaluates one that can fail (here a 唯一 table whose rows disagree), as the walker does
    book = load_source(_TABLE_CASE.format(rule=rule))
    facts, _ = book.decoder.decode({"L": [1, 2], "A": None, "K": 0})
    now = datetime(2022, 3, 1)

    def outcome(evaluate):
        try:
            return "ok", evaluate(dict(facts), now)
        except EvaluationError as exc:
            return "error", str(exc)

    expected = outcome(lambda f, t: book.walker.evaluate(f, t)[0])
    assert expected[0] == "error"
    assert outcome(book.evaluator.evaluate) == expected
