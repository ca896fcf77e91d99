"""The compiled evaluator and the reference tree-walker agree on every bundled oracle case."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from dsl.runtime_errors import EvaluationError, RuleConflict
from dsl.types import DATETIME
from interpreter.api import load_rulebook, load_source
from interpreter.case_file import load_case_file
from interpreter.codec import decode_value, encode_value
from interpreter.testing import run_tests

ROOT = Path(__file__).resolve().parent.parent
RULEBOOKS = sorted((ROOT / "rulebooks").glob("*.rules"))


def _cases(path: Path):
    tests = path.with_name(path.stem + ".tests.json")
    if not tests.is_file():
        return []
    return [(path, i, case) for i, case in enumerate(load_case_file(str(tests))["cases"])]


CASES = [c for p in RULEBOOKS for c in _cases(p)]


@pytest.mark.parametrize(("path", "index", "case"), CASES,
                         ids=[f"{p.stem}-{i}-{c.get('名称', '')}" for p, i, c in CASES])
def test_evaluators_agree_on_oracle_case(path, index, case):
    book = load_rulebook(path)
    facts, _ = book.decoder.decode(case.get("输入", {}))
    raw_now = case.get("现在") or case.get("输入", {}).get("评估时间") or "2000-01-01 00:00:00"
    now = decode_value(raw_now, DATETIME, "现在")
    try:
        compiled = book.evaluator.evaluate(dict(facts), now)
    except EvaluationError as exc:
        with pytest.raises(type(exc)):
            book.walker.evaluate(dict(facts), now)
        return
    reference, _ = book.walker.evaluate(dict(facts), now)
    traced, trace = book.walker.evaluate(dict(facts), now, trace=True)
    assert compiled == reference
    assert traced == reference and trace is not None
    for name, expected in case.get("期望", {}).items():
        got = encode_value(compiled[name], book.conclusion_types[name])
        assert _normal(got) == _normal(expected), name


def _normal(v):
    if isinstance(v, (list, tuple)):
        return [_normal(x) for x in v]
    if isinstance(v, dict):
        return {k: _normal(x) for k, x in v.items()}
    return v


@pytest.mark.parametrize("path", RULEBOOKS, ids=[p.stem for p in RULEBOOKS])
def test_rulebook_test_runner_passes(path):
    report = run_tests(load_rulebook(path), path)
    failures = [(r.name, r.error, r.mismatches) for r in report.results if not r.ok]
    assert not failures


CONFLICT = """文献 规范：《规范》
输入：
  n：数
结论：
  x：数
规则 R-1 甲：
  依据 规范 "1"
  如果 n > 1
  则 x = 1
规则 R-2 乙：
  依据 规范 "1"
  如果 n > 2
  则 x = 2
"""


def test_runtime_conflict_names_both_rules_and_lines():
    book = load_source(CONFLICT, "conflict.rules")
    now = datetime(2022, 1, 1)
    messages = []
    for evaluate in (book.evaluator.evaluate, lambda f, t: book.walker.evaluate(f, t)[0]):
        with pytest.raises(RuleConflict) as info:
            evaluate({"n": Decimal(3)}, now)
        messages.append(str(info.value))
        assert evaluate({"n": Decimal(2)}, now) == {"x": Decimal(1)}
    for m in messages:
        assert "「R-1」（第 6 行）" in m and "「R-2」（第 10 行）" in m and "结论「x」" in m


def test_conflict_with_equal_values_is_no_conflict():
    book = load_source(CONFLICT.replace("则 x = 2", "则 x = 1"), "same.rules")
    assert book.evaluator.evaluate({"n": Decimal(3)}, datetime(2022, 1, 1)) == {"x": Decimal(1)}
    assert book.walker.evaluate({"n": Decimal(3)}, datetime(2022, 1, 1))[0] == {"x": Decimal(1)}


SORTED_FILTER = """文献 规范：《规范》
输入：
  明细：列表（记录（价格：金额））
结论：
  结果：列表（金额）
规则 R-1 排序结果：
  依据 规范 "1"
  则 结果 = [项.价格 对于 项 属于 明细 若 项.价格 > 0元 按 项.价格 排序]
"""


def test_sorted_comprehension_with_field_filter_compiles():
    book = load_source(SORTED_FILTER, "sorted.rules")
    facts = {"明细": ({"价格": Decimal("3.00")}, {"价格": Decimal("0.00")}, {"价格": Decimal("1.00")})}
    expected = {"结果": (Decimal("1.00"), Decimal("3.00"))}
    assert book.walker.evaluate(dict(facts), datetime(2022, 1, 1))[0] == expected
    assert book.evaluator.evaluate(dict(facts), datetime(2022, 1, 1)) == expected


SHARED_ZERO = """文献 规范：《规范》
定义 零元 = 0.00元
结论：
  x：数
  y：金额
规则 R-1 甲：
  依据 规范 "1"
  则 x = 0
规则 R-3 丙：
  依据 规范 "1"
  则 y = 零元
"""


def test_equal_constants_of_different_types_stay_distinct():
    book = load_source(SHARED_ZERO, "zero.rules")
    now = datetime(2022, 1, 1)
    compiled = book.evaluator.evaluate({}, now)
    reference = book.walker.evaluate({}, now)[0]
    assert {k: repr(v) for k, v in compiled.items()} == {k: repr(v) for k, v in reference.items()}


def test_lists_compare_for_equality_with_empty_list():
    src = ("规则书 l\n文献 规：《规》\n输入：\n  甲：列表（文本）\n结论：\n  空列表：是否\n"
           "规则 R-1 x：\n  依据 规 \"1\"\n  则 空列表 = 甲 = []\n")
    book = load_source(src, "l.rules")
    for value, expected in (([], True), (["a"], False)):
        assert book.evaluate({"甲": value}).conclusions["空列表"] is expected
        assert book.evaluate_reference({"甲": value})["空列表"] is expected


# ---------------------------------------------------------------- an operation failing in Python
OVERFLOW = {"付款": "2022-03-01 10:00:00", "时长": "P3000000D",  # past year 9999 from 2022
            "金额": "10.00", "倍数": "9" * 99, "小数": "0." + "0" * 97 + "1"}  # no longer roundable to cents
OVERFLOW_HEAD = (
    "规则书 t\n文献 规范：《规范》\n\n输入：\n  付款：时间\n  时长：时长，可选\n  标记：是否，可选\n"
    "  金额：金额，可选\n  倍数：数，可选\n  小数：数，可选\n  可选时间：时间，可选\n\n")
UNREAD = "\n\n规则 R2 y：\n  依据 规范 \"1\"\n  如果 付款 早于 2000-01-01 00:00:00\n"


def _outcomes(source: str, raw: dict, head: str = OVERFLOW_HEAD) -> list:
    """Each evaluator's verdict, or its error message: compiled, walker, walker traced, tracer."""
    book = load_source(head + source)
    facts, _ = book.decoder.decode(raw)
    now = datetime(2022, 3, 2)
    runs = [lambda: book.evaluator.evaluate(dict(facts), now), lambda: book.walker.evaluate(dict(facts), now)[0],
            lambda: book.walker.evaluate(dict(facts), now, trace=True)[0],
            lambda: book.tracer.evaluate(dict(facts), now)[0], lambda: book.tracer.record(dict(facts), now)[0]]
    out = []
    for run in runs:
        try:
            out.append(run())
        except EvaluationError as exc:
            out.append(str(exc))
    return out


@pytest.mark.parametrize(("source", "expected"), [
    # an amount times a huge 数 cannot be rounded to cents: the same, in an unread definition
    ("结论：\n  X：是否\n  Y：金额\n\n定义 多 = 金额 × 倍数\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 是\n\n"
     "规则 R2 y：\n  依据 规范 \"1\"\n  如果 付款 早于 2000-01-01 00:00:00\n  则 Y = 多\n", {"X": True, "Y": None}),
    # a definition no rule that applies reads: the compiled evaluator computed it anyway and failed
    ("结论：\n  X：是否\n  Y：时间\n\n定义 远 = 付款 + 时长\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 是\n\n"
     "规则 R2 y：\n  依据 规范 \"1\"\n  如果 付款 早于 2000-01-01 00:00:00\n  则 Y = 远\n", {"X": True, "Y": None}),
    # 且 after an absent operand: the reference evaluator goes on (否 would decide), so it fails;
    # the compiled one stopped there (是 was out of reach) and answered
    ("结论：\n  X：是否\n\n规则 R1 x：\n  依据 规范 \"1\"\n  如果 标记 且 付款 + 时长 晚于 付款\n  则 X = 是\n", None),
    # the condition of a rule whose version does not apply is computed only to be shown: the
    # tracers failed on it (only an EvaluationError was skipped)
    ("结论：\n  X：是否\n\n版本 旧：按 付款，早于 2000-01-01 00:00:00\n\n规则 R1 x：\n  依据 规范 \"1\"\n"
     "  适用版本 旧\n  如果 付款 + 时长 晚于 付款\n  则 X = 是\n", {"X": None}),
    # a failing definition read after an absent operand (the compiled code once stopped there)
    ("结论：\n  Y：时长\n\n定义 远 = 付款 + 时长\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 Y = 可选时间 - 远\n", None),
    ("结论：\n  X：是否\n\n定义 远 = 付款 + 时长\n\n规则 R1 x：\n  依据 规范 \"1\"\n  如果 标记 且 远 晚于 付款\n"
     "  则 X = 是\n", None),
    # 时长 ÷ a tiny 数, and 比率 of a huge one, in unread definitions
    ("结论：\n  X：是否\n  Y：时长\n\n定义 短 = 时长 ÷ 小数\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 是" + UNREAD
     + "  则 Y = 短\n", {"X": True, "Y": None}),
    ("结论：\n  X：是否\n  Y：百分比\n\n定义 率 = 比率（倍数，1）\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 是" + UNREAD
     + "  则 Y = 率\n", {"X": True, "Y": None}),
])
def test_time_arithmetic_past_the_calendar_fails_alike_in_every_evaluator(source, expected) -> None:
    outcomes = _outcomes(source, OVERFLOW)
    assert all(o == outcomes[0] for o in outcomes), outcomes
    if expected is None:
        assert "超出可表示的范围" in outcomes[0] and "时长或数是否过大" in outcomes[0]
    else:
        assert outcomes[0] == expected


def test_a_builtin_past_decimal_precision_says_so_in_words() -> None:
    source = "结论：\n  Y：百分比\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 Y = 比率（倍数，1）\n"
    outcomes = _outcomes(source, OVERFLOW)
    assert all(o == outcomes[0] for o in outcomes), outcomes
    assert outcomes[0].startswith("计算「比率（倍数，1）」失败：结果超出可计算的范围"), outcomes[0]


def test_an_input_default_that_fails_is_reported_only_where_read() -> None:
    # the compiled code computed every default before anything else
    head = OVERFLOW_HEAD.replace("  可选时间：时间，可选\n", "  可选时间：时间，可选\n  远期：时间，默认 付款 + 时长\n")
    unread = "结论：\n  X：是否\n  Y：时间\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 是" + UNREAD + "  则 Y = 远期\n"
    outcomes = _outcomes(unread, OVERFLOW, head)
    assert outcomes == [{"X": True, "Y": None}] * 5, outcomes
    read = "结论：\n  Y：时间\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 Y = 远期\n"
    outcomes = _outcomes(read, OVERFLOW, head)
    assert all(o == outcomes[0] for o in outcomes) and "超出可表示的范围" in outcomes[0], outcomes


def test_a_failing_definition_read_inside_a_function_or_table_fails_there() -> None:
    # function and table bodies are written before the definitions: they read 远 as it was
    # before the compiler knew it holds its failure, and a `_Failed` object came out as X
    for body in ("若 t 晚于 付款 则 t 否则 远", "若 远2 有值 则 t 否则 付款"):
        source = ("结论：\n  X：时间\n\n定义 远 = 付款 + 时长\n定义 远2 = 远\n\n"
                  f"函数 取远（t：时间）：时间 = {body}\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 取远（付款）\n")
        outcomes = _outcomes(source, OVERFLOW)
        assert all(o == outcomes[0] for o in outcomes), outcomes
        assert "超出可表示的范围" in outcomes[0], outcomes
        fine = _outcomes(source, dict(OVERFLOW, 时长="P3D"))
        assert all(o == fine[0] for o in fine) and isinstance(fine[0], dict), fine


@pytest.fixture
def may_raise_calls(monkeypatch) -> list[int]:
    """How often the compiler's `_may_raise` runs (a one-item list, counted up)."""
    import dsl.compiler as compiler

    calls = [0]
    walk = compiler._may_raise

    def counting(*args, **kwargs):
        calls[0] += 1
        return walk(*args, **kwargs)

    monkeypatch.setattr(compiler, "_may_raise", counting)
    return calls


def test_whether_a_definition_can_fail_is_worked_out_once_per_definition(may_raise_calls) -> None:
    # each definition reads the two before it: followed without memory, that is 2^n walks
    n = 20
    defs = "定义 d1 = 倍数\n定义 d2 = 倍数 + 1\n" + "".join(f"定义 d{i} = d{i - 1} + d{i - 2}\n" for i in range(3, n + 1))
    book = load_source(OVERFLOW_HEAD + f"结论：\n  X：数\n\n{defs}\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = d{n}\n")
    assert book.evaluate({"付款": "2022-03-01 10:00:00", "倍数": 1}, now="2022-03-02 00:00:00").conclusions["X"] == 10946
    assert may_raise_calls[0] < 20 * n, may_raise_calls


def test_an_amount_rounded_past_twenty_digits_fails_where_it_is_made() -> None:
    # 金额 × a huge 数 was rounded to 26 digits; 多 + 多 then lost its cents to Decimal's 28
    # digits and failed only when written out ("内部错误", exit 3)
    source = "结论：\n  Y：金额\n\n定义 多 = 金额 × 倍数\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 Y = 多 + 多\n"
    raw = {"付款": "2022-03-01 10:00:00", "金额": "999999999999999.99", "倍数": 100000000000}
    outcomes = _outcomes(source, raw)
    assert all(o == outcomes[0] for o in outcomes), outcomes
    assert "算出的金额最多 20 位整数" in outcomes[0], outcomes


def test_a_parameter_set_from_outside_is_not_taken_for_a_constant() -> None:
    # `--param` can make a factor huge: a product in an unread definition must not fail alone
    head = OVERFLOW_HEAD.replace("输入：", "参数：\n  倍率：数 = 2\n\n输入：")
    source = ("结论：\n  X：是否\n  Y：金额\n\n定义 多 = 金额 × 倍率\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 是"
              + UNREAD + "  则 Y = 多\n")
    book = load_source(head + source).with_params({"倍率": "100000000000000"})
    facts, _ = book.decoder.decode({"付款": "2022-03-01 10:00:00", "金额": "999999999999999.99"})
    now = datetime(2022, 3, 2)
    expected = {"X": True, "Y": None}
    assert book.evaluator.evaluate(dict(facts), now) == expected
    assert book.walker.evaluate(dict(facts), now, trace=True)[0] == expected
    assert book.tracer.record(dict(facts), now)[0] == expected


def test_an_amount_times_a_large_constant_in_an_unread_definition_fails_nowhere() -> None:
    # with results limited to 20 integer digits, 15 digits × 1000000 can fail: not a safe constant
    source = ("结论：\n  X：是否\n  Y：金额\n\n定义 按分计 = 金额 × 1000000\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 是"
              + UNREAD + "  则 Y = 按分计\n")
    outcomes = _outcomes(source, {"付款": "2022-03-01 10:00:00", "金额": "100000000000000.00"})
    assert outcomes == [{"X": True, "Y": None}] * 5, outcomes


def test_functions_are_walked_once_however_often_they_are_called(may_raise_calls) -> None:
    # each function calls the one below it twice: walked per call, that is 2^n
    n = 14
    fns = "函数 f1（x：数）：数 = x + 1\n" + "".join(
        f"函数 f{i}（x：数）：数 = f{i - 1}（x） + f{i - 1}（x + 1）\n" for i in range(2, n + 1))
    book = load_source(OVERFLOW_HEAD + f"结论：\n  X：数\n\n{fns}\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = f{n}（倍数）\n")
    facts, _ = book.decoder.decode({"付款": "2022-03-01 10:00:00", "倍数": 0})
    now = datetime(2022, 3, 2)
    assert book.evaluator.evaluate(dict(facts), now) == book.walker.evaluate(dict(facts), now)[0]
    assert may_raise_calls[0] < 20 * n, may_raise_calls


def test_a_product_is_rounded_to_cents_once() -> None:
    # in Decimal's 28 digits 1.01 × 0.00495049…(40 digits) became 0.005 and then 0.01
    source = "结论：\n  Y：金额\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 Y = 金额 × 倍数\n"
    raw = {"付款": "2022-03-01 10:00:00", "金额": "1.01", "倍数": "0.00495049504950495049504950495049504950"}
    outcomes = _outcomes(source, raw)
    assert outcomes == [{"Y": Decimal("0.00")}] * 5, outcomes
    book = load_source(OVERFLOW_HEAD + source)
    decision = book.evaluate(raw, now="2022-03-02 00:00:00", explain=True)
    assert decision.explanation.get("Y").calculation.endswith("= 0.004999999999999999999999999999999999995 → 0.00")


@pytest.mark.parametrize(("rounding", "amount", "divisor", "cents"), [
    ("四舍五入", "1.00", "200.0000000000000000000000000001", "0.00"),  # exactly 0.00499…
    ("银行家舍入", "1.00", "66.66666666666666666666666666667", "0.01"),  # exactly 0.014999…
    ("向下舍入", "0.03", "3.000000000000000000000000000001", "0.00"),  # exactly 0.00999…
    ("四舍五入", "1.01", "3", "0.34"),
    ("银行家舍入", "0.05", "2", "0.02"),  # 0.025, to the even cent
    ("四舍五入", "10.00", "-3", "-3.33"),
])
def test_an_amount_divided_is_rounded_to_cents_once(rounding, amount, divisor, cents) -> None:
    # in Decimal's 28 digits first, the quotient was rounded twice (0.00499… → 0.005 → 0.01)
    head = OVERFLOW_HEAD.replace("规则书 t\n", f"规则书 t\n金额舍入：{rounding}\n")
    source = "结论：\n  Y：金额\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 Y = 金额 ÷ 倍数\n"
    raw = {"付款": "2022-03-01 10:00:00", "金额": amount, "倍数": divisor}
    assert _outcomes(source, raw, head) == [{"Y": Decimal(cents)}] * 5


def test_a_quotient_that_does_not_end_is_shown_cut() -> None:
    source = "结论：\n  Y：金额\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 Y = 金额 ÷ 倍数\n"
    book = load_source(OVERFLOW_HEAD + source)
    raw = {"付款": "2022-03-01 10:00:00", "金额": "1.01", "倍数": 3}
    assert book.evaluate(raw, now="2022-03-02 00:00:00", explain=True).explanation.get("Y").calculation \
        == "1.01 ÷ 3 = 0.33" + "6" * 58 + "… → 0.34"  # cut, all 60 digits, never rounded
    exact = dict(raw, 倍数=4)
    assert book.evaluate(exact, now="2022-03-02 00:00:00", explain=True).explanation.get("Y").calculation \
        == "1.01 ÷ 4 = 0.2525 → 0.25"


def test_an_input_whose_default_computes_an_amount_is_not_taken_as_bounded() -> None:
    # 金额 defaulted to 原价 × 9999 can pass 15 digits: 金额 × 9999 may then fail
    head = OVERFLOW_HEAD.replace("  金额：金额，可选\n", "  原价：金额，可选\n  金额：金额，默认 原价 × 9999\n")
    source = ("结论：\n  X：是否\n  Y：金额\n\n定义 D = 金额 × 9999\n\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 是"
              + UNREAD + "  则 Y = D\n")
    outcomes = _outcomes(source, {"付款": "2022-03-01 10:00:00", "原价": "999999999999999.99"}, head)
    assert outcomes == [{"X": True, "Y": None}] * 5, outcomes


def test_quotients_round_to_cents_as_exact_fractions_do() -> None:
    # the oracle: the exact fraction, rounded once; random amounts, divisors and signs
    import random
    from fractions import Fraction

    from dsl.operations import _cents_of_quotient

    def oracle(amount: Decimal, divisor: Decimal, mode: str) -> Decimal:
        exact = Fraction(amount) / Fraction(divisor) * 100
        cents, rest = divmod(abs(exact.numerator), exact.denominator)
        if (mode == "ROUND_HALF_UP" and 2 * rest >= exact.denominator) or (
                mode == "ROUND_HALF_EVEN" and (2 * rest > exact.denominator or (2 * rest == exact.denominator and cents % 2))):
            cents += 1
        return Decimal(cents).scaleb(-2) * (-1 if exact < 0 else 1)

    rng = random.Random(20221111)
    for _ in range(3000):
        amount = Decimal(rng.randrange(-10 ** rng.randrange(1, 17), 10 ** rng.randrange(1, 17))).scaleb(-2)
        divisor = Decimal(rng.choice([rng.randrange(1, 1000), rng.randrange(1, 10 ** 30)])).scaleb(-rng.randrange(0, 32))
        divisor = -divisor if rng.random() < 0.2 else divisor
        for mode in ("ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN"):
            expected = oracle(amount, divisor, mode)
            if abs(expected) >= 10 ** 20:  # past MONEY_RESULT_DIGITS: refused where it is made
                with pytest.raises(InvalidOperation):
                    _cents_of_quotient(amount, divisor, mode)
                continue
            got = _cents_of_quotient(amount, divisor, mode)
            assert got == expected and got.as_tuple().exponent == -2, (amount, divisor, mode, got)


def test_numbers_squared_past_decimal_range_fail_alike() -> None:
    # 10^99 squared fourteen times passes 10^999999: unread, no evaluator fails; read, all do
    defs = "定义 D0 = 倍数\n" + "".join(f"定义 D{i} = D{i - 1} × D{i - 1}\n" for i in range(1, 15))
    raw = {"付款": "2022-03-01 10:00:00", "倍数": 10 ** 99}
    unread = "结论：\n  Y：数\n\n" + defs + "\n规则 R1 x：\n  依据 规范 \"1\"\n  则 Y = 1\n"
    assert _outcomes(unread, raw) == [{"Y": Decimal(1)}] * 5
    read = unread.replace("则 Y = 1", "则 Y = D14")
    outcomes = _outcomes(read, raw)
    assert all(o == outcomes[0] for o in outcomes) and "数值超出可计算的范围" in outcomes[0], outcomes


def test_a_sum_of_numbers_a_conclusion_made_huge_fails_only_where_read() -> None:
    # 大 is 5E+999999, made by products (each counted as able to fail) of Dk = 倍数 ^ 2^k =
    # 10^(99 × 2^k), 99 × (2^13 + 2^10 + 2^9 + 2^8 + 2^6 + 2^5 + 2^4 + 2^2 + 1) = 999999; doubling
    # it overflows. Read after 或 was decided, it is never evaluated: the compiled evaluator once
    # computed it anyway (a sum counted as safe) and failed alone
    defs = "定义 D1 = 倍数 × 倍数\n" + "".join(f"定义 D{i} = D{i - 1} × D{i - 1}\n" for i in range(2, 14))
    source = ("结论：\n  大：数\n  X：是否\n\n" + defs + "定义 和 = 大 + 大\n\n"
              "规则 R1 x：\n  依据 规范 \"1\"\n  则 大 = D13 × D10 × D9 × D8 × D6 × D5 × D4 × D2 × 倍数 × 小数\n\n"
              "规则 R2 y：\n  依据 规范 \"1\"\n  如果 倍数 > 1 或 和 > 0\n  则 X = 是\n")
    raw = {"付款": "2022-03-01 10:00:00", "倍数": 10 ** 99, "小数": 5}
    outcomes = _outcomes(source, raw)
    assert outcomes == [{"大": Decimal("5E+999999"), "X": True}] * 5, outcomes
    read = _outcomes(source.replace("倍数 > 1 或 和 > 0", "和 > 0"), raw)
    assert all(o == read[0] for o in read) and "数值超出可计算的范围" in read[0], read


TIERS = ("规则书 t\n文献 规范：《规范》\n层级 等级：高 高于 中 高于 低\n\n输入：\n"
         "  卖家：列表（记录（名：文本，级：等级））\n  级：等级\n\n"
         "结论：\n  排名：列表（文本）\n  中档：是否\n\n"
         "规则 R-1 排：\n  依据 规范 \"1\"\n  则 排名 = [项.名 对于 项 属于 卖家 按 项.级 排序]\n\n"
         "规则 R-2 档：\n  依据 规范 \"1\"\n  则 中档 = 级 在 低 至 中 之间\n")


@pytest.mark.parametrize(("level", "between"), [("高", False), ("中", True), ("低", True)])
def test_tiers_sort_and_fall_between_as_higher_and_lower_order_them(level, between) -> None:
    # both passed the checker, then failed at run time ('<' not supported between TierValue)
    book = load_source(TIERS)
    raw = {"卖家": [{"名": "甲", "级": "高"}, {"名": "乙", "级": "低"}, {"名": "丙", "级": "中"}], "级": level}
    expected = {"排名": ("乙", "丙", "甲"), "中档": between}  # from the lowest tier up
    assert dict(book.evaluate(raw).conclusions) == expected
    assert book.evaluate_reference(raw) == expected
    assert dict(book.evaluate(raw, explain=True).conclusions) == expected


def test_a_unique_table_conflict_names_the_rows_that_disagree() -> None:
    # rows 9 and 10 agree ("甲"); row 11 is the one that differs, and was not named
    source = ("规则书 t\n文献 规范：《规范》\n\n输入：\n  价：金额\n  界：金额\n\n"
              "决策表 档（x：金额），命中 唯一：\n  | ≥ 界 | => \"甲\"\n  | ≥ 0元 | => \"甲\"\n  | ≥ 1元 | => \"乙\"\n\n"
              "结论：\n  结：文本\n\n规则 R-1 一：\n  依据 规范 \"1\"\n  则 结 = 档（价）\n")
    outcomes = _outcomes(source, {"价": "5.00", "界": "0.00"}, head="")
    assert outcomes == ["决策表「档」第 9 行与第 11 行同时命中且结果不同（命中策略：唯一）"] * 5, outcomes


def test_a_duration_times_a_number_is_rounded_to_the_second_in_every_evaluator():
    # through float, 1天 × 0.333 had a fraction of a second (28771.2 s), shown as a whole one
    book = load_source("规则书 t\n输入：\n  d：时长\n  k：数\n结论：\n  y：时长\n规则 R：\n  则 y = d × k\n")
    facts = {"d": "1天", "k": "0.333"}
    decision = book.evaluate(facts, now="2022-01-01 00:00:00", explain=True)
    assert decision.conclusions["y"] == timedelta(seconds=28771)
    assert book.walker.evaluate(book.decode(facts)[0], datetime(2022, 1, 1))[0]["y"] == timedelta(seconds=28771)
    assert decision.trace.conclusions["y"].value == timedelta(seconds=28771)
