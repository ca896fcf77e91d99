"""The CJK-aware lexer: segmentation of runs without spaces, literals, punctuation, quoting."""

from __future__ import annotations

import pytest

from dsl.diagnostics import RulebookSyntaxError
from dsl.keywords import KEYWORDS, SPELLINGS
from dsl.lexer import declared_names, fold, tokenize


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.type, str(t)) for t in tokenize(text).tokens]


DECLARED = """输入：
  付款时间：时间
  截止时间：时间
  报名春节不打烊：是否
结论：
  是否延迟发货：是否
"""


# ---------------------------------------------------------------- segmentation
def test_run_without_spaces_is_cut_at_declared_names_and_keywords():
    toks = kinds(DECLARED + "规则 R-1 判定：\n  如果付款时间早于截止时间 则 是否延迟发货 = 是")
    body = toks[toks.index(("_IF", "如果")):]
    assert body[:4] == [("_IF", "如果"), ("NAME", "付款时间"), ("LT", "早于"), ("NAME", "截止时间")]


@pytest.mark.parametrize("name", ["报名春节不打烊", "是否延迟发货"])
def test_declared_names_containing_keywords_survive(name):
    toks = kinds(DECLARED + f"定义 甲 = 不{name}且{name}")
    assert ("NAME", name) in toks
    assert toks[-4:] == [("_NOT", "不"), ("NAME", name), ("_AND", "且"), ("NAME", name)]


def test_undeclared_name_holding_a_keyword_is_split():
    # without a declaration the keyword 不 inside the run wins
    assert kinds("报名春节不打烊") == [("NAME", "报名春节"), ("_NOT", "不"), ("NAME", "打烊")]


def test_unknown_runs_are_cut_at_keywords_and_remembered_for_hints():
    lexed = tokenize("如果未知名称早于某值且其他")
    assert [(t.type, str(t)) for t in lexed.tokens] == [
        ("_IF", "如果"), ("NAME", "未知名称"), ("LT", "早于"), ("NAME", "某值"), ("_AND", "且"), ("NAME", "其他")]
    # each unknown fragment of a multi-part run remembers how the whole run was read
    seg = lexed.segments[lexed.tokens[1].start_pos]
    assert seg.text == "如果未知名称早于某值且其他"
    assert ("LT", "早于") in seg.parts and ("NAME", "未知名称") in seg.parts


def test_longest_keyword_wins():
    assert kinds("不属于")[0] == ("NOT_IN", "不属于")
    assert kinds("若无则")[0] == ("_COALESCE", "若无则")
    assert kinds("不早于")[0] == ("GE", "不早于")
    assert kinds("版本号")[0] == ("_VERSION_NO", "版本号")


def test_declaration_positions_are_collected():
    text = fold(DECLARED + "定义 合计金额 = 1\n函数 在区域（省份：文本） = 是\n层级 等级：高 高于 中 高于 低\n"
                "规则 R-1 春节规则：\n  则 x = [单 对于 单 属于 列]\n")
    names = declared_names(text)
    for n in ("付款时间", "报名春节不打烊", "是否延迟发货", "合计金额", "在区域", "省份", "等级", "高", "中", "低",
              "单"):
        assert n in names, n
    # a rule's title is read whole by the lexer but is no name: it must not cut or shadow others
    assert "春节规则" not in names
    # declaration positions never turn a keyword into a name; only the built-in 排序 is spelled like one
    assert names & set(SPELLINGS) <= {"排序"}


def test_builtin_spelled_like_a_keyword_is_the_builtin_only_when_called():
    assert kinds("按 x 排序]") == [("_BY", "按"), ("NAME", "x"), ("_SORT", "排序"), ("RSQB", "]")]
    assert kinds("排序（L）")[:2] == [("NAME", "排序"), ("LPAR", "(")]
    assert kinds("排序 (L)")[:2] == [("NAME", "排序"), ("LPAR", "(")]


def test_builtin_names_are_known_words():
    assert kinds("求和（L）")[0] == ("NAME", "求和")
    assert kinds("计数（L）")[0] == ("NAME", "计数")


def test_every_keyword_spelling_lexes_to_its_terminal():
    for term, spellings in KEYWORDS.items():
        for s in spellings:
            assert kinds(s) == [(term, s)], s


# ---------------------------------------------------------------- literals
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("29.70元", "MONEY"), ("¥29.70", "MONEY"), ("￥29.70", "MONEY"), ("30%", "PERCENT"), ("30％", "PERCENT"),
        ("48小时", "DURATION"), ("3天", "DURATION"), ("30分钟", "DURATION"), ("1天2小时", "DURATION"),
        ("2022年1月24日20:00:00", "DATETIME"), ("2022-01-24 20:00:00", "DATETIME"), ("2022-01-24", "DATE"),
        ("2022年1月24日", "DATE"), ("12", "NUMBER"), ("3.5", "NUMBER"), ('"文本"', "STRING"),
        ("“弯引号”", "STRING"), ("《标题》", "DOC_TITLE"),
    ],
)
def test_literals(text, kind):
    toks = tokenize(text).tokens
    assert [t.type for t in toks] == [kind]
    assert toks[0].end_pos == len(text)


def test_literal_directly_after_keyword():
    toks = kinds(DECLARED + "如果付款时间早于2022-01-24 20:00:00则")
    assert toks[-5:] == [
        ("_IF", "如果"), ("NAME", "付款时间"), ("LT", "早于"), ("DATETIME", "2022-01-24 20:00:00"), ("_THEN", "则")]
    assert kinds("不大于5元")[1] == ("MONEY", "5元")


def test_string_bodies_exclude_quotes():
    assert kinds('"发货" 《春节发货要求》') == [("STRING", "发货"), ("DOC_TITLE", "春节发货要求")]


# ---------------------------------------------------------------- punctuation
def test_full_width_punctuation_is_folded_without_moving_offsets():
    text = "a：b，c（d）【e】｛f｝＝＋－＊／？＜＞｜、g；h。"
    toks = tokenize(text).tokens
    assert [t.type for t in toks] == [
        "NAME", "COLON", "NAME", "COMMA", "NAME", "LPAR", "NAME", "RPAR", "LSQB", "NAME", "RSQB", "LBRACE",
        "NAME", "RBRACE", "EQ", "PLUS", "MINUS", "STAR", "SLASH", "QMARK", "LT", "GT", "PIPE", "COMMA", "NAME",
        "NAME"]
    assert [t.column for t in toks[:4]] == [1, 2, 3, 4]
    assert len(fold(text)) == len(text)


def test_math_symbols():
    assert [t.type for t in tokenize("≤ ≥ ≠ × ÷ − → => <= >= != ==").tokens] == [
        "LE", "GE", "NE", "STAR", "SLASH", "MINUS", "ARROW", "ARROW", "LE", "GE", "NE", "EQ"]


# ---------------------------------------------------------------- quoting and rule IDs
def test_quoted_names_keep_keywords_and_spaces():
    assert kinds("「如果 是 名称」 = 『报名』") == [("NAME", "如果 是 名称"), ("EQ", "="), ("NAME", "报名")]


@pytest.mark.parametrize("rid", ["CP-1", "CP-1a", "CP-1′", "AS-7", "X-1'", "SHIP-10b", "TOP-A-2"])
def test_rule_ids(rid):
    assert kinds(f"例外于 {rid}，SHIP-1") == [("_EXCEPTION_OF", "例外于"), ("RULE_ID", rid), ("COMMA", ","),
                                              ("RULE_ID", "SHIP-1")]


def test_positions_count_characters_and_lines():
    toks = tokenize("输入：\n  付款时间：时间").tokens
    assert (toks[2].line, toks[2].column, toks[2].end_column) == (2, 3, 7)


def test_comments_are_skipped():
    assert kinds("a # 如果 注释\nb") == [("NAME", "a"), ("NAME", "b")]


@pytest.mark.parametrize(
    ("text", "message"),
    [('"没有结尾', "缺少结束"), ("「名称", "缺少结束"), ("「」", "不能为空"), ("a @ b", "无法识别的字符"),
     ('"跨\n行"', "缺少结束")],
)
def test_lexical_errors(text, message):
    with pytest.raises(RulebookSyntaxError) as info:
        tokenize(text, "x.rules")
    assert message in str(info.value)
    assert "x.rules:1:" in str(info.value)


def test_superscript_digits_do_not_start_a_literal():
    # '²'.isdigit() is true but no literal pattern matches it: it used to crash the lexer
    assert kinds("x² ²") == [("NAME", "x²"), ("NAME", "²")]
    assert kinds("１２")[0][0] == "NUMBER"  # full-width decimal digits still read as a number


def test_rule_and_test_titles_are_read_whole_and_shadow_nothing():
    text = "规则 R-1 截止：\n  则 x = 截止时问\n测试 春节不打烊截止：\n  给定 现在 = 2022-01-01 00:00:00\n  期望 x = 1\n"
    toks = [(t.type, str(t)) for t in tokenize(text).tokens]
    assert ("NAME", "截止") in toks and ("NAME", "截止时问") in toks
    assert ("NAME", "春节不打烊截止") in toks


def test_a_rule_without_title_does_not_swallow_the_next_line():
    toks = [(t.type, str(t)) for t in tokenize("规则 R-1\n  依据 规 \"1\"\n").tokens]
    assert toks[:3] == [("_RULE", "规则"), ("RULE_ID", "R-1"), ("_CITE", "依据")]


def test_comments_and_strings_declare_nothing():
    # a comment "会员且大促：…" used to declare 会员且大促, which then shadowed 会员 且 大促
    text = fold("输入：\n  会员：是否\n  大促：是否\n# 会员且大促：两者都满足\n说明 \"满减且包邮：x\"\n")
    declared = declared_names(text)
    assert "会员且大促" not in declared and "满减且包邮" not in declared
    assert {"会员", "大促"} <= declared


def test_a_quoted_declaration_declares_the_name_for_its_unquoted_uses():
    declared = declared_names(fold("参数：\n  「常规考核日」 = [1，16]\n  「48小时打标」 = 是\n"))
    assert "常规考核日" in declared
    assert "48小时打标" not in declared  # starts with a literal: it stays quoted


def test_a_rule_key_with_a_prime_opens_no_string_for_the_declaration_scan():
    assert "截止" in declared_names(fold("规则 R-1' 改：\n  则 y = 1\n定义 截止 = 1\n"))


def test_an_invisible_character_is_named_by_its_code_point():
    with pytest.raises(RulebookSyntaxError, match="U\\+200B.*ZERO WIDTH SPACE"):
        tokenize("输入：\n  x\u200b：数\n")


def test_a_quoted_rule_title_or_test_name_declares_nothing():
    # titles shadow nothing: 「会员且大促」 as a title must leave 会员 且 大促 to be read apart
    text = fold("规则 R-1 「会员且大促」：\n  如果 会员且大促\n测试 「乙且丙」：\n")
    assert not {"会员且大促", "乙且丙"} & declared_names(text)


def test_a_prime_that_ends_a_name_opens_no_string():
    assert "不含税价" in declared_names(fold("单：记录（件'：数，不含税价：数，丙'：数）\n"))
