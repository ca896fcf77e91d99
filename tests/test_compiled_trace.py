"""The compiled tracer: explanations come from generated code that records the walker's trace.

Agreement on every bundled oracle case is checked by tests/test_trace_replay.py and by
`rulebook test`; on generated rulebooks by tests/test_properties.py. Here: the cases those do
not reach, and what the generated source must (not) contain.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from interpreter.api import Rulebook, _WalkerTracer, load_source
from interpreter.compiled_explanation import compiled_explanation
from interpreter.compiled_trace import CompiledTracer
from interpreter.explanation import build_explanation
from interpreter.tracing import ITERATION_NOTE, MISSING_CONDITION_NOTE

NOW = datetime(2022, 3, 1)

QUANTIFIED = """规则书 q
文献 规范：《规范》

输入：
  价格：列表（金额）
  门槛来源：金额，可选
  件数：数，默认 2

结论：
  门槛：金额
  有高价：是否
  档位：文本，默认 "无"

规则 R1 门槛：
  依据 规范 "1"
  则 门槛 = 门槛来源 若无则 10元

规则 R2 高价：
  依据 规范 "2"
  则 有高价 = 存在 p 属于 价格 满足 p > 门槛 × 件数

规则 R3 档位：
  依据 规范 "3"
  如果 门槛来源 有值 且 （若 门槛来源 > 5元 则 是 否则 否）
  则 档位 = "高"
"""


def _both(book: Rulebook, facts: dict, now: datetime = NOW):
    walker = book.walker.evaluate(dict(facts), now, trace=True)
    compiled = book.tracer.evaluate(dict(facts), now)
    assert isinstance(book.tracer, CompiledTracer)
    assert compiled == walker
    return compiled[1]


def test_conclusion_first_read_inside_a_quantifier_keeps_its_trace() -> None:
    # 有高价 is evaluated before 门槛 would be reached on its own: 门槛 is first read inside the
    # quantifier, whose iterations are not recorded — it still gets its own explanation
    book = load_source(QUANTIFIED.replace("结论：\n  门槛：金额\n  有高价：是否", "结论：\n  有高价：是否\n  门槛：金额"))
    trace = _both(book, {"价格": (3, 30), "门槛来源": None, "件数": None})
    assert trace.conclusions["门槛"].decided_by == "R1"
    quant = trace.conclusions["有高价"].rules[0].value
    assert quant.note == ITERATION_NOTE.format(n=2) and quant.value is True
    assert list(trace.defaulted_inputs) == ["件数"]
    explanation = build_explanation(book.program, trace)
    assert explanation.get("门槛").decided_by.key == "R1"


def test_missing_condition_note_survives_the_branch() -> None:
    book = load_source(QUANTIFIED)
    trace = _both(book, {"价格": (), "门槛来源": None, "件数": 1})
    condition = trace.conclusions["档位"].rules[0].condition
    assert condition.value is False  # 门槛来源 有值 is false: 且 stops there
    assert len(condition.children) == 1
    book2 = load_source(QUANTIFIED.replace("门槛来源 有值 且 ", ""))
    trace2 = _both(book2, {"价格": (), "门槛来源": None, "件数": 1})
    cond = trace2.conclusions["档位"].rules[0].condition
    assert cond.kind == "cond" and cond.note == MISSING_CONDITION_NOTE


def test_python_looking_names_never_reach_the_generated_source() -> None:
    source = QUANTIFIED.replace("门槛来源", "「__import__('os').system('x')」").replace('"高"', "\"'); exit() #\"")
    book = load_source(source)
    tracer = book.tracer
    assert isinstance(tracer, CompiledTracer)
    assert "__import__" not in tracer.source and "exit" not in tracer.source and "门槛" not in tracer.source
    _both(book, {"价格": (1,), "__import__('os').system('x')": None, "件数": 1})


def _deep_rulebook(depth: int) -> str:
    chain = "".join(f"若 甲 > {i}元 则 {i} 否则 " for i in range(depth)) + "0"
    return ("规则书 deep\n文献 规范：《规范》\n\n输入：\n  甲：金额\n\n结论：\n  档：数\n\n"
            f"规则 R1 深：\n  依据 规范 \"1\"\n  则 档 = {chain}\n")


@pytest.mark.parametrize("depth", [20, 140])  # 140: past what CPython compiles, within what the checker accepts
def test_deep_expressions_explain_alike(depth) -> None:
    book = load_source(_deep_rulebook(depth))
    facts = {"甲": 3}
    expected = book.walker.evaluate(dict(facts), NOW, trace=True)
    got = book.tracer.evaluate(dict(facts), NOW)
    assert got == expected
    if depth == 20:
        assert isinstance(book.tracer, CompiledTracer)
    else:  # beyond what CPython compiles: the walker explains instead, with the same answer
        assert isinstance(book.tracer, _WalkerTracer)
    decision = book.evaluate({"甲": "3.00"}, NOW)
    assert decision.explanation.get("档").decided_by.key == "R1"


@pytest.mark.parametrize("overridden", [False, True])
def test_parameters_in_the_authors_unit(overridden) -> None:
    source = ("规则书 p\n文献 规范：《规范》\n\n输入：\n  付款：时间\n\n参数：\n  时限 = 48小时\n\n结论：\n  截止：时间\n\n"
              "规则 R1 截止：\n  依据 规范 \"1\"\n  则 截止 = 付款 + 时限\n")
    book = load_source(source)
    if overridden:
        book = book.with_params({"时限": "72小时"})
    trace = _both(book, {"付款": datetime(2022, 1, 1)})
    step = trace.conclusions["截止"].rules[0].value.children[1]
    assert step.kind == "param" and step.note == (None if overridden else "48小时")


# ---------------------------------------------------------------- what untraced code evaluates
# Iterations and function bodies are not recorded, but what they evaluate still shows: a named
# item read there gets its own trace, and an error raised there stops the evaluation. The
# tracer's untraced code evaluates what the walker evaluates (found by review).
HEAD = "规则书 t\n文献 规范：《规范》\n\n"


def _agree(source: str, raw: dict) -> None:
    book = load_source(HEAD + source)
    facts, _ = book.decoder.decode(raw)

    def outcome(fn):
        try:
            return "ok", fn()
        except Exception as exc:  # noqa: BLE001 - both must fail alike
            return "error", type(exc).__name__, str(exc)

    walker = outcome(lambda: book.walker.evaluate(dict(facts), NOW, trace=True))
    compiled = outcome(lambda: book.tracer.evaluate(dict(facts), NOW))
    assert isinstance(book.tracer, CompiledTracer)
    assert compiled == walker
    if walker[0] == "ok":  # the generated JSON code reads the recording as it reads the named trace
        views = build_explanation(book.program, walker[1][1]).generic_json()
        assert compiled_explanation(book.program).build(book.tracer.record(dict(facts), NOW)[1]) == views


def test_and_goes_on_past_a_missing_operand_inside_a_quantifier() -> None:
    _agree("输入：\n  L：列表（数）\n  A：数，可选\n  B：数，默认 5\n\n结论：\n  X：是否\n\n定义 D = B > 1\n\n"
           "规则 R1 x：\n  依据 规范 \"1\"\n  则 X = 存在 p 属于 L 满足 (A > p 且 D)\n", {"L": [1, 2], "A": None})


def test_operations_evaluate_both_operands_inside_a_function() -> None:
    _agree("输入：\n  A：数，可选\n  B：数，默认 5\n\n结论：\n  X：数\n\n"
           "函数 F（v：数） = 若 v > 1 且 B > 1 则 1 否则 2\n\n"
           "规则 R1 x：\n  依据 规范 \"1\"\n  则 X = F（A）\n", {"A": None})


def test_later_generators_read_only_what_the_walker_reads() -> None:
    _agree("输入：\n  L：列表（数）\n  N：列表（数），默认 [7]\n\n结论：\n  X：列表（数）\n\n"
           "规则 R1 x：\n  依据 规范 \"1\"\n  则 X = [p + q 对于 p 属于 L 对于 q 属于 (L 若无则 N)]\n", {"L": [1, 2]})


TABLE = ("输入：\n  L：列表（数）\n  A：数，可选\n  K：数\n\n结论：\n  X：是否\n\n"
         "决策表 T（v：数），命中 唯一：\n  | ≥ K | => \"a\"\n  | ≥ 0 | => \"b\"\n\n")


@pytest.mark.parametrize("rule", [
    "存在 p 属于 L 满足 (A > p 且 T（p） = \"a\")",
    "所有 p 属于 L 满足 (存在 q 属于 L 满足 (q = 1 或 T（q） = \"a\"))",
])
def test_a_failing_table_fails_alike(rule) -> None:
    _agree(TABLE + f"规则 R1 x：\n  依据 规范 \"1\"\n  则 X = {rule}\n", {"L": [1, 2], "A": None, "K": 0})


def test_many_named_items_do_not_shadow_the_helpers() -> None:
    inputs = "\n".join(f"  I{i}：数，可选" for i in range(30))
    _agree(f"输入：\n  L：列表（数）\n{inputs}\n\n结论：\n  X：列表（数）\n\n"
           "函数 F（m：列表（数））：列表（数） = [q 对于 p 属于 m 对于 q 属于 (若 p > 0 且 p < 9 则 m 否则 [])]\n\n"
           "规则 R1 x：\n  依据 规范 \"1\"\n  则 X = F（L）\n", {"L": [1]})


def test_a_failing_condition_of_a_rule_whose_version_does_not_apply_is_only_shown() -> None:
    # traced evaluation shows such a condition; its failure must not fail the evaluation,
    # which without a trace never evaluates it
    source = (TABLE.replace("  X：是否\n", "  X：是否，默认 否\n  P：时间\n", 1).replace("结论：\n  X", "结论：\n  X")
              + "版本 新版：按 P，自 2022-02-01 00:00:00 起\n\n"
              "规则 R1 x：\n  依据 规范 \"1\"\n  适用版本 新版\n  如果 T（1） = \"a\"\n  则 X = 是\n")
    source = source.replace("  K：数\n\n结论：\n  X：是否，默认 否\n  P：时间\n", "  K：数\n  P：时间\n\n结论：\n  X：是否，默认 否\n")
    book = load_source(HEAD + source)
    facts, _ = book.decoder.decode({"L": [], "A": None, "K": 0, "P": "2022-01-01 00:00:00"})
    assert book.walker.evaluate(dict(facts), NOW)[0] == book.evaluator.evaluate(dict(facts), NOW) == {"X": False}
    _agree(source, {"L": [], "A": None, "K": 0, "P": "2022-01-01 00:00:00"})
    trace = book.tracer.evaluate(dict(facts), NOW)[1]
    assert trace.conclusions["X"].rules[0].condition is None


def _layered(layers: int) -> str:
    """Two rules per layer, each an exception to both rules of the layer before: from nine
    layers on, the unrolled tree is too big and the shared weighing decides."""
    lines = ["输入：", "  A：数，默认 3", "  B：数，可选", "  P：时间", "",
             "版本 新版：按 P，自 2022-02-01 00:00:00 起", "",
             "定义 D1 = A + 1", "定义 D2 = A × 2", "", "结论：", "  X：数，默认 0", "  Y：数", ""]
    previous: list[str] = []
    for i in range(layers):
        current = []
        for j in range(2):
            key = f"R{i}{j}"
            lines += [f"规则 {key} x：", '  依据 规范 "1"']
            if previous:
                lines.append(f"  例外于 {'，'.join(previous)}")
            if (i + j) % 3 == 0:
                lines.append("  适用版本 新版")
            lines += [f"  如果 D2 > {i} 且 B 有值", f"  则 X = D2 + {i}", ""]
            current.append(key)
        previous = current
    lines += ["规则 Y1 y：", '  依据 规范 "2"', "  如果 A > 1", "  则 Y = D1 + D2 + X", ""]
    return "\n".join(lines)


@pytest.mark.parametrize("layers", [3, 9])
@pytest.mark.parametrize("raw", [
    {"A": None, "B": 1, "P": "2022-03-01 00:00:00"},
    {"A": 5, "B": None, "P": "2022-01-01 00:00:00"},
    {"A": 9, "B": 2, "P": "2022-01-01 00:00:00"},
])
def test_items_read_once_many_times_or_by_the_shared_weighing_trace_alike(layers, raw) -> None:
    # D1 is read once (its body is emitted where it is read), D2 and A by many rules (memoised,
    # one step shared by every read); with nine layers X is weighed by `tracing.weigh`
    _agree(_layered(layers), raw)


def test_a_date_between_times_is_its_midnight() -> None:
    # 在…至…之间 compares a 日期 bound with 时间 as its midnight in every evaluator (written as
    # `lo <= v <= hi`, Python refused to compare a date with a datetime). A 时间 that would hold a
    # 日期 (定义 起点：时间 = 活动日) is refused by the checker (test_checker.py).
    source = ("输入：\n  付款：时间\n  活动日：日期\n\n结论：\n  在内：是否\n\n"
              "规则 R1 x：\n  依据 规范 \"1\"\n  则 在内 = 付款 在 活动日 至 付款 之间\n")
    raw = {"付款": "2022-03-01 10:00:00", "活动日": "2022-03-01"}
    _agree(source, raw)
    book = load_source(HEAD + source)
    facts, _ = book.decoder.decode(raw)
    assert book.evaluator.evaluate(dict(facts), NOW)["在内"] is True
    assert book.walker.evaluate(dict(facts), NOW)[0]["在内"] is True


def test_a_long_chain_of_items_read_once_still_compiles() -> None:
    # each definition is read once, inside a branch of the one before: emitted where it is
    # read, the chain would nest a block per definition past what CPython compiles (74: the
    # longest such chain the checker accepts, as the reference walker can follow it)
    depth = 74
    defs = "\n".join(f"定义 D{i} = 若 A > {i} 则 D{i + 1} 否则 {i}" for i in range(depth)) + f"\n定义 D{depth} = A\n"
    source = f"输入：\n  A：数\n\n结论：\n  X：数\n\n{defs}\n规则 R1 x：\n  依据 规范 \"1\"\n  则 X = D0\n"
    book = load_source(HEAD + source)
    tracer = CompiledTracer(book.program)  # no SyntaxError (the API would fall back to the walker)
    assert "def get_" in tracer.source  # the deepest items stayed functions
    for a in (0, 50, 90):
        _agree(source, {"A": a})


def test_a_restored_recording_shares_what_the_recording_shares() -> None:
    # one version check and one condition step per rule, however many conclusions show them:
    # naming a recording keeps that (the views cache condition lines by the step's identity)
    from interpreter.trace import restore

    book = load_source(HEAD + _layered(3))
    facts, _ = book.decoder.decode({"A": 5, "B": 1, "P": "2022-03-01 00:00:00"})
    recorded = book.tracer.record(dict(facts), NOW)[1]
    named = restore(recorded)
    assert named == book.walker.evaluate(dict(facts), NOW, trace=True)[1]

    def identities(trace) -> list[list[int]]:
        outcomes = [o for ct in trace.conclusions.values() for o in ct[5]]  # recorded or named
        checks = [id(o[4]) for o in outcomes if o[4] is not None]
        return [sorted(map(checks.count, checks)), sorted(id(o[5]) for o in outcomes if o[5] is not None)]

    shared_before, shared_after = identities(recorded), identities(named)
    assert shared_before[0] == shared_after[0] and max(shared_after[0]) > 1
    assert len(set(shared_before[1])) == len(set(shared_after[1]))
