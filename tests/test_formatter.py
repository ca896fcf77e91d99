"""`rulebook fmt`: canonical, idempotent, and parse → fmt → parse gives the same tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_grammar import CHEATSHEET

from dsl.formatter import expr_text, format_module, quote_text
from dsl.parser import parse

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "rulebooks").glob("*.rules"))


def roundtrip(source: str, file: str = "<t>") -> tuple[str, str]:
    m1 = parse(source, file)
    t1 = format_module(m1, source)
    m2 = parse(t1, file)
    assert m2 == m1, "parse → fmt → parse changed the tree"
    t2 = format_module(m2, t1)
    assert t2 == t1, "fmt is not idempotent"
    return t1, t2


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_rulebooks_roundtrip(path):
    roundtrip(path.read_text(encoding="utf-8"), str(path))


def test_bundled_rulebooks_exist():
    assert any(p.stem == "shipping" for p in BUNDLED)


def test_cheatsheet_roundtrip():
    text, _ = roundtrip(CHEATSHEET)
    assert "决策表 分档（金额值：金额，地区：文本），命中 首个：" in text
    assert "版本 区间：按 下单日期，自 2022-01-01 起，截至 2022-12-31" in text
    assert "依据 《某平台规范》 \"§2\"，推断" in text


def test_canonical_spelling_and_punctuation():
    src = ("輸入:\n  甲:數\n結論:\n  乙:是否\n規則 R-1 標題:\n  依據 《書》 \"1\"\n"
           "  如果 甲 == 1 並且 甲 != 2 或者 甲 <= 3\n  那麼 乙 = 是\n")
    text, _ = roundtrip(src)
    assert text == ("输入：\n  甲：數\n\n结论：\n  乙：是否\n\n规则 R-1 標題：\n  依据 《書》 \"1\"\n"
                    "  如果 甲 = 1 且 甲 ≠ 2 或 甲 ≤ 3\n  则 乙 = 是\n")


@pytest.mark.parametrize(
    ("source", "printed"),
    [
        ("（a + b） × c", "（a + b） × c"),
        ("a - （b - c）", "a - （b - c）"),
        ("（a - b） - c", "a - b - c"),
        ("不 （a 且 b）", "不 （a 且 b）"),
        ("（a 或 b） 且 c", "（a 或 b） 且 c"),
        ("（若 a 则 b 否则 c） 若无则 d", "（若 a 则 b 否则 c） 若无则 d"),
        ("-（a + b）", "-（a + b）"),
        ("a 早于 b", "a 早于 b"),
        ("a 早於 b", "a 早于 b"),
    ],
)
def test_parentheses_only_where_precedence_needs_them(source, printed):
    tree = parse("定义 结果值 = " + source).items[0].value
    assert expr_text(tree) == printed
    assert parse("定义 结果值 = " + printed).items[0].value == tree


def test_names_the_lexer_would_split_are_quoted():
    src = "输入：\n  「如果 是」：是否\n  「a@b」：数\n  『甲」乙』：数\n结论：\n  乙：是否\n规则 R-1 标题：\n  则 乙 = 「如果 是」 且 「a@b」 > 『甲」乙』\n"
    text, _ = roundtrip(src)
    assert "「如果 是」" in text and "「a@b」" in text and "『甲」乙』" in text


def test_text_holding_quotes_is_printed_with_other_quotes():
    assert quote_text('a"b') == "“a\"b”"
    assert quote_text('a"b”') == "'a\"b”'"
    src = ('输入：\n  甲：文本，说明 “含"引号”\n结论：\n  乙：文本\n'
           '规则 R-1 标题：\n  依据 《书》 ‘含”和"’\n  则 乙 = 甲 + “a"b”\n')
    roundtrip(src)


def test_fmt_check_cli(tmp_path):
    messy = tmp_path / "messy.rules"
    messy.write_text("输入:\n  甲:数\n结论:\n  乙:数\n规则 R-1 标题:\n  依据 《书》 \"1\"\n  则 乙 = 甲+1\n",
                     encoding="utf-8")
    cli = [sys.executable, "-m", "interpreter.cli"]
    check = subprocess.run([*cli, "fmt", "--check", str(messy)], capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 1
    assert subprocess.run([*cli, "fmt", str(messy)], capture_output=True, text=True, cwd=ROOT).returncode == 0
    assert "则 乙 = 甲 + 1" in messy.read_text(encoding="utf-8")
    check = subprocess.run([*cli, "fmt", "--check", str(messy)], capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 0, check.stdout + check.stderr


COMMENTED = """规则书 注释示例
# 文件开头的说明

文献 规：《规》  # 行尾注释
输入：
  # 输入前的注释
  甲：数  # 甲的注释
结论：
  乙：数
# 规则前的注释
规则 R-1 一：
  依据 规 "1"
  # 规则内部的注释
  则 乙 = 甲
# 文件末尾的注释
"""


def test_fmt_keeps_every_comment_and_is_idempotent():
    once = format_module(parse(COMMENTED, "c.rules"), COMMENTED)
    for line in COMMENTED.splitlines():
        if "#" in line:
            assert line[line.index("#"):] in once
    assert "  甲：数  # 甲的注释" in once
    assert "文献 规：《规》  # 行尾注释" in once
    twice = format_module(parse(once, "c.rules"), once)
    assert twice == once


def test_fmt_wraps_long_conditions_and_keeps_now_unquoted():
    src = ("规则书 长\n文献 规：《规》\n输入：\n  甲：数\n  乙：数\n结论：\n  丙：是否\n"
           "规则 R-1 一：\n  依据 规 \"1\"\n  如果 " + " 且 ".join(f"甲 > {i} 或 乙 < {i}" for i in range(8))
           + "\n  则 丙 = 是\n测试 一：\n  给定 现在 = 2022-01-01 00:00:00，甲 = 10，乙 = 1\n  期望 丙 = 是\n")
    out = format_module(parse(src, "长.rules"), src)
    assert "\n    或 " in out  # 且 binds tighter: the chain breaks at 或
    assert "给定 现在 = 2022-01-01 00:00:00" in out
    assert parse(out, "长.rules") == parse(src, "长.rules")


def test_header_name_may_contain_keywords():
    module = parse("规则书 参数示例\n参数：\n  甲 = 1\n", "p.rules")
    assert module.header.name == "参数示例"


def test_a_comment_on_a_section_header_stays_on_it_and_fmt_is_idempotent():
    from dsl.formatter import format_module
    from dsl.parser import parse

    src = "规则书 t\n输入： # 订单输入\n  x：数 # 价\n结论：\n  y：数\n规则 R：\n  则 y = x\n"
    once = format_module(parse(src), src)
    assert "输入：  # 订单输入\n  x：数  # 价\n" in once
    assert format_module(parse(once), once) == once
