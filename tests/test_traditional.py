"""A rulebook in traditional characters compiles to the same program as its simplified twin."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from dsl.checker import check
from dsl.compiler import compile_program
from dsl.parser import parse
from interpreter.tree_walker import TreeWalker

SIMPLIFIED = """\
规则书 双书
说明 "简繁对照"
版本号 "1"

文献 规范：《某规范》，种子 "001"

层级 等级：高 高于 中 高于 低

输入：
  付款时间：时间
  金额数：金额，可选
  省份：文本，可选
  标签：列表（文本），默认 []
  卖家等级：等级，默认 中
  已报名：是否，默认 否

参数：
  时限 = 48小时，说明 "时限"
  名单 = ["新疆"，"西藏"]
  比例 = 30%

结论：
  截止时间：时间
  赔付：金额，默认 0元
  备注：文本

定义 有标签 = 存在 t 属于 标签 满足 t 以 "急" 开头 或者 所有 t 属于 标签 满足 t 以 "慢" 结尾
定义 选中 = [t 对于 t 属于 标签 若 t 不等于 "无" 按 t 排序]

函数 打折（价：金额） = 价 × 比例

版本 新版：按 付款时间，自 2022-04-15 00:00:00 起，截至 2022-12-31 23:59:59

决策表 分档（值：金额），命中 首个：
  | < 10元 | => "低"
  | - | => "高"

规则 R-1 基本：
  依据 规范 "§1"，推断："理由"，注："备注"
  则 截止时间 = 付款时间 + 时限

规则 R-1a 报名：
  依据 规范 "§2"
  适用版本 新版
  例外于 R-1
  如果 已报名 并且 省份 有值 且 省份 不属于 名单 且 不 （省份 属于 ["上海"]）
  那么 截止时间 = 付款时间 + 3天

规则 R-2 赔付判定：
  依据 规范 "§3"
  如果 金额数 不小于 10元 且 金额数 不大于 1000元 且 付款时间 不早于 2022-01-01 00:00:00
    且 付款时间 不晚于 2023-01-01 00:00:00 且 付款时间 在 2022-01-01 00:00:00 至 2023-01-01 00:00:00 之间
  则 赔付 = 打折（金额数） 若无则 0元

规则 R-3 备注判定：
  依据 规范 "§4"
  如果 卖家等级 高于 低 或 卖家等级 同级 低 或 卖家等级 低于 高 且 金额数 无值 或 有标签 或 选中 包含 "急"
  则 备注 = 若 省份 等于 "上海" 则 分档（金额数 若无则 0元） 否则 省份 若无则 "无"

测试 基本：
  给定 现在 = 2022-05-01 00:00:00，付款时间 = 2022-05-01 00:00:00，已报名 = 是，省份 = "江苏"
  期望 截止时间 = 2022-05-04 00:00:00
"""

#: simplified → traditional spellings of the keywords used above (longest first)
_KEYWORDS = [
    ("规则书", "規則書"), ("版本号", "版本號"), ("适用版本", "適用版本"), ("例外于", "例外於"), ("不属于", "不屬於"),
    ("不小于", "不小於"), ("不大于", "不大於"), ("不早于", "不早於"), ("不晚于", "不晚於"), ("不等于", "不等於"),
    ("决策表", "決策表"), ("若无则", "若無則"), ("规则", "規則"), ("说明", "說明"), ("文献", "文獻"), ("种子", "種子"),
    ("层级", "層級"), ("高于", "高於"), ("低于", "低於"), ("同级", "同級"), ("输入", "輸入"), ("参数", "參數"),
    ("结论", "結論"), ("定义", "定義"), ("函数", "函數"), ("属于", "屬於"), ("或者", "或者"), ("结尾", "結尾"),
    ("开头", "開頭"), ("对于", "對於"), ("依据", "依據"), ("推断", "推斷"), ("并且", "並且"), ("那么", "那麼"),
    ("有值", "有值"), ("无值", "無值"), ("等于", "等於"), ("之间", "之間"), ("否则", "否則"), ("测试", "測試"),
    ("给定", "給定"), ("现在", "現在"), ("满足", "滿足"), ("默认", "默認"), ("可选", "可選"), ("则", "則"),
]


def traditional(text: str) -> str:
    for simple, trad in _KEYWORDS:
        text = text.replace(simple, trad)
    return text


TRADITIONAL = traditional(SIMPLIFIED)


def programs():
    out = []
    for src in (SIMPLIFIED, TRADITIONAL):
        program, diagnostics = check(parse(src, "twin.rules"), src)
        assert not [d for d in diagnostics if d.is_error]
        out.append(program)
    return out


def test_the_twin_really_is_traditional():
    for word in ("規則", "則", "輸入", "結論", "例外於", "屬於", "不屬於", "參數", "決策表", "測試", "現在", "若無則"):
        assert word in TRADITIONAL, word
    assert "规则" not in TRADITIONAL and "输入" not in TRADITIONAL


def test_same_tree():
    assert parse(TRADITIONAL, "twin.rules") == parse(SIMPLIFIED, "twin.rules")


def test_same_program():
    simple, trad = programs()
    assert trad == simple
    for part in ("inputs", "params", "definitions", "functions", "versions", "rules", "conclusions", "order", "tests"):
        assert getattr(trad, part) == getattr(simple, part), part


FACTS = [
    {"付款时间": datetime(2022, 5, 1), "已报名": True, "省份": "江苏", "金额数": Decimal("100.00")},
    {"付款时间": datetime(2022, 1, 1), "已报名": True, "省份": "新疆", "标签": ("急件",)},
    {"付款时间": datetime(2022, 6, 1), "省份": "上海", "金额数": Decimal("5.00"), "标签": ("慢", "无")},
    {"付款时间": datetime(2021, 6, 1)},
]


@pytest.mark.parametrize("facts", FACTS)
def test_same_results_in_both_evaluators(facts):
    simple, trad = programs()
    now = datetime(2022, 7, 1)
    full = {"金额数": None, "省份": None, "标签": (), "卖家等级": None, "已报名": False, **facts}
    results = []
    for p in (simple, trad):
        results.append(compile_program(p).evaluate(dict(full), now))
        results.append(TreeWalker(p).evaluate(dict(full), now)[0])
    assert all(r == results[0] for r in results)


def test_expected_values():
    simple, _ = programs()
    values = compile_program(simple).evaluate(
        {"付款时间": datetime(2022, 5, 1), "已报名": True, "省份": "江苏", "金额数": Decimal("100.00"), "标签": (),
         "卖家等级": None}, datetime(2022, 7, 1))
    assert values["截止时间"] == datetime(2022, 5, 1) + timedelta(days=3)
    assert values["赔付"] == Decimal("30.00")

