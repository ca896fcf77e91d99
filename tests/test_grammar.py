"""Every construct of the cheat sheet parses to the right AST; syntax errors are clear and placed right."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from rich.cells import cell_len

from dsl import ast
from dsl.diagnostics import RulebookSyntaxError
from dsl.parser import parse

#: One rulebook using every construct of the cheat sheet (shared with the formatter tests).
CHEATSHEET = """\
规则书 全部构造
说明 "覆盖速查表的每个构造"
版本号 "1.0"

文献 规范：《某平台规范》，种子 "007"

层级 等级：甲 高于 乙 高于 丙

输入：
  订单号：文本，标识
  付款时间：时间，来源 "pay_time" "trade.pay_time"，说明 "付款的时刻"
  下单日期：日期，可选
  实付金额：金额
  折扣：百分比，默认 10%
  件数：数，默认 1
  时限：时长，可选
  已签收：是否，默认 否
  省份：文本，可选
  标签：列表（文本），默认 []
  明细：列表（记录（名称：文本，价格：金额，备注：文本？）），默认 []
  渠道：选项（"线上"，"线下"）
  卖家等级：等级，默认 乙

参数：
  宽限 = 48小时，说明 "宽限期"
  下限 = ¥5
  比例 = 30%
  截止 = 2022年1月24日20:00:00
  名单 = ["新疆"，"西藏"]
  配置 = {上限：500元，天数：3天}
  层 = 甲

结论：
  截止时间：时间
  赔付：金额，默认 0元
  说明文字：文本
  已命中：是否
  清单：列表（金额）
  档位：文本

版本 新版：按 付款时间，自 2022-04-15 00:00:00 起
版本 旧版：按 付款时间，早于 2022-04-15 00:00:00
版本 区间：按 下单日期，自 2022-01-01 起，截至 2022-12-31

定义 总价 = 求和（[项.价格 对于 项 属于 明细]）
定义 排序价 = [项.价格 对于 项 属于 明细 若 项.价格 > 0元 按 项.价格 排序]
定义 嵌套 = [x 对于 组 属于 [[1，2]，[3]] 对于 x 属于 组]
定义 第一项 = 明细[1]
定义 名称们 = 拼接（明细[1].名称，"-"，文本（件数））

函数 打折（价：金额，率：百分比）：金额 = 价 × 率

决策表 分档（金额值：金额，地区：文本），命中 首个：
  | < 10元 | - | => "低"
  | 10元 至 100元 | 属于 ["上海"，"北京"] | => "中"
  | ≥ 100元 | 不属于 ["新疆"] | => "高"
  | - | "新疆" | => "特"
  | - | - | => "其他"

规则 A-1 基本截止：
  依据 规范 "§1"
  则 截止时间 = 付款时间 + 宽限

规则 A-1a 新版截止：
  依据 规范 "§1.1"，推断："推断理由"，注："备注"
  适用版本 新版
  例外于 A-1
  如果 付款时间 早于 截止 且 不 已签收 或 省份 以 "新" 开头
  则 截止时间 = 付款时间 + 3天

规则 A-2 赔付：
  依据 《某平台规范》 "§2"，推断
  如果 实付金额 ≥ 下限 且 省份 有值 且 下单日期 无值 且 标签 包含 "急"
  则 赔付 = 最大（打折（实付金额，比例），下限） + 实付金额 × 2 - 实付金额 ÷ 4，
    已命中 = 存在 t 属于 标签 满足 t 以 "急" 结尾

规则 A-3 文字说明：
  依据 规范 "§3"
  如果 所有 项 属于 明细 满足 项.备注 有值
  则 说明文字 = 若 卖家等级 高于 丙 则 "好" 否则 省份 若无则 "无"

规则 A-4 清单规则：
  依据 规范 "§4"
  如果 付款时间 在 2022-01-01 至 2022-12-31 之间 且 卖家等级 同级 层 且 渠道 = "线上"
  则 清单 = 排序价 + [总价，-5元]

规则 A-5 档位规则：
  依据 规范 "§5"
  如果 件数 ≠ 0 且 件数 不等于 2 且 (件数 > 1 或 件数 ≤ -1) 且 省份 不属于 名单 且 省份 属于 名单 或 卖家等级 低于 甲
  则 档位 = 分档（实付金额，省份 若无则 ""）

测试 基本：
  给定 现在 = 2022-02-01 12:00:00，订单号 = "1"，付款时间 = 2022-01-24 20:00:00，实付金额 = 100元，渠道 = "线上"
  期望 截止时间 = 2022-01-26 20:00:00，赔付 = 0元
"""


def expr(text: str, prelude: str = "") -> ast.Expr:
    return parse(prelude + "定义 结果值 = " + text).items[-1].value


def R(n: str) -> ast.Ref:  # noqa: N802 - short helper
    return ast.Ref(n)


def num(n: int) -> ast.Literal:
    return ast.Literal("number", Decimal(n), str(n))


@pytest.fixture(scope="module")
def cheat() -> ast.Module:
    return parse(CHEATSHEET, "cheat.rules")


def items_of(m: ast.Module, kind):
    return [i for i in m.items if isinstance(i, kind)]


def test_header_and_documents(cheat):
    assert cheat.header == ast.Header("全部构造", "覆盖速查表的每个构造", "1.0")
    assert items_of(cheat, ast.DocDecl) == [ast.DocDecl("规范", "某平台规范", "007")]


def test_inputs(cheat):
    (section,) = items_of(cheat, ast.InputSection)
    d = {x.name: x for x in section.decls}
    assert d["订单号"].identity and not d["订单号"].optional
    assert d["付款时间"].sources == ("pay_time", "trade.pay_time")
    assert d["付款时间"].description == "付款的时刻"
    assert d["下单日期"].optional and d["下单日期"].type == ast.TypeName("日期")
    assert d["折扣"].default == ast.Literal("percent", d["折扣"].default.value, "10%")
    assert d["标签"].type == ast.TypeApp("列表", (ast.TypeName("文本"),))
    assert d["明细"].type == ast.TypeApp("列表", (ast.TypeApp("记录", (
        ast.FieldArg("名称", ast.TypeName("文本"), False), ast.FieldArg("价格", ast.TypeName("金额"), False),
        ast.FieldArg("备注", ast.TypeName("文本"), True))),))
    assert d["渠道"].type == ast.TypeApp("选项", (ast.ChoiceArg("线上"), ast.ChoiceArg("线下")))
    assert d["卖家等级"].type == ast.TypeName("等级") and d["卖家等级"].default == R("乙")


def test_params(cheat):
    (section,) = items_of(cheat, ast.ParamSection)
    p = {x.name: x for x in section.params}
    assert p["宽限"].value.value == timedelta(hours=48) and p["宽限"].description == "宽限期"
    assert p["下限"].value.kind == "money" and p["下限"].value.value == Decimal("5")
    assert p["截止"].value.value == datetime(2022, 1, 24, 20)
    assert p["名单"].value == ast.ListLiteral((ast.Literal("string", "新疆", "新疆"), ast.Literal("string", "西藏", "西藏")))
    assert isinstance(p["配置"].value, ast.RecordLiteral)
    assert [k for k, _ in p["配置"].value.entries] == ["上限", "天数"]
    assert p["层"].value == R("甲")


def test_tiers_versions_definitions_functions(cheat):
    assert items_of(cheat, ast.TierDecl) == [ast.TierDecl("等级", ("甲", "乙", "丙"))]
    new, old, span = items_of(cheat, ast.VersionDecl)
    assert new.anchor == R("付款时间") and new.start.value == datetime(2022, 4, 15) and new.until is None
    assert old.before.value == datetime(2022, 4, 15) and old.start is None
    assert span.anchor == R("下单日期") and span.start.value == date(2022, 1, 1) and span.until.value == date(2022, 12, 31)
    (fn,) = items_of(cheat, ast.Function)
    assert fn.name == "打折" and [p.name for p in fn.params] == ["价", "率"] and fn.result == ast.TypeName("金额")
    assert fn.body == ast.Binary("×", R("价"), R("率"))
    defs = {d.name: d.value for d in items_of(cheat, ast.Define)}
    assert isinstance(defs["排序价"], ast.Comprehension) and defs["排序价"].sort_key is not None
    assert len(defs["嵌套"].generators) == 2
    assert defs["第一项"] == ast.Index(R("明细"), num(1))


def test_table(cheat):
    (t,) = items_of(cheat, ast.Table)
    assert t.name == "分档" and t.hit_policy == "首个" and len(t.rows) == 5
    assert [c.kind for r in t.rows for c in r.cells] == [
        "compare", "any", "range", "in", "compare", "not_in", "any", "equal", "any", "any"]
    assert t.rows[0].cells[0].op == "<" and t.rows[2].cells[0].op == "≥"
    assert t.rows[-1].result == ast.Literal("string", "其他", "其他")


def test_rules(cheat):
    rules = {r.key: r for r in items_of(cheat, ast.Rule)}
    assert list(rules) == ["A-1", "A-1a", "A-2", "A-3", "A-4", "A-5"]
    a1a = rules["A-1a"]
    assert a1a.title == "新版截止" and a1a.version == "新版" and a1a.exceptions_of == ("A-1",)
    assert a1a.citations == (ast.Citation("规范", "§1.1", True, "推断理由", "备注"),)
    assert isinstance(a1a.condition, ast.Logical) and a1a.condition.op == "或"
    assert rules["A-2"].citations == (ast.Citation("《某平台规范》", "§2", True, None, None),)
    assert [a.name for a in rules["A-2"].assignments] == ["赔付", "已命中"]
    assert rules["A-1"].condition is None


def test_tests(cheat):
    (t,) = items_of(cheat, ast.Test)
    assert [b.name for b in t.given] == ["现在", "订单号", "付款时间", "实付金额", "渠道"]
    assert [b.name for b in t.expect] == ["截止时间", "赔付"]


def test_test_given_count_ignores_commas_inside_brackets():
    m = parse("测试 甲：\n  给定 现在 = 2022-01-01 00:00:00，列 = [1，2]，记 = {a：1，b：2}\n  期望 结 = 1，果 = 2")
    (t,) = m.items
    assert [b.name for b in t.given] == ["现在", "列", "记"] and [b.name for b in t.expect] == ["结", "果"]


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a + b × c", ast.Binary("+", R("a"), ast.Binary("×", R("b"), R("c")))),
        ("a - b - c", ast.Binary("-", ast.Binary("-", R("a"), R("b")), R("c"))),
        ("（a + b） × c", ast.Binary("×", ast.Binary("+", R("a"), R("b")), R("c"))),
        ("(a + b) * c", ast.Binary("×", ast.Binary("+", R("a"), R("b")), R("c"))),
        ("a / b", ast.Binary("÷", R("a"), R("b"))),
        ("-a × b", ast.Binary("×", ast.Negate(R("a")), R("b"))),
        ("a 且 b 或 c", ast.Logical("或", ast.Logical("且", R("a"), R("b")), R("c"))),
        ("a 或 b 且 c", ast.Logical("或", R("a"), ast.Logical("且", R("b"), R("c")))),
        ("不 a 且 b", ast.Logical("且", ast.Not(R("a")), R("b"))),
        ("若 a 则 b 否则 c", ast.Conditional(R("a"), R("b"), R("c"))),
        ("a 若无则 b", ast.Coalesce(R("a"), R("b"))),
        ('x 以 "前" 开头', ast.Affix(R("x"), ast.Literal("string", "前", "前"), "开头")),
        ('x 以 "后" 结尾', ast.Affix(R("x"), ast.Literal("string", "后", "后"), "结尾")),
        ("x 在 a 至 b 之间", ast.Between(R("x"), R("a"), R("b"))),
        ("x 有值", ast.Presence(R("x"), True)),
        ("x 无值", ast.Presence(R("x"), False)),
        ("a 属于 b", ast.Membership(R("a"), R("b"), False)),
        ("a 不属于 b", ast.Membership(R("a"), R("b"), True)),
        ("a 包含 b", ast.Contains(R("a"), R("b"))),
        ("x 高于 y", ast.TierCompare("高于", R("x"), R("y"))),
        ("x 低于 y", ast.TierCompare("低于", R("x"), R("y"))),
        ("x 同级 y", ast.TierCompare("同级", R("x"), R("y"))),
        ("a 早于 b", ast.Compare("<", "早于", R("a"), R("b"))),
        ("a 晚于 b", ast.Compare(">", "晚于", R("a"), R("b"))),
        ("a 不早于 b", ast.Compare("≥", "不早于", R("a"), R("b"))),
        ("a 不晚于 b", ast.Compare("≤", "不晚于", R("a"), R("b"))),
        ("a 等于 b", ast.Compare("=", "等于", R("a"), R("b"))),
        ("a 不等于 b", ast.Compare("≠", "不等于", R("a"), R("b"))),
        ("a ≠ b", ast.Compare("≠", "≠", R("a"), R("b"))),
        ("a ≥ b", ast.Compare("≥", "≥", R("a"), R("b"))),
        # the spelling is stored canonically, so traditional and ASCII spellings give the same tree
        ("a != b", ast.Compare("≠", "≠", R("a"), R("b"))),
        ("a == b", ast.Compare("=", "=", R("a"), R("b"))),
        ("a >= b", ast.Compare("≥", "≥", R("a"), R("b"))),
        ("a 早於 b", ast.Compare("<", "早于", R("a"), R("b"))),
        ("存在 x 属于 L 满足 x > 1", ast.Quantified("存在", "x", R("L"), ast.Compare(">", ">", R("x"), num(1)))),
        ("所有 x 属于 L 满足 x > 1", ast.Quantified("所有", "x", R("L"), ast.Compare(">", ">", R("x"), num(1)))),
        ("L[1].f", ast.FieldAccess(ast.Index(R("L"), num(1)), "f")),
        ("f（a，b）", ast.Call("f", (R("a"), R("b")))),
        ("f()", ast.Call("f", ())),
        ("现在", ast.Now()),
        ("[]", ast.ListLiteral(())),
        ("[a，b]", ast.ListLiteral((R("a"), R("b")))),
        ("{甲：1，乙：2}", ast.RecordLiteral((("甲", num(1)), ("乙", num(2))))),
        ("空", ast.Literal("null", None, "空")),
        ("是", ast.Literal("bool", True, "是")),
        ("否", ast.Literal("bool", False, "否")),
        ("[x 对于 x 属于 L]", ast.Comprehension(R("x"), (ast.Generator("x", R("L")),), None, None)),
        ("[x 对于 x 属于 L 若 x > 1]",
         ast.Comprehension(R("x"), (ast.Generator("x", R("L")),), ast.Compare(">", ">", R("x"), num(1)), None)),
        ("[x 对于 x 属于 L 按 x 排序]", ast.Comprehension(R("x"), (ast.Generator("x", R("L")),), None, R("x"))),
        ("[x 对于 x 属于 L 若 x > 1 按 -x 排序]",
         ast.Comprehension(R("x"), (ast.Generator("x", R("L")),), ast.Compare(">", ">", R("x"), num(1)),
                           ast.Negate(R("x")))),
    ],
)
def test_expressions(text, tree):
    assert expr(text) == tree


def test_nested_generators_over_fields():
    e = expr("[y 对于 x 属于 L 对于 y 属于 x.子列表]", "输入：\n  L：列表（记录（子列表：列表（数）））\n")
    assert e.generators == (ast.Generator("x", R("L")), ast.Generator("y", ast.FieldAccess(R("x"), "子列表")))


def test_literal_values():
    assert expr("29.70元").value == Decimal("29.70")
    assert expr("¥29.70").value == Decimal("29.70")
    assert expr("48小时").value == timedelta(hours=48)
    assert expr("3天").value == timedelta(days=3)
    assert expr("30分钟").value == timedelta(minutes=30)
    assert expr("2022年1月24日20:00:00").value == datetime(2022, 1, 24, 20)
    assert expr("2022-01-24").value == date(2022, 1, 24)
    assert expr("30%").kind == "percent"


def test_empty_file_and_comments_only():
    assert parse("").items == ()
    assert parse("# 只有注释\n\n").items == ()


def test_spans_point_at_the_source(cheat):
    rule = next(r for r in items_of(cheat, ast.Rule) if r.key == "A-1a")
    line = CHEATSHEET.splitlines()[rule.span.line - 1]
    assert line[rule.span.column - 1:].startswith("A-1a")
    between = expr("x 在 a 至 b 之间")
    assert between.span is not None


# ---------------------------------------------------------------- syntax errors
def error_of(text: str) -> RulebookSyntaxError:
    with pytest.raises(RulebookSyntaxError) as info:
        parse(text, "x.rules")
    return info.value


def test_unexpected_token_lists_what_was_expected_in_chinese():
    err = error_of("规则 R-1 标题：\n  如果 甲 = \n  则 乙 = 1")
    (d,) = err.diagnostics
    assert d.span.line == 3 and d.span.column == 3
    assert "此处不应出现关键字「则」" in d.message and "应为：" in d.message
    assert str(err).startswith("x.rules:3:3: 错误：")


def test_unexpected_end_of_file():
    err = error_of("规则 R-1 标题：\n  则 乙 = （1 + 2")
    assert "文件在此意外结束" in str(err) and "应为：「)」" in str(err)


def test_duplicate_clause():
    err = error_of("规则 R-1 标题：\n 如果 a 如果 b 则 c = 1")
    assert "重复写了「如果」子句" in str(err)


def test_keyword_in_a_name_gets_the_quoting_hint():
    err = error_of("结论：\n  命中：是否")
    assert "「命中」是关键字" in err.diagnostics[0].hint


def test_caret_is_placed_by_display_width():
    err = error_of("规则 R-1 甲乙：\n  则 报名 = 1 1")
    (d,) = err.diagnostics
    assert (d.span.line, d.span.column) == (2, 12)
    lines = str(err).splitlines()
    source_line = next(x for x in lines if "则 报名 = 1 1" in x)
    caret_line = lines[lines.index(source_line) + 1]
    gutter = source_line.index("|") + 2
    # 「  则 报名 = 1 」 is 14 terminal columns (each Han character takes two), not 11 characters
    assert caret_line.index("^") == gutter + cell_len("  则 报名 = 1 ") == gutter + 14
    assert caret_line.strip() == "^"


def test_caret_under_a_wide_token_is_as_wide_as_the_token():
    err = error_of("规则 R-1 标题：\n  则 报名 = 1 命中")
    lines = str(err).splitlines()
    caret_line = next(x for x in lines if "^" in x)
    assert caret_line.strip() == "^^^^"


def test_lexer_errors_are_syntax_errors_with_position():
    err = error_of("定义 甲 = 1 @ 2")
    assert err.diagnostics[0].span.column == 10 and "无法识别的字符「@」" in str(err)


def test_deep_nesting_is_reported_not_a_crash():
    err = error_of("定义 甲 = " + "（" * 300 + "1" + "）" * 300)
    assert "嵌套" in str(err)


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_old_mac_and_windows_line_endings_end_lines(ending):
    # with bare \r the file was one line: its first # commented out every rule after it
    src = ending.join(["规则书 t", "输入：", "  价格：金额", "结论：", "  运费：金额 # 注", "规则 R-1 一：",
                       "  则 运费 = 价格 × 2", ""])
    m = parse(src)
    assert [i.key for i in m.items if isinstance(i, ast.Rule)] == ["R-1"]


@pytest.mark.parametrize(("decl", "option"), [
    ("  a：数，默认 1，默认 2", "默认"), ("  a：数，来源 \"x\"，来源 \"y\"", "来源"), ("  a：数，可选，可选", "可选"),
    ("  a：数，说明 \"一\"，说明 \"二\"", "说明"),
])
def test_an_option_written_twice_is_an_error(decl, option):
    with pytest.raises(RulebookSyntaxError) as exc:
        parse(f"规则书 t\n输入：\n{decl}\n")
    assert f"「a」重复写了「{option}」" in str(exc.value)


def test_a_header_or_version_bound_written_twice_is_an_error():
    with pytest.raises(RulebookSyntaxError, match="规则书重复写了「说明」"):
        parse('规则书 t 说明 "一" 说明 "二"\n')
    with pytest.raises(RulebookSyntaxError, match="版本「新版」重复写了「自…起」"):
        parse("规则书 t\n版本 新版：按 付款，自 2022-01-01 00:00:00 起，自 2023-01-01 00:00:00 起\n")


def test_a_very_long_chain_of_conditionals_is_too_deep_not_an_internal_error():
    src = "规则书 t\n结论：\n  c：数\n规则 R：\n  则 c = " + "若 是 则 1 否则 " * 600 + "1\n"
    with pytest.raises(RulebookSyntaxError, match="嵌套过深"):
        parse(src)


def test_the_excerpt_is_the_line_the_position_counts():
    # splitlines() also splits at U+2028, \f and \x85; positions count \n only
    src = "规则书 t\n文献 规范：《规范》\n结论：\n  y：数\n规则 R：\n  依据 规范 \"第一条\u2028第二款\"\n  则 y = 未知\n"
    from interpreter.api import load_source

    with pytest.raises(Exception) as exc:
        load_source(src, "ls.rules")
    text = str(exc.value)
    assert "ls.rules:7:" in text and "    7 |   则 y = 未知" in text


def test_a_duration_literal_that_is_not_whole_seconds_is_an_error():
    with pytest.raises(RulebookSyntaxError, match="不是整秒"):
        parse("规则书 t\n参数：\n  p = 0.5秒\n")


def test_a_checker_error_in_a_file_with_bare_carriage_returns_quotes_its_line():
    from dsl.diagnostics import RulebookError
    from interpreter.api import load_source

    with pytest.raises(RulebookError) as exc:
        load_source("规则书 t\r结论：\r  y：数\r规则 R：\r  则 y = 未知\r", "x.rules")
    assert "x.rules:5:9: 错误：未知的名称「未知」\n    5 |   则 y = 未知" in str(exc.value)
