"""The checker: names, types, default logic and the static checks, with their diagnostics."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from dsl import types as T
from dsl.checker import check
from dsl.diagnostics import ERROR, WARNING, RulebookError
from dsl.parser import parse

ROOT = Path(__file__).resolve().parent.parent
DOC = "文献 规范：《规范》\n"


def diagnostics(src: str, strict: bool = False):
    src = DOC + src
    try:
        _, ds = check(parse(src, "c.rules"), src, strict)
        return ds
    except RulebookError as exc:
        return exc.diagnostics


def program(src: str):
    src = DOC + src
    return check(parse(src, "c.rules"), src)[0]


def only(ds, severity=None, text=""):
    found = [d for d in ds if (severity is None or d.severity == severity) and text in d.message]
    assert found, [d.message for d in ds]
    return found[0]


def rule(body: str, conclusion: str = "结果：数", inputs: str = "") -> str:
    head = f"输入：\n{inputs}" if inputs else ""
    return f"{head}结论：\n  {conclusion}\n规则 R-1 甲：\n  依据 规范 \"1\"\n{body}"


# ---------------------------------------------------------------- names
def test_unknown_name_suggests_the_closest():
    ds = diagnostics(rule("  则 结果 = 付款时问", "结果：时间", "  付款时间：时间\n"))
    d = only(ds, ERROR, "未知的名称「付款时问」")
    assert d.hint == "是否想写「付款时间」？" and d.code == "unknown-name"
    assert (d.span.line, d.span.column) == (8, 10)


def test_unknown_run_read_as_keyword_and_name_gets_the_quoting_hint():
    ds = diagnostics(rule("  则 结果 = 报名且参加", "结果：是否"))
    d = only(ds, ERROR, "未知的名称「报名」")
    assert "「报名且参加」被读作 名称「报名」 + 关键字「且」 + 名称「参加」" in d.hint
    assert "请写作「报名且参加」" in d.hint


def test_duplicate_names():
    d = only(diagnostics(rule("  则 结果 = 金", "结果：金额", "  金：金额\n  金：数\n")), ERROR, "重复声明")
    assert "名称「金」重复声明，先前已声明为输入（第 3 行）" in d.message
    assert only(diagnostics("结论：\n  x：数\n规则 R-1 甲：\n  依据 规范 \"1\"\n  则 x = 1\n"
                            "规则 R-1 乙：\n  依据 规范 \"1\"\n  则 x = 1\n"), ERROR, "规则编号「R-1」重复")


def test_builtin_names_cannot_be_redefined():
    only(diagnostics("函数 求和（x：数） = x\n"), ERROR, "内置函数名")


def test_assignment_to_non_conclusion():
    only(diagnostics(rule("  则 金 = 1元", "结果：数", "  金：金额\n")), ERROR, "规则只能给结论赋值")


# ---------------------------------------------------------------- types
def test_money_plus_duration_is_a_type_error():
    d = only(diagnostics(rule("  则 结果 = 金 + 48小时", "结果：金额", "  金：金额\n")), ERROR, "不能计算 金额 + 时长")
    assert "金额与时长不能相加减" in d.hint


def test_money_times_percent_is_money():
    p = program(rule("  则 结果 = 金 × 30%", "结果：金额", "  金：金额\n"))
    assert p.rules["R-1"].assignments[0][1].type == T.MONEY
    d = only(diagnostics(rule("  则 结果 = 金 × 30%", "结果：文本", "  金：金额\n")), ERROR, "应为 文本，实际为 金额")
    assert d.severity == ERROR


@pytest.mark.parametrize(
    ("expr", "inputs", "type_"),
    [
        ("t + 3天", "  t：时间\n", T.DATETIME), ("t - t", "  t：时间\n", T.DURATION), ("d + 3天", "  d：日期\n", T.DATE),
        ("d - d", "  d：日期\n", T.DURATION), ("金 × 2", "  金：金额\n", T.MONEY), ("金 ÷ 2", "  金：金额\n", T.MONEY),
        ("n ÷ 2", "  n：数\n", T.NUMBER), ("h ÷ 2", "  h：时长\n", T.DURATION), ('s + "x"', "  s：文本\n", T.TEXT),
        ("比率（n，2）", "  n：数\n", T.PERCENT),
    ],
)
def test_arithmetic_types(expr, inputs, type_):
    p = program(f"输入：\n{inputs}定义 值 = {expr}\n结论：\n  结果：是否\n规则 R-1 甲：\n  依据 规范 \"1\"\n  则 结果 = 值 有值")
    assert p.definitions["值"].type == type_


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  则 结果 = 1", "应为 金额，实际为 数"),
        ("  如果 金\n  则 结果 = 金", "条件应为 是否"),
        ('  则 结果 = 若 金 > 0元 则 金 否则 "零"', "两个分支类型不同"),
        ('  则 结果 = 金 若无则 "零"', "「若无则」两边类型不同"),
        ("  如果 金 早于 现在\n  则 结果 = 金", "不能比较 金额 与 时间"),
        ("  则 结果 = 金 × 金", "不能计算 金额 × 金额"),
    ],
)
def test_type_errors(body, message):
    only(diagnostics(rule(body, "结果：金额", "  金：金额\n")), ERROR, message)


def test_number_where_money_expected_gets_a_unit_hint():
    d = only(diagnostics(rule("  则 结果 = 1", "结果：金额")), ERROR, "应为 金额")
    assert "5元" in d.hint


def test_enum_literal_outside_the_choices():
    only(diagnostics(rule('  则 结果 = "其他"', '结果：选项（"甲"，"乙"）')), ERROR, "「其他」")


def test_record_field_unknown():
    d = only(diagnostics(rule("  则 结果 = r.价钱", "结果：金额", "  r：记录（价格：金额）\n")), ERROR, "记录没有字段「价钱」")
    assert d.hint == "是否想写「价格」？"


# ---------------------------------------------------------------- dependencies
def test_definition_cycle():
    ds = diagnostics("定义 甲值 = 乙值 + 1\n定义 乙值 = 甲值 + 1\n" + rule("  则 结果 = 甲值"))
    assert "甲值 → 乙值 → 甲值" in only(ds, ERROR, "循环依赖").message


def test_conclusion_cycle():
    ds = diagnostics("结论：\n  甲值：数\n  乙值：数\n规则 R-1 甲：\n  依据 规范 \"1\"\n  则 甲值 = 乙值 + 1\n"
                     "规则 R-2 乙：\n  依据 规范 \"1\"\n  则 乙值 = 甲值 + 1")
    only(ds, ERROR, "结论和定义之间存在循环依赖")


def test_exception_cycle_and_missing_base():
    ds = diagnostics("结论：\n  x：数\n规则 R-1 甲：\n  依据 规范 \"1\"\n  例外于 R-2\n  则 x = 1\n"
                     "规则 R-2 乙：\n  依据 规范 \"1\"\n  例外于 R-1\n  则 x = 2\n")
    only(ds, ERROR, "互为例外")
    only(diagnostics(rule("  例外于 R-9\n  则 结果 = 1")), ERROR, "没有这条规则")


def test_evaluation_order_puts_dependencies_first():
    p = program("定义 乙值 = 甲值 + 1\n定义 甲值 = 1\n" + rule("  则 结果 = 乙值"))
    assert p.order.index("甲值") < p.order.index("乙值") < p.order.index("结果")


# ---------------------------------------------------------------- warnings
def test_unused_inputs_and_params():
    ds = diagnostics("参数：\n  比 = 30%\n" + rule("  则 结果 = 1", inputs="  金：金额\n  号：文本，标识\n"))
    assert only(ds, WARNING, "输入「金」没有被任何规则使用").code == "unused"
    assert only(ds, WARNING, "参数「比」没有被任何规则使用").code == "unused"
    assert not [d for d in ds if "号" in d.message]  # 标识 inputs identify the case, they are not read by rules


def test_missing_citation():
    ds = diagnostics("结论：\n  x：数\n规则 R-1 甲：\n  则 x = 1\n")
    assert only(ds, WARNING, "没有写「依据」").code == "missing-citation"


def test_undeclared_document():
    d = only(diagnostics("结论：\n  x：数\n规则 R-1 甲：\n  依据 规矩 \"1\"\n  则 x = 1\n"), ERROR, "未声明的文献「规矩」")
    assert d.hint == "是否想写「规范」？"


def test_never_firing_rules():
    assert only(diagnostics(rule("  如果 否\n  则 结果 = 1")), WARNING, "恒不成立").code == "never-fires"
    ds = diagnostics("结论：\n  x：数\n规则 R-1 甲：\n  依据 规范 \"1\"\n  如果 1 > 0\n  则 x = 1\n"
                     "规则 R-2 乙：\n  依据 规范 \"1\"\n  例外于 R-1\n  则 x = 2\n")
    assert only(ds, WARNING, "永远不会生效").code == "never-fires"


def test_no_rule_and_no_default():
    assert only(diagnostics("结论：\n  x：数\n"), WARNING, "总是为空").code == "no-rule"


# ---------------------------------------------------------------- default logic
def test_equal_rank_static_conflict():
    ds = diagnostics("结论：\n  x：数\n规则 R-1 甲：\n  依据 规范 \"1\"\n  则 x = 1\n"
                     "规则 R-2 乙：\n  依据 规范 \"1\"\n  则 x = 2\n")
    d = only(ds, ERROR, "同级且总是同时适用")
    assert "「R-1」（第 4 行）与「R-2」（第 7 行）" in d.message and "例外于 R-1" in d.hint


def test_equal_rank_rules_with_equal_values_or_conditions_are_fine():
    same = diagnostics("结论：\n  x：数\n规则 R-1 甲：\n  依据 规范 \"1\"\n  则 x = 1\n"
                       "规则 R-2 乙：\n  依据 规范 \"1\"\n  则 x = 1\n")
    assert not [d for d in same if d.is_error]
    guarded = diagnostics("输入：\n  n：数\n结论：\n  x：数\n规则 R-1 甲：\n  依据 规范 \"1\"\n  如果 n > 1\n  则 x = 1\n"
                          "规则 R-2 乙：\n  依据 规范 \"1\"\n  如果 n < 1\n  则 x = 2\n")
    assert not [d for d in guarded if d.is_error]


def test_exception_tree_in_the_program():
    p = program("输入：\n  n：数\n结论：\n  x：数\n规则 R-1 甲：\n  依据 规范 \"1\"\n  则 x = 1\n"
                "规则 R-1a 乙：\n  依据 规范 \"1\"\n  例外于 R-1\n  如果 n > 1\n  则 x = 2\n")
    c = p.conclusions["x"]
    assert c.roots == ("R-1",) and c.children["R-1"] == ("R-1a",)


# ---------------------------------------------------------------- decision tables
TABLE = "决策表 档（x：数），命中 {hit}：\n{rows}" + rule("  则 结果 = 档（5）")


def test_table_gap():
    ds = diagnostics(TABLE.format(hit="唯一", rows="  | < 10 | => 1\n  | > 10 | => 2\n"))
    d = only(ds, WARNING, "有空缺")
    assert "x = 10 时没有任何行命中" in d.message


def test_table_overlap():
    ds = diagnostics(TABLE.format(hit="唯一", rows="  | ≤ 10 | => 1\n  | ≥ 10 | => 2\n"))
    assert "x = 10 时两行都命中" in only(ds, ERROR, "重叠").message


def test_first_hit_tables_may_overlap_and_complete_tables_have_no_gap():
    ds = diagnostics(TABLE.format(hit="首个", rows="  | ≤ 10 | => 1\n  | - | => 2\n"))
    assert not [d for d in ds if "决策表" in d.message]


def test_table_text_column_gap_and_in_cells():
    src = ("决策表 地区档（省：文本，n：数），命中 唯一：\n  | 属于 [\"上海\"] | < 5 | => 1\n  | 属于 [\"上海\"] | ≥ 5 | => 2\n"
           + rule('  则 结果 = 地区档（"上海"，1）'))
    assert "省 = 其他值" in only(diagnostics(src), WARNING, "有空缺").message


def test_equal_and_unequal_cells_take_texts_and_cover_other_values():
    # = 值 / ≠ 值 were refused on a text column as if they needed an order
    from interpreter.api import load_source

    table = "决策表 分（v：文本），命中 唯一：\n  | = \"q\" | => 1\n  | ≠ \"q\" | => 2\n"
    src = table + rule("  则 结果 = 分（名）", inputs="  名：文本\n")
    assert not [d for d in diagnostics(src) if d.is_error or "决策表" in d.message]
    only_equal = src.replace('  | ≠ "q" | => 2\n', "")
    assert "v = 其他值" in only(diagnostics(only_equal), WARNING, "有空缺").message
    book = load_source("规则书 t\n" + DOC + src)
    assert [book.evaluate({"名": n}).conclusions["结果"] for n in ("q", "z")] == [1, 2]


def test_ordering_cells_on_a_tier_column_order_tiers_as_higher_and_lower_do():
    # they were accepted, then failed at run time ('>' not supported between TierValue)
    from interpreter.api import load_source

    src = ("层级 等级：S1 > S2 > A\n决策表 分（v：等级），命中 唯一：\n  | > S2 | => 1\n  | ≤ A | => 2\n"
           + rule("  则 结果 = 分（级）", inputs="  级：等级\n"))
    assert "v = S2" in only(diagnostics(src), WARNING, "有空缺").message
    book = load_source("规则书 t\n" + DOC + src)
    assert [book.evaluate({"级": n}).conclusions["结果"] for n in ("S1", "S2", "A")] == [1, None, 2]
    assert [book.evaluate_reference({"级": n})["结果"] for n in ("S1", "S2", "A")] == [1, None, 2]


def test_table_row_width_and_hit_policy():
    only(diagnostics(TABLE.format(hit="唯一", rows="  | 1 | 2 | => 1\n")), ERROR, "这一行有 2 个条件格，应为 1 个")
    only(diagnostics(TABLE.format(hit="随便", rows="  | - | => 1\n")), ERROR, "未知的命中策略")


# ---------------------------------------------------------------- a 日期 where a 时间 is expected
@pytest.mark.parametrize(("body", "where"), [
    ("  则 结果 = 活动日", "结论「结果」应为时间"),
    ("  则 结果 = 若 付款 > 零点（活动日） 则 活动日 否则 付款", "「若…则…否则…」的另一个分支是时间"),
    ("  则 结果 = 活动日 若无则 付款", "「若无则」的另一边是时间"),
    ("  则 结果 = 首个（[活动日，付款]）", "列表中有时间"),
])
def test_a_date_where_a_time_is_expected_is_an_error_with_the_way_to_its_midnight(body, where):
    # nothing would convert it: + 36小时 would move it by whole days, < 付款 would fail
    ds = diagnostics(rule(body, "结果：时间", "  付款：时间\n  活动日：日期\n"))
    d = only(ds, ERROR, where)
    assert d.code == "date-as-time" and "这里给的是日期「活动日」" in d.message
    assert d.hint == "要当天零点的时间，写成「零点（活动日）」"
    assert not any(x.code == "date-as-time" for x in diagnostics(
        rule("  则 结果 = 零点（活动日） + 36小时", "结果：时间", "  活动日：日期\n")))


def test_a_date_literal_for_a_time_is_an_error_that_asks_for_the_clock():
    src = rule("  则 结果 = 截止", "结果：时间", "  付款：时间，可选\n") + "\n参数：\n  截止：时间 = 2022-02-08\n"
    d = only(diagnostics(src), ERROR, "参数「截止」的值应为时间，这里给的是日期「2022-02-08」")
    assert d.code == "date-as-time" and d.hint == "写出时刻，如「2022-02-08 00:00:00」"
    src = rule("  则 结果 = 首个（截止）", "结果：时间", "  付款：时间，可选\n") + (
        "\n参数：\n  截止：列表（时间） = [2022-02-08]\n")
    d = only(diagnostics(src), ERROR, "含日期")
    assert d.hint == "给其中的日期写出时刻，如「2022-02-08 00:00:00」"


@pytest.mark.parametrize(("conclusion", "body", "where"), [
    ("结果：时间", "最早（活动日，付款）", "「最早」的另一个参数是时间"),
    ("结果：列表（时间）", "时间列 + 日列", "「+」的另一边是时间列表"),
    ("结果：时间", "取（付款）", "决策表「取」的另一行结果是时间"),
])
def test_dates_that_would_reach_times_through_unification_are_errors(conclusion, body, where):
    # the unified type is 时间, the value picked could be the 日期: 最早（活动日，付款） + 36小时
    # moved a date by whole days, and printed it without a clock
    table = "决策表 取（t：时间），命中 首个：\n  | < 2022-01-01 00:00:00 | => t\n  | - | => 活动日\n\n"
    src = rule(f"  则 结果 = {body}", conclusion,
               "  付款：时间\n  活动日：日期\n  时间列：列表（时间）\n  日列：列表（日期）\n")
    src = src.replace("规则 R-1", table + "规则 R-1", 1)
    d = only(diagnostics(src), ERROR, where)
    assert d.code == "date-as-time"


def test_a_time_among_dates_is_an_error_since_it_never_equals_one():
    d = only(diagnostics(rule("  则 结果 = 付款 属于 [2022-03-01]", "结果：是否", "  付款：时间\n")), ERROR,
             "一边是时间、一边是日期")
    assert d.code == "date-as-time" and "日期（…）" in d.hint
    assert not any(x.severity == ERROR for x in diagnostics(
        rule("  则 结果 = 日期（付款） 属于 [2022-03-01]", "结果：是否", "  付款：时间\n")))


@pytest.mark.parametrize(("conclusion", "body", "refused"), [
    ("结果：列表（时间）", "日列", True),
    ("结果：列表（时间）", "[d 对于 d 属于 日列]", True),
    ("结果：列表（时间）", "[零点（d） 对于 d 属于 日列]", False),
    ("结果：列表（日期）", "日列", False),
    ("结果：记录（时间：时间）", "{时间：活动日}", True),
])
def test_dates_inside_lists_and_records_where_times_are_expected_are_errors(conclusion, body, refused):
    ds = diagnostics(rule(f"  则 结果 = {body}", conclusion, "  活动日：日期\n  日列：列表（日期）\n"))
    found = [d for d in ds if d.code == "date-as-time" and "含日期" in d.message]
    assert bool(found) == refused, [d.message for d in ds]
    assert all(d.severity == ERROR for d in found)


def test_a_test_block_gives_a_date_for_a_time_as_a_case_would_its_midnight():
    # a JSON case must spell a 时间 with its clock; a test block may write the date alone
    from interpreter.api import load_source
    from interpreter.testing import run_tests

    src = DOC + rule("  如果 付款 在 2022-01-01 00:00:00 至 截止 之间\n  则 结果 = 是", "结果：是否，默认 否",
                     "  付款：时间\n  轨迹：列表（时间），可选\n") + (
        "\n参数：\n  截止：时间 = 2022-02-08 00:00:00\n\n"
        "测试 日期即零点：\n  给定 现在 = 2022-03-01，付款 = 2022-02-08，轨迹 = [2022-01-05]\n  期望 结果 = 是\n")
    book = load_source(src)
    assert not [d.message for d in book.diagnostics if d.code == "date-as-time"]
    (test,) = book.program.tests
    assert test.now == datetime(2022, 3, 1) and test.given["付款"] == datetime(2022, 2, 8)
    assert test.given["轨迹"] == (datetime(2022, 1, 5),)
    report = run_tests(book, None)
    assert report.results and all(r.ok for r in report.results), report.results


def test_midnight_of_a_date_or_a_time_in_every_evaluator():
    from interpreter.api import load_source

    book = load_source(DOC + rule("  则 结果 = 零点（活动日） + 36小时，早 = 零点（付款） < 付款", "结果：时间\n  早：是否",
                                  "  付款：时间\n  活动日：日期，可选\n"))
    facts, _ = book.decoder.decode({"付款": "2022-03-01 10:00:00", "活动日": "2022-03-01"})
    now = datetime(2022, 3, 2)
    expected = {"结果": datetime(2022, 3, 2, 12), "早": True}
    assert book.evaluator.evaluate(dict(facts), now) == expected
    assert book.walker.evaluate(dict(facts), now)[0] == expected
    assert book.tracer.evaluate(dict(facts), now) == book.walker.evaluate(dict(facts), now, trace=True)
    facts.pop("活动日")
    assert book.evaluator.evaluate(dict(facts), now)["结果"] is None


# ---------------------------------------------------------------- strict mode and the CLI
def test_strict_turns_warnings_into_failure():
    src = DOC + rule("  则 结果 = 1", inputs="  金：金额\n")
    _, ds = check(parse(src), src)
    assert ds and not any(d.is_error for d in ds)
    with pytest.raises(RulebookError):
        check(parse(src), src, strict=True)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interpreter.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_rulebook_check_cli(tmp_path):
    warn = tmp_path / "warn.rules"
    warn.write_text(DOC + rule("  则 结果 = 1", inputs="  金：金额\n"), encoding="utf-8")
    plain = _cli("check", str(warn))
    assert plain.returncode == 0 and "警告" in plain.stdout + plain.stderr
    assert _cli("check", "--strict", str(warn)).returncode != 0
    bad = tmp_path / "bad.rules"
    bad.write_text(DOC + rule("  则 结果 = 付款"), encoding="utf-8")
    out = _cli("check", str(bad))
    assert out.returncode != 0 and "未知的名称「付款」" in out.stdout + out.stderr


@pytest.mark.parametrize("path", sorted((ROOT / "rulebooks").glob("*.rules")), ids=lambda p: p.stem)
def test_bundled_rulebooks_pass_strict(path):
    src = path.read_text(encoding="utf-8")
    check(parse(src, str(path)), src, strict=True)


def test_money_table_gap_counts_whole_cents():
    from interpreter.api import load_source

    table = ("规则书 t\n文献 规：《规》\n输入：\n  额：金额\n结论：\n  费：金额\n"
             "决策表 运费（订单额：金额），命中 唯一：\n  | < 100元 | => 10元\n  | 100元 至 {hi} | => 5元\n"
             "  | ≥ 200元 | => 0元\n规则 R-1 x：\n  依据 规 \"1\"\n  则 费 = 运费（额）\n")
    assert not load_source(table.format(hi="199.99元"), "t.rules").diagnostics
    gaps = [d.message for d in load_source(table.format(hi="199.98元"), "t.rules").diagnostics]
    assert gaps == ["决策表「运费」有空缺：订单额 = 199.99 时没有任何行命中，结果为空"]


@pytest.mark.parametrize(("inputs", "where"), [
    ("  付款：时间\n  远期：时间，默认 起点\n", "读了定义「起点」"),
    ("  付款：时间\n  远期：时间，默认 后期\n  后期：时间，可选\n", "读了在它之后声明的输入「后期」"),
    ("  付款：时间\n  远期：时间，默认 远期\n", "读了它自己"),
])
def test_an_input_default_reads_only_what_exists_before_evaluation(inputs, where):
    # the compiled evaluator takes defaults first: a definition was not computed yet
    # (UnboundLocalError), a later input's default not taken yet (silently 空)
    src = rule("  则 结果 = 远期", "结果：时间", inputs) + "\n定义 起点 = 付款\n"
    d = only(diagnostics(src), ERROR, where)
    assert "只能用常量、参数、现在、内置函数和在它之前声明的输入" in d.message
    fine = "  付款：时间\n  远期：时间，默认 付款 + 宽限\n  晚期：时间，默认 最晚（远期，现在）\n"
    src = rule("  则 结果 = 晚期", "结果：时间", fine) + "\n参数：\n  宽限：时长 = 2天\n"
    assert not [x.message for x in diagnostics(src) if x.severity == ERROR]  # a parameter, declared after


@pytest.mark.parametrize("body", ["时间列 = [2022-03-01]", "[付款] ≠ 日列", "[付款] 属于 [[2022-03-01]]"])
def test_lists_of_times_and_of_dates_never_equal_so_comparing_them_is_an_error(body):
    ds = diagnostics(rule(f"  则 结果 = {body}", "结果：是否", "  付款：时间\n  时间列：列表（时间）\n  日列：列表（日期）\n"))
    d = only(ds, ERROR, "不会相等")
    assert d.code == "date-as-time" and "日期（…）" in d.hint
    # two scalars compare the date as its midnight: allowed
    assert not [x for x in diagnostics(rule("  则 结果 = 付款 = 2022-03-01", "结果：是否", "  付款：时间\n"))
                if x.severity == ERROR]


def test_a_parameter_that_names_a_definition_keeps_the_definitions_own_errors():
    # parameters are checked before the inputs' defaults, after the inputs' types are known:
    # the definition reached through the parameter sees 金额 as 金额, not as 任意
    src = rule("  则 结果 = D", "结果：数", "  金额：金额\n  数量：数\n") + "\n参数：\n  P = D\n\n定义 D = 金额 + 数量\n"
    ds = diagnostics(src)
    only(ds, ERROR, "参数「P」的值必须是常量")
    only(ds, ERROR, "不能计算 金额 + 数")


# ---------------------------------------------------------------- depth every evaluator can follow
def _chain(kind: str, n: int) -> str:
    """A conclusion n levels deep: in one expression, or through definitions or functions each
    reading the one before (split as a naive reading of "拆成几个定义" would)."""
    named = ""
    if kind == "defs":
        named = "定义 d1 = 价\n" + "".join(f"定义 d{i} = d{i - 1} + 价\n" for i in range(2, n + 1))
        expr = f"d{n}"
    elif kind == "fns":
        named = "函数 f1（x：金额） = x\n" + "".join(f"函数 f{i}（x：金额） = f{i - 1}（x） + x\n" for i in range(2, n + 1))
        expr = f"f{n}（价）"
    else:
        expr = {"sum": lambda: " + ".join(["价"] * n),
                "cond": lambda: "".join(f"若 价 > {i}元 则 {i}元 否则 " for i in range(n)) + "0元",
                "max": lambda: "最大（" * (n - 1) + "价" + "，1元）" * (n - 1)}[kind]()
    return f"输入：\n  价：金额\n结论：\n  和：金额\n{named}规则 R-1 x：\n  依据 规范 \"1\"\n  则 和 = {expr}\n"


@pytest.mark.parametrize("kind", ["sum", "cond", "max", "defs", "fns"])
def test_the_deepest_expression_accepted_is_evaluated_and_explained_by_every_path(kind):
    # a chain of 250 + passed the checker and was evaluated, then every explanation failed with
    # RecursionError (an internal error); at 340 the reference evaluator failed where the tracer did not
    from interpreter.api import load_source
    from interpreter.explanation import why_not
    from interpreter.render import markdown, text_tree

    sizes = range(100, 200, 7) if kind in ("sum", "cond", "max") else range(20, 120, 5)
    accepted = [n for n in sizes if not [d for d in diagnostics(_chain(kind, n)) if d.is_error]]
    refused = [n for n in sizes if n not in accepted]
    assert accepted and refused and max(accepted) < min(refused)
    assert "嵌套超过 150 层" in only(diagnostics(_chain(kind, min(refused))), ERROR).message
    book = load_source("规则书 d\n" + DOC + _chain(kind, max(accepted)))
    value = book.evaluate({"价": "1.00"}).conclusions["和"]
    assert book.evaluate_reference({"价": "1.00"})["和"] == value
    decision = book.evaluate({"价": "1.00"}, explain=True)
    decision.to_json()
    text_tree([(decision.explanation, "d")], "t")
    markdown([(decision.explanation, "d")])
    why_not(book.program, decision.trace, "和")


def test_a_range_written_from_the_higher_end_is_warned_of():
    # 高 至 中 follows the declaration's order (highest first) and is never true: it failed at
    # run time before tiers were ordered, then silently matched nothing
    src = ("层级 等级：高 高于 中 高于 低\n"
           + rule("  则 结果 = 若 级 在 高 至 中 之间 则 1 否则 2", inputs="  级：等级\n"))
    assert "「高 至 中」的起点大于终点" in only(diagnostics(src), WARNING).message
    assert not [d for d in diagnostics(src.replace("高 至 中", "中 至 高")) if "起点" in d.message]
    numbers = rule("  则 结果 = 若 n 在 5 至 1 之间 则 1 否则 2", inputs="  n：数\n")
    assert "「5 至 1」" in only(diagnostics(numbers), WARNING, "起点大于终点").message


def test_list_columns_are_analysed_for_gaps_and_overlaps():
    # the analysis compared a list with its elements, failed, and said nothing: an overlap passed
    # the checker and failed at run time
    table = "决策表 档（x：列表（数）），命中 唯一：\n{rows}"
    use = rule("  则 结果 = 档（表）", inputs="  表：列表（数）\n")
    only_one = table.format(rows="  | = [1] | => 1\n") + use
    assert "x = 其他值" in only(diagnostics(only_one), WARNING, "有空缺").message
    overlap = table.format(rows="  | = [1] | => 1\n  | 属于 [[1]，[2]] | => 2\n  | - | => 3\n") + use
    assert "重叠" in only(diagnostics(overlap), ERROR).message


def test_a_range_of_a_percent_and_a_number_is_a_type_error_not_a_crash():
    # the reversed-range check compared Percent with Decimal: AttributeError, an internal error
    src = rule("  则 结果 = 若 p 在 50% 至 0.6 之间 则 1 否则 2", inputs="  p：百分比\n")
    assert "不能比较 百分比 与 数" in only(diagnostics(src), ERROR).message
    table = "决策表 档（x：百分比），命中 首个：\n  | < 0.6 | => 1\n  | ≥ 50% | => 2\n" + rule("  则 结果 = 档（p）", inputs="  p：百分比\n")
    assert [d for d in diagnostics(table) if d.is_error]


@pytest.mark.parametrize("kind", ["versions", "exceptions", "comprehensions"])
def test_depth_reached_through_versions_exceptions_and_comprehensions_is_counted(kind):
    # each passed the checker, then the reference walker ran out of recursion where the compiled
    # evaluator answered
    if kind == "versions":  # a version anchored on a deep expression
        deep = "".join(f"若 A > {i} 则 {i} 否则 " for i in range(148)) + "0"
        src = (f"版本 V：按 零点（2022-01-01） + （{deep}） × 1天，自 2022-01-01\n"
               + rule("  适用版本 V\n  则 结果 = 1", inputs="  A：数\n"))
    elif kind == "exceptions":  # a chain of 400 exceptions
        rules = "".join(f"规则 R{i} x：\n  依据 规范 \"1\"\n  例外于 R{i - 1}\n  如果 A > {i}\n  则 结果 = {i}\n"
                        for i in range(1, 400))
        src = "输入：\n  A：数\n结论：\n  结果：数\n规则 R0 x：\n  依据 规范 \"1\"\n  则 结果 = 0\n" + rules
    else:  # comprehensions nested 100 deep, each twice the frames of another level
        expr = "L"
        for _ in range(100):
            expr = f"[x 对于 x 属于 {expr}]"
        src = rule(f"  则 结果 = 计数（{expr}）", inputs="  L：列表（数）\n")
    assert "嵌套超过 150 层" in only(diagnostics(src), ERROR).message


def test_a_cycle_of_exceptions_below_a_base_rule_is_an_error():
    # R1 and R2 are exceptions to each other under the base R0: the roots were intact, so the
    # cycle passed the checker and every evaluation recursed until "求值嵌套过深"
    src = ("输入：\n  A：数\n结论：\n  结果：数\n"
           "规则 R0 x：\n  依据 规范 \"1\"\n  则 结果 = 0\n"
           "规则 R1 x：\n  依据 规范 \"1\"\n  例外于 R2\n  如果 A > 1\n  则 结果 = 1\n"
           "规则 R2 x：\n  依据 规范 \"1\"\n  例外于 R1，R0\n  如果 A > 2\n  则 结果 = 2\n")
    assert "互为例外，形成循环" in only(diagnostics(src), ERROR).message


def test_a_reversed_range_of_dates_in_a_time_column_is_warned_of():
    table = "决策表 档（x：时间），命中 首个：\n  | 2022-01-02 至 2022-01-01 | => 1\n  | - | => 2\n"
    src = table + rule("  则 结果 = 档（t）", inputs="  t：时间\n")
    assert "起点大于终点" in only(diagnostics(src), WARNING, "起点").message


def test_the_gap_analysis_matches_cells_as_the_evaluators_do():
    # 空 in a cell matches nothing when evaluated, but the analysis took "= 空" to match 空 and
    # "≠ 空" to match everything else: a table that always gives 空 had no gap warning
    src = ("决策表 档（v：文本），命中 唯一：\n  | = 空 | => 1\n  | ≠ 空 | => 2\n"
           + rule("  则 结果 = 档（x）", inputs="  x：文本，可选\n"))
    assert "有空缺" in only(diagnostics(src), WARNING, "有空缺").message


@pytest.mark.parametrize("value", ["-\"文本\"", "-[1]", "-{a：1}", "-2022-01-01", "-是"])
def test_a_minus_before_a_constant_that_has_no_negative_is_a_type_error(value):
    # parameters, test facts and version bounds are folded to values: this used to be a TypeError
    d = only(diagnostics(f"参数：\n  p = {value}\n"), ERROR, "取负")
    assert d.span.line == 3


def test_a_minus_before_nothing_is_nothing():
    assert program("参数：\n  p = -空\n").params["p"].value is None


def test_rules_that_always_agree_in_value_are_no_conflict_however_written():
    src = ("结论：\n  时限：时长\n  钱：金额\n规则 A-1：\n  则 时限 = 48小时，钱 = 1元\n"
           "规则 A-2：\n  则 时限 = 2天，钱 = 1.00元\n")
    assert not [d for d in diagnostics(src) if d.severity == ERROR]
    src += "规则 A-3：\n  则 时限 = 3天\n"
    only(diagnostics(src), ERROR, "总是同时适用")


def test_a_table_cell_of_nothing_never_matches_and_is_warned_of():
    src = ('输入：\n  x：文本，可选\n结论：\n  y：文本\n决策表 表（v：文本），命中 首个：\n  | 空 | => "a"\n  | - | => "b"\n'
           '规则 R：\n  依据 规范 "一"\n  则 y = 表（x）\n')
    d = only(diagnostics(src), WARNING, "条件格写了「空」")
    assert d.span.line == 7 and d.code == "never-matches"


def test_an_invisible_character_in_a_name_is_shown_as_its_escape():
    ds = diagnostics("输入：\n  会员：是否\n结论：\n  y：是否\n规则 R：\n  则 y = 「会员\u200b」\n")
    d = only(ds, ERROR, "未知的名称")
    assert "\\u200b" in d.render(None) and "\u200b" not in d.render(None)
